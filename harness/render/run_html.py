"""The sections of a run report that only its HTML shows: the heat map of verdicts, the fastest method per case
(sortable), the plots and every pair. render.run_markdown's run_report places them among the others."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jacobian_harness.records import fastest_agreeing, quantity_of, row_key
from jacobian_harness.render.formatting import format_seconds
from jacobian_harness.render.view import Cell, Code, HeatMap, Image, Section, Table

COLOURS = {"agree": "#2e7d32", "expected-divergence": "#9ccc65", "disagree": "#c62828",
           "unexpected-agree": "#ef6c00", "error": "#6a1b9a", "crash": "#4a148c", "timeout": "#8e24aa",
           "unsupported": "#bdbdbd", "unavailable": "#eeeeee", "skipped": "#90a4ae"}

# The plots of a run: file name, the heading of its section, and the image's alt text (render.html draws them).
RUN_PLOTS = (("timing.png", "Median time per case and method (log scale)", "timing plot"),
             ("ratio.png", "J/f cost ratio (log scale)", "J/f plot"))


def html_agreement_section(document: Mapping[str, Any]) -> list[Section]:
    """Every case's verdict by every method as coloured cells; second-order checks last, as their own group."""
    records = document["results"]
    key = row_key(records)
    second = {r["method"] for r in records if quantity_of(r) == "second-order"}
    every = list(dict.fromkeys(r["method"] for r in records))
    methods = [m for m in every if m not in second] + [m for m in every if m in second]
    groups = tuple((label, n) for label, n in (("first order", len(methods) - len(second)),
                                               ("second order: w^T f''(x)[u, v]", len(second))) if n)
    cell = {(key(r), r["method"]): r for r in records}
    rows = tuple((c, tuple(None if (c, m) not in cell else
                           (COLOURS.get(cell[(c, m)]["status"], "#000"),
                            f"{m}: {cell[(c, m)]['status']} {cell[(c, m)].get('message', '')}"[:300])
                           for m in methods))
                 for c in dict.fromkeys(key(r) for r in records))
    heat = HeatMap(tuple(COLOURS.items()), groups if len(groups) > 1 else (), tuple(methods), rows)
    return [Section("Agreement", (heat,), only="html")]


def html_sections(document: Mapping[str, Any]) -> list[Section]:
    """The fastest agreeing method per case, the plots, and every pair with its numbers."""
    records = document["results"]
    key = row_key(records)
    fastest = Table(("case", "fastest agreeing", "median", "J/f"), tuple(
        (Code(c), Code(r["method"]), Cell(format_seconds(r["time"]["median_s"]), str(r["time"]["median_s"])),
         _number(r.get("ratio"))) for c, r in fastest_agreeing(records).items()))
    every = Table(("case", "method", "dtype", "verdict", "median (s)", "IQR (s)", "samples", "J/f", "max abs err"),
                  tuple((Code(key(r)), Code(r["method"]), r["dtype"], r["status"],
                         _number((r.get("time") or {}).get("median_s"), ".4g"),
                         _number((r.get("time") or {}).get("iqr_s"), ".2g"),
                         str((r.get("time") or {}).get("repeats", "")), _number(r.get("ratio")),
                         _number(r.get("max_abs_err"), ".2g")) for r in records))
    return ([Section("Fastest agreeing method per case", (fastest,), only="html")]
            + [Section(title, (Image(name, alt),), only="html") for name, title, alt in RUN_PLOTS]
            + [Section("Every pair", (every,), only="html")])


def _number(value, digits: str = ".3g") -> str:
    return format(value, digits) if isinstance(value, (int, float)) else ""

