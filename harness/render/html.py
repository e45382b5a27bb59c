"""Self-contained HTML reports (one file, plots inlined as PNG) of a run and of a comparison.

Rendered from the saved documents only. Every string from a results file is data: the template engine
escapes it (autoescape), so a case named `<script>` shows as text. Plots are also written as PNG files
next to the HTML, for README or CI artifacts.
"""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

from markupsafe import Markup, escape

from jacobian_harness.cost import cost_line
from jacobian_harness.records import FAILING, VERDICTS, fastest_agreeing, passed, quantity_of, row_key, summary_counts
from jacobian_harness.render.compare_markdown import answer_line, first_screen_lines
from jacobian_harness.render.formatting import backend_versions, format_seconds
from jacobian_harness.results import atomic_write

COLOURS = {"agree": "#2e7d32", "expected-divergence": "#9ccc65", "disagree": "#c62828",
           "unexpected-agree": "#ef6c00", "error": "#6a1b9a", "crash": "#4a148c", "timeout": "#8e24aa",
           "unsupported": "#bdbdbd", "unavailable": "#eeeeee", "skipped": "#90a4ae"}

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #ddd;padding:3px 6px}th{background:#f5f5f5;cursor:pointer}.cell{width:14px;height:14px}
.rot{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;font-weight:normal}
.pass{color:#2e7d32}.fail{color:#c62828}img{max-width:100%}code{font-size:12px}
"""
# Click a header to sort its table by that column (numbers numerically, via data-sort when present).
_SORT = """
document.querySelectorAll('table.sortable th').forEach((th,i)=>th.addEventListener('click',()=>{
const body=th.closest('table').tBodies[0],up=th.dataset.up!=='1';th.dataset.up=up?'1':'0';
const key=r=>{const c=r.cells[i];const v=c.dataset.sort??c.textContent;const n=parseFloat(v);return isNaN(n)?v:n};
[...body.rows].sort((a,b)=>{const x=key(a),y=key(b);return (x>y?1:x<y?-1:0)*(up?1:-1)})
.forEach(r=>body.appendChild(r))}));
"""

def _template(name: str):
    from jinja2 import Environment, PackageLoader

    # autoescape=True for every template: results strings are data, never markup.
    return Environment(loader=PackageLoader("jacobian_harness", "templates"), autoescape=True).get_template(name)


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return buffer.getvalue()


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # the `plot` extra is optional: reports then have tables only
        return None
    return plt


# The strip plots: one colour per framework (Backend.colour) and one marker per mode, so that the legend has
# a handful of entries whose colours do not repeat; which method a marker is, the tables say.
MODE_MARKERS = {"reverse": "o", "forward": "^", "fd": "s", "check": "x", "forward-over-reverse": "v",
                "reverse-over-reverse": "P", "reverse-over-forward": "*", "forward-over-forward": "X"}
OTHER_MARKER = "D"  # a mode added later, until it has its own


def framework_colour(name: str) -> str:
    """The colour a backend declares (Backend.colour); black for one not registered here (a plugin's, in a
    document read on another machine)."""
    from jacobian_harness.adapters.base import BACKENDS, Backend, load_adapters

    load_adapters()
    return BACKENDS[name].colour if name in BACKENDS else Backend.colour


def strip_legend(groups: list[tuple[str, str]]) -> list[tuple[str, str, str, str]]:
    """(label, colour, marker, face colour) of each legend entry for these (framework, mode) groups: one per
    framework (its colour), then one per mode (its marker, hollow)."""
    frameworks = list(dict.fromkeys(b for b, _ in groups))
    modes = list(dict.fromkeys(m for _, m in groups))
    return ([(b, framework_colour(b), "o", framework_colour(b)) for b in frameworks]
            + [(f"{m} mode", "#000000", MODE_MARKERS.get(m, OTHER_MARKER), "none") for m in modes])


def _strip_plot(records: list[dict], value, label: str) -> bytes | None:
    """One row per case, one marker per method: value(record) on a log axis; colour = framework, marker = mode."""
    plt = _pyplot()
    points = [(r["case"], r.get("backend"), r.get("mode"), value(r)) for r in records]
    points = [p for p in points if isinstance(p[3], (int, float)) and p[3] > 0]
    if plt is None or not points:
        return None
    cases = list(dict.fromkeys(c for c, _, _, _ in points))
    groups = list(dict.fromkeys((b, m) for _, b, m, _ in points))
    figure, axis = plt.subplots(figsize=(11, 0.22 * len(cases) + 1.5))
    for backend, mode in groups:
        xs = [v for c, b, m, v in points if (b, m) == (backend, mode)]
        ys = [cases.index(c) for c, b, m, _ in points if (b, m) == (backend, mode)]
        axis.scatter(xs, ys, s=14, color=framework_colour(backend),
                     marker=MODE_MARKERS.get(mode, OTHER_MARKER), alpha=0.8)
    axis.set_xscale("log")
    axis.set_yticks(range(len(cases)), cases, fontsize=7)
    axis.invert_yaxis()
    axis.set_xlabel(label)
    axis.grid(True, which="both", alpha=0.3)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], linestyle="", marker=marker, color=colour, markerfacecolor=face, label=text)
               for text, colour, marker, face in strip_legend(groups)]
    axis.legend(handles=handles, fontsize=7, bbox_to_anchor=(1.01, 1), loc="upper left")
    data = _png(figure)
    plt.close(figure)
    return data


def _speed_plot(pairs: list[dict]) -> bytes | None:
    plt = _pyplot()
    timed = sorted((p for p in pairs if p["speed"] and not p.get("control")), key=lambda p: p["speed"]["ratio"])
    if plt is None or not timed:
        return None
    figure, axis = plt.subplots(figsize=(11, 4.5))
    xs = range(len(timed))
    ratios = [p["speed"]["ratio"] for p in timed]
    lows = [p["speed"]["ratio"] - p["speed"]["low"] for p in timed]
    highs = [p["speed"]["high"] - p["speed"]["ratio"] for p in timed]
    colours = [{"slower": "#c62828", "faster": "#2e7d32"}.get(p["speed"]["verdict"], "#9e9e9e") for p in timed]
    axis.errorbar(xs, ratios, yerr=[lows, highs], fmt="none", ecolor="#cccccc", linewidth=0.6)
    axis.scatter(xs, ratios, s=6, c=colours)
    axis.axhline(1.0, color="black", linewidth=0.8)
    axis.set_yscale("log")
    axis.set_xlabel("(case, method) pairs of the library under test, sorted by NEW/BASE")
    axis.set_ylabel("NEW/BASE of median time")
    axis.set_title("red: slower, green: faster, grey: same or inconclusive; bars: 95% intervals", fontsize=9)
    data = _png(figure)
    plt.close(figure)
    return data


def _b64(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode() if data else None


def _save(directory: Path, name: str, data: bytes | None) -> None:

    if data:
        atomic_write(directory / name, lambda handle: handle.write(data))


def _number(value, digits: str = ".3g") -> str:
    return format(value, digits) if isinstance(value, (int, float)) else ""


def write_run_html(document: dict, directory: Path) -> Path:
    """report.html (and timing.png, ratio.png) of a run, from its saved document."""

    records = document["results"]
    env = document.get("environment", {})
    key = row_key(records)
    # Second-order checks last, as their own column group.
    second = {r["method"] for r in records if quantity_of(r) == "second-order"}
    every = list(dict.fromkeys(r["method"] for r in records))
    methods = [m for m in every if m not in second] + [m for m in every if m in second]
    groups = [(label, n) for label, n in (("first order", len(methods) - len(second)),
                                          ("second order: w^T f''(x)[u, v]", len(second))) if n]
    failing = [r for r in records if r["status"] in FAILING]
    failure_groups = [(title, group) for title, group in (
        ("Failures", [r for r in failing if r["method"] not in second]),
        ("Second-order failures", [r for r in failing if r["method"] in second])) if group]
    cell = {(key(r), r["method"]): r for r in records}
    heat = [{"case": c, "cells": [None if (c, m) not in cell else
                                  {"colour": COLOURS.get(cell[(c, m)]["status"], "#000"),
                                   "title": f"{m}: {cell[(c, m)]['status']} {cell[(c, m)].get('message', '')}"[:300]}
                                  for m in methods]}
            for c in dict.fromkeys(key(r) for r in records)]
    best = fastest_agreeing(records)
    fastest = [{"case": c, "method": r["method"], "median": r["time"]["median_s"],
                "median_text": format_seconds(r["time"]["median_s"]), "ratio": _number(r.get("ratio"))}
               for c, r in best.items()]
    rows = [{"case": key(r), "method": r["method"], "dtype": r["dtype"], "status": r["status"],
             "median": _number((r.get("time") or {}).get("median_s"), ".4g"),
             "iqr": _number((r.get("time") or {}).get("iqr_s"), ".2g"),
             "repeats": (r.get("time") or {}).get("repeats", ""), "ratio": _number(r.get("ratio")),
             "err": _number(r.get("max_abs_err"), ".2g")} for r in records]
    agreeing = [r for r in records if r["status"] in ("agree", "expected-divergence")]
    timing_png = _strip_plot(agreeing, lambda r: (r.get("time") or {}).get("median_s"), "median time per Jacobian (s)")
    ratio_png = _strip_plot(agreeing, lambda r: r.get("ratio"), "J/f: Jacobian time over f time")
    counts = summary_counts(records)
    text = _template("run.html.j2").render(
        style=_STYLE, sort_script=_SORT, passed=passed(records), total=len(records),
        counts=[(v, counts[v]) for v in VERDICTS if counts[v]], backends=backend_versions(env),
        started=env.get("started_at"), partial=document.get("partial"), legend=list(COLOURS.items()),
        methods=methods, groups=groups, heat=heat, failure_groups=failure_groups,
        fastest=fastest, rows=rows, timing_png=_b64(timing_png), ratio_png=_b64(ratio_png),
        time_line=cost_line(document["cost"]) if document.get("cost") else None)
    _save(directory, "timing.png", timing_png)
    _save(directory, "ratio.png", ratio_png)
    atomic_write(directory / "report.html", lambda handle: handle.write(text.encode()))
    return directory / "report.html"


def _inline_markdown(text: str) -> Markup:
    """The first screen's lines as compare.md writes them, in HTML: `code` and **bold**, the rest escaped."""
    html = str(escape(text))
    html = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html)
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", html))


