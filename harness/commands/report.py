"""`report`: render report.md and report.html again from a saved run."""

from __future__ import annotations

from jacobian_harness.commands.common import EXIT_OK, load_run
from jacobian_harness.commands.requests import ReportRequest


def add_arguments(parser) -> None:
    parser.add_argument("results", metavar="DIR", help="a results directory or its results.json")


def run(args) -> int:
    return execute_report(ReportRequest.from_args(args))


def execute_report(request: ReportRequest) -> int:
    """Render report.md and report.html of the saved run again, and print report.md."""
    from jacobian_harness.render.html import write_run_html
    from jacobian_harness.render.run_markdown import render_markdown
    from jacobian_harness.results import atomic_write

    document, _, directory = load_run(request.results, jacobians=False)
    text = render_markdown(document)
    atomic_write(directory / "report.md", lambda handle: handle.write(text.encode()))
    write_run_html(document, directory)
    print(text)
    return EXIT_OK
