"""The view model: one Report, rendered to markdown and to HTML with the same words."""

import json
from pathlib import Path

from jacobian_harness.render.compare_markdown import comparison_report, render_comparison
from jacobian_harness.render.formatting import interval, ratio_and_interval
from jacobian_harness.render.html import render_html
from jacobian_harness.render.run_markdown import render_markdown, run_report
from jacobian_harness.render.view import (Bold, Bullets, Cell, Code, Paragraph, Report, Section, Table, span,
                                          to_markdown)

DATA = Path(__file__).parent / "data"

REPORT = Report("Speed", "PASS", (Paragraph(Bold("All good.")), Bullets((span("fastest: ", Code("jacrev")),))),
                (Section("Times", (Table(("case", "median"), ((Code("a|b"), Cell("1 ms", "0.001")),)),)),
                 Section("Only here", (Paragraph("html"),), 3, only="html"),
                 Section("", (Paragraph("markdown", only="markdown"),))))


def test_a_report_renders_to_markdown():
    assert to_markdown(REPORT) == "\n".join([
        "# Speed: PASS", "", "**All good.**", "", "- fastest: `jacrev`", "", "## Times", "",
        "| case | median |", "|---|---|", "| `a\\|b` | 1 ms |", "", "markdown", ""])


def test_a_report_renders_to_html_with_a_table_and_escapes_text():
    html = render_html(REPORT, {})
    assert '<h1>Speed: <span class="pass">PASS</span></h1>' in html
    assert "<p><b>All good.</b></p>" in html and "<li>fastest: <code>jacrev</code></li>" in html
    assert ('<table class="sortable"><thead><tr><th>case</th><th>median</th></tr></thead><tbody>\n'
            '<tr><td><code>a|b</code></td><td data-sort="0.001">1 ms</td></tr></tbody></table>') in html
    assert "<h3>Only here</h3>" in html and "markdown" not in html.split("<body>")[1]
    hostile = Report("<x>", "FAIL", (Paragraph(span("<script>", Code("<b>"))),))
    html = render_html(hostile, {})
    assert html.count("<script>") == 1 and "<p>&lt;script&gt;<code>&lt;b&gt;</code></p>" in html  # ours, theirs


def test_the_answer_is_the_first_bold_paragraph():
    assert REPORT.answer == Bold("All good.")
    comparison = comparison_report(_comparison())
    assert str(comparison.answer.text).startswith("Safe to upgrade torch")


def test_markdown_reports_are_the_markdown_rendering_of_their_view():
    document = json.loads((DATA / "results_small.json").read_text())
    assert render_markdown(document) == to_markdown(run_report(document))
    assert render_comparison(_comparison()) == to_markdown(comparison_report(_comparison()))


def test_plots_without_an_image_leave_their_section_out():
    document = json.loads((DATA / "results_small.json").read_text())
    html = render_html(run_report(document), {"timing.png": None, "ratio.png": None})
    assert "Median time per case and method" not in html and "<h2>Every pair</h2>" in html
    html = render_html(run_report(document), {"timing.png": b"\x89PNG", "ratio.png": None})
    assert '<h2>Median time per case and method (log scale)</h2>\n<img alt="timing plot"' in html


def test_the_interval_is_written_one_way():
    assert interval(0.91234, 1.5) == "[0.912, 1.5]" and interval(None, 1.0) == ""
    assert ratio_and_interval({"ratio": 1.2345, "low": 1.1, "high": 1.4}) == "1.23 [1.1, 1.4]"
    assert ratio_and_interval({"ratio": 1.2345, "low": None, "high": None}) == "1.23"
    assert ratio_and_interval(None) == ""


def _comparison() -> dict:
    from jacobian_harness.comparison import compare_runs

    document = json.loads((DATA / "results_small.json").read_text())
    return compare_runs(document, document, {}, {})
