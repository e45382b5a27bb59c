"""HTML reports: rendered from saved documents, self-contained, and every results string escaped."""

import json
import re
from pathlib import Path

from jacobian_harness.comparison import compare_runs
from jacobian_harness.render.html import write_compare_html, write_run_html

DATA = Path(__file__).parent / "data"
HOSTILE = "<script>alert(1)</script>"


def fixture():
    return json.loads((DATA / "results_small.json").read_text())


def test_run_html_is_self_contained_and_has_the_heat_map(tmp_path, frameworks):
    html = write_run_html(fixture(), tmp_path).read_text()
    assert html.startswith("<!doctype html>") and "Jacobian harness report: <span class=\"fail\">FAIL" in html
    assert not re.search(r'(src|href)="(https?:)?//', html), "no external resources"
    assert "title=\"torch.func.jacrev: disagree" in html          # a heat-map cell with its verdict
    frameworks.require("matplotlib")  # the plots need the 'plot' extra; the page above is checked without it
    assert (tmp_path / "timing.png").read_bytes().startswith(b"\x89PNG")
    assert "data:image/png;base64," in html


def test_strings_from_results_are_escaped(tmp_path):
    document = fixture()
    for record in document["results"]:
        record["case"] = HOSTILE
        record["message"] = HOSTILE
    document["environment"]["versions"]["torch"] = HOSTILE
    html = write_run_html(document, tmp_path).read_text()
    assert HOSTILE not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    comparison = compare_runs(document, document, {}, {})
    html = write_compare_html(comparison, tmp_path).read_text()
    assert HOSTILE not in html and "&lt;script&gt;" in html


def test_the_timing_plot_legend_has_one_entry_per_framework_and_per_mode():
    from jacobian_harness.adapters import METHODS, load_adapters
    from jacobian_harness.render.html import strip_legend

    load_adapters()
    groups = list(dict.fromkeys((m.backend, m.mode) for m in METHODS.values()))
    entries = strip_legend(groups)
    frameworks = {b for b, _ in groups}
    modes = {m for _, m in groups}
    assert len(entries) == len(frameworks) + len(modes) < len(METHODS) / 2
    framework_colours = [colour for label, colour, _, _ in entries if label in frameworks]
    assert len(set(framework_colours)) == len(frameworks)  # no colour repeats
    mode_markers = [marker for label, _, marker, _ in entries if label.endswith(" mode")]
    assert len(set(mode_markers)) == len(modes)


def test_compare_html_opens_with_the_same_answer_as_compare_md(tmp_path):
    from jacobian_harness.render.compare_markdown import render_comparison

    document = fixture()
    comparison = compare_runs(document, document, {}, {})
    html = write_compare_html(comparison, tmp_path).read_text()
    markdown = render_comparison(comparison)
    assert "**Safe to upgrade torch by what was checked" in markdown
    assert "<p><b>Safe to upgrade torch by what was checked" in html
    assert "<li>correctness: 0 regressions, 0 fixes, 0 other verdict changes</li>" in html
    assert "- correctness: 0 regressions, 0 fixes, 0 other verdict changes" in markdown
