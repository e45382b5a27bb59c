"""Self-contained HTML reports (one file, plots inlined as PNG) of a run and of a comparison.

Rendered from the saved documents only. Every string from a results file is data: the template engine
escapes it (autoescape), so a case named `<script>` shows as text. Plots are also written as PNG files
next to the HTML, for README or CI artifacts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import base64
import io
from pathlib import Path

from markupsafe import Markup, escape

from jacobian_harness.comparison.document import Comparison
from jacobian_harness.records import Record
from jacobian_harness.run_schema import RunDocument
from jacobian_harness.render.view import (Block, Bold, Bullets, Cell, Code, HeatMap, Image, Inline, Paragraph, Report,
                                          Span, Table, shown)
from jacobian_harness.results import atomic_write

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


def _strip_plot(records: list[Record], value, label: str) -> bytes | None:
    """One row per case, one marker per method: value(record) on a log axis; colour = framework, marker = mode."""
    plt = _pyplot()
    points = [(r["case"], r.get("backend", ""), r.get("mode", ""), value(r)) for r in records]
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


def _speed_plot(pairs: Sequence[Mapping[str, Any]]) -> bytes | None:
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


def _inline(text: Inline) -> Markup:
    """Text of the view model in HTML: Code and Bold as tags, every string escaped (results strings are data)."""
    if isinstance(text, Code):
        return Markup("<code>{}</code>").format(text.text)
    if isinstance(text, Bold):
        return Markup("<b>{}</b>").format(text.text)
    if isinstance(text, Span):
        return Markup("").join(_inline(part) for part in text.parts)
    return escape(text)


def _table(table: Table) -> Markup:
    head = Markup("").join(Markup("<th>{}</th>").format(_inline(h)) for h in table.headers)
    body = Markup("").join(
        Markup("<tr>{}</tr>").format(Markup("").join(
            Markup('<td data-sort="{}">{}</td>').format(c.sort, _inline(c.text)) if isinstance(c, Cell)
            else Markup("<td>{}</td>").format(_inline(c)) for c in row)) for row in table.rows)
    return Markup('<table class="sortable"><thead><tr>{}</tr></thead><tbody>\n{}</tbody></table>').format(head, body)


def _heat_map(heat: HeatMap) -> Markup:
    legend = Markup("").join(Markup('<span class="cell" style="display:inline-block;background:{}"></span> {} &nbsp;')
                             .format(colour, label) for label, colour in heat.legend)
    groups = Markup("<tr><th></th>{}</tr>").format(Markup("").join(
        Markup('<th colspan="{}">{}</th>').format(n, label) for label, n in heat.groups)) if heat.groups else ""
    columns = Markup("<tr><th></th>{}</tr>\n").format(
        Markup("").join(Markup('<th class="rot">{}</th>').format(m) for m in heat.columns))
    rows = Markup("").join(Markup("<tr><td><code>{}</code></td>{}</tr>\n").format(row, Markup("").join(
        Markup('<td class="cell" style="background:{}" title="{}"></td>').format(*cell) if cell
        else Markup('<td class="cell"></td>') for cell in cells)) for row, cells in heat.rows)
    return Markup("<p>{}</p>\n<table>{}{}{}</table>").format(legend, groups, columns, rows)


def _block(block: Block, images: dict[str, bytes | None]) -> Markup:
    if isinstance(block, Paragraph):
        css = Markup(' class="{}"').format(block.css) if block.css else ""
        return Markup("<p{}>{}</p>").format(css, _inline(block.text))
    if isinstance(block, Bullets):
        return Markup("<ul>{}</ul>").format(Markup("").join(Markup("<li>{}</li>").format(_inline(i))
                                                               for i in block.items))
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, HeatMap):
        return _heat_map(block)
    return Markup('<img alt="{}" src="data:image/png;base64,{}">').format(block.alt, _b64(images.get(block.name)))


def render_html(report: Report, images: dict[str, bytes | None]) -> str:
    """The report as one self-contained page: the blocks and sections HTML shows, plots inlined from `images`
    (a section of plots none of which was drawn is left out: the `plot` extra is optional)."""
    def drawn(blocks) -> bool:
        return any(not isinstance(b, Image) or images.get(b.name) for b in blocks)

    first_screen = [_block(b, images) for b in report.first_screen if shown(b, "html")]
    sections = []
    for section in report.sections:
        blocks = [b for b in section.blocks if shown(b, "html")]
        if shown(section, "html") and drawn(blocks):
            sections.append((_inline(section.title), section.level, [_block(b, images) for b in blocks]))
    return _template("report.html.j2").render(style=_STYLE, sort_script=_SORT, report=report,
                                              first_screen=first_screen, sections=sections)


def run_plots(document: RunDocument) -> dict[str, bytes | None]:
    """timing.png and ratio.png of a run (None where matplotlib is missing or nothing agrees)."""
    agreeing = [r for r in document["results"] if r["status"] in ("agree", "expected-divergence")]
    return {"timing.png": _strip_plot(agreeing, lambda r: (r.get("time") or {}).get("median_s"),
                                      "median time per Jacobian (s)"),
            "ratio.png": _strip_plot(agreeing, lambda r: r.get("ratio"), "J/f: Jacobian time over f time")}


def comparison_plots(document: Comparison) -> dict[str, bytes | None]:
    """speed.png of a comparison."""
    return {"speed.png": _speed_plot(document["pairs"])}


def write_html(report: Report, images: dict[str, bytes | None], directory: Path, name: str) -> Path:
    """The page `name` of the report, and its plots next to it (for README or CI artifacts)."""
    text = render_html(report, images)
    for image, data in images.items():
        _save(directory, image, data)
    atomic_write(directory / name, lambda handle: handle.write(text.encode()))
    return directory / name


def write_run_html(document: RunDocument, directory: Path) -> Path:
    """report.html (and timing.png, ratio.png) of a run, from its saved document."""
    from jacobian_harness.render.run_markdown import run_report

    return write_html(run_report(document), run_plots(document), directory, "report.html")


def write_compare_html(document: Comparison, directory: Path) -> Path:
    """compare.html (and speed.png) of a comparison, from its saved document."""
    from jacobian_harness.render.compare_markdown import comparison_report

    return write_html(comparison_report(document), comparison_plots(document), directory, "compare.html")
