"""Every view written from a saved document, by kind of document: one registry, so that run, merge, report,
compare and ab write the same files the same way. A new view is one writer and one line:

    @output("run", "report.tex")
    def _run_latex(views: Views, directory: Path) -> Path: ...

The CI job summary is an output too (appended to $GITHUB_STEP_SUMMARY, when it names a file); a command that
re-renders a saved document, or writes the sides of an A/B, leaves it out (step_summary=False).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from jacobian_harness.render.view import Report, to_markdown
from jacobian_harness.results import atomic_write

STEP_SUMMARY = "$GITHUB_STEP_SUMMARY"

Writer = Callable[["Views", Path], "Path | None"]

# kind of document -> output name -> its writer, in the order they are written.
OUTPUTS: dict[str, dict[str, Writer]] = {}


def output(kind: str, name: str) -> Callable[[Writer], Writer]:
    """@output(kind, name): register the writer of one output of a kind of document."""
    def register(write: Writer) -> Writer:
        OUTPUTS.setdefault(kind, {})[name] = write
        return write

    return register


def _build(kind: str, document: Any) -> Report:
    # Imported when first needed, as the commands import their renderers: listing outputs imports no builder.
    from jacobian_harness.render.compare_markdown import comparison_report
    from jacobian_harness.render.run_markdown import run_report

    # A sweep's report.md is its own (render.sweep); its report.html is the run report of its document.
    return {"run": run_report, "sweep": run_report, "comparison": comparison_report}[kind](document)


@dataclass
class Views:
    """One document's views, each built once however many outputs use it."""
    kind: str
    document: Any  # a document of that kind: a RunDocument, a Comparison
    written: list[Path] = field(default_factory=list)

    @cached_property
    def report(self) -> Report:
        return _build(self.kind, self.document)

    @cached_property
    def markdown(self) -> str:
        return to_markdown(self.report)


def write_outputs(kind: str, document: Any, directory: Path, *, step_summary: bool = True) -> Views:
    """Write every registered output of this kind of document into `directory` (each file atomically); the
    Views, with the paths written (`written`) and the markdown (for the console) built once."""
    if kind not in OUTPUTS:
        raise ValueError(f"no outputs registered for documents of kind {kind!r} (known: {', '.join(OUTPUTS)})")
    views = Views(kind, document)
    for name, write in OUTPUTS[kind].items():
        if name == STEP_SUMMARY and not step_summary:
            continue
        path = write(views, Path(directory))
        if path is not None:
            views.written.append(path)
    return views


def _write_text(path: Path, text: str) -> Path:
    atomic_write(path, lambda handle: handle.write(text.encode()))
    return path


def _step_summary(views: Views, directory: Path) -> None:
    from jacobian_harness.render.ci_summary import append_step_summary

    append_step_summary(views.markdown)


@output("run", "report.md")
def _run_markdown(views: Views, directory: Path) -> Path:
    return _write_text(directory / "report.md", views.markdown)


@output("run", "report.html")
def _run_html(views: Views, directory: Path) -> Path:
    from jacobian_harness.render.html import run_plots, write_html

    return write_html(views.report, run_plots(views.document), directory, "report.html")


@output("sweep", "sweep.png")
def _sweep_plot(views: Views, directory: Path) -> Path | None:
    from jacobian_harness.render.sweep import plot

    path = directory / "sweep.png"
    return path if plot(views.document, path) else None  # None without matplotlib or a point to plot


@output("sweep", "report.md")
def _sweep_markdown(views: Views, directory: Path) -> Path:
    from jacobian_harness.render.sweep import render_markdown

    has_plot = directory / "sweep.png" in views.written
    return _write_text(directory / "report.md", render_markdown(views.document, has_plot))


output("sweep", "report.html")(_run_html)


@output("comparison", "compare.md")
def _comparison_markdown(views: Views, directory: Path) -> Path:
    return _write_text(directory / "compare.md", views.markdown)


@output("comparison", "compare.html")
def _comparison_html(views: Views, directory: Path) -> Path:
    from jacobian_harness.render.html import comparison_plots, write_html

    return write_html(views.report, comparison_plots(views.document), directory, "compare.html")


output("run", STEP_SUMMARY)(_step_summary)
output("comparison", STEP_SUMMARY)(_step_summary)