def write_compare_html(document: dict, directory: Path) -> Path:
    """compare.html (and speed.png) of a comparison, from its saved document."""

    library = document["settings"].get("library", "torch")
    pairs = []
    for p in document["pairs"]:
        speed = p["speed"] or {}
        pairs.append({**p, "drift": _number((p["drift"] or {}).get("max_abs_change"), ".2g"),
                      "correctness": "changed as declared" if p.get("declared_change") else p["correctness"],
                      "ratio": _number(speed.get("ratio")),
                      "interval": f"[{speed['low']:.3g}, {speed['high']:.3g}]" if speed else "",
                      "speed": "control" if p.get("control") else speed.get("verdict", "")})
    cases, methods = ([{**g, "ratio": _number(g.get("ratio")),
                        "interval": f"[{g['low']:.3g}, {g['high']:.3g}]" if g.get("low") is not None else ""}
                       for g in document.get(field, [])] for field in ("cases", "methods"))
    speed_png = _speed_plot(document["pairs"])
    text = _template("compare.html.j2").render(
        style=_STYLE, sort_script=_SORT, summary=document["summary"], base=document["base"], new=document["new"],
        library=library, base_version=document["base"]["environment"].get("versions", {}).get(library),
        new_version=document["new"]["environment"].get("versions", {}).get(library),
        warnings=document["environment_warnings"], pairs=pairs, cases=cases, methods=methods, speed_png=_b64(speed_png),
        answer=_inline_markdown(answer_line(document["summary"], library)),
        first_screen=[_inline_markdown(line) for line in first_screen_lines(document, library)])
    _save(directory, "speed.png", speed_png)
    atomic_write(directory / "compare.html", lambda handle: handle.write(text.encode()))
    return directory / "compare.html"
