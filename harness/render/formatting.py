"""What every view shares: verdict symbols, time and error cells, markdown tables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SYMBOLS = {"agree": "ok", "expected-divergence": "≈", "disagree": "**✗**", "unexpected-agree": "**!**",
           "error": "**E**", "crash": "**C**", "timeout": "**T**", "unsupported": "–", "unavailable": "n/a",
           "skipped": "skip"}


LEGEND = ("ok agree · ≈ expected divergence (declared convention or known bug) · **✗** disagree · "
          "**!** declared divergence did not occur · **E** error · **C** worker crashed · **T** timeout · "
          "– unsupported · n/a backend not installed · "
          "skip over --max-memory")


def number(value) -> float | None:
    return value if isinstance(value, (int, float)) else None


def format_seconds(seconds) -> str:
    seconds = number(seconds)
    if seconds is None:
        return ""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|").replace("\n", " ") for cell in row) + " |"
              for row in rows]
    return lines + [""]


def err(value) -> str:
    value = number(value) if not isinstance(value, str) else value
    return "" if value is None else (value if isinstance(value, str) else f"{value:.3g}")


def time_cell(record: Mapping[str, Any] | None, best: Mapping[str, Any] | None) -> str:
    if record is None:
        return ""
    median = (record.get("time") or {}).get("median_s")
    if number(median) is None:
        return SYMBOLS.get(record["status"], "")
    text = format_seconds(median)
    if best is record:
        return f"**{text}**"
    return text if record["status"] == "agree" else f"{text} {SYMBOLS.get(record['status'], '')}"


def backend_versions(env: Mapping[str, Any]) -> str:
    """"torch 2.13.0, jax 0.10.2, ...": every registered backend's version (environment.backends, schema 2), or
    torch, jax and autograd from `versions` in a document that predates it; the NumPy of finite differences
    is left out (the environment table has it)."""
    backends = env.get("backends")
    if not isinstance(backends, dict):
        versions = env.get("versions", {})
        backends = {name: versions.get(name) for name in ("torch", "jax", "autograd")}
    return ", ".join(f"{name} {version or '(not installed)'}" for name, version in backends.items() if name != "fd")


def interval(low, high) -> str:
    """A 95% interval as every view writes it, "[low, high]" to 3 significant digits; "" where there is none."""
    if number(low) is None or number(high) is None:
        return ""
    return f"[{low:.3g}, {high:.3g}]"


def ratio_and_interval(change: Mapping[str, Any] | None) -> str:
    """A speed ratio and its interval, "1.23 [1.1, 1.4]" (the ratio alone without an interval); "" for none."""
    if not change:
        return ""
    bounds = interval(change.get("low"), change.get("high"))
    return f"{change['ratio']:.3g}" + (f" {bounds}" if bounds else "")
