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
    from jacobian_harness.render.outputs import write_outputs

    document, _, directory = load_run(request.results, jacobians=False)
    views = write_outputs("run", document, directory, step_summary=False)
    print(views.markdown)
    return EXIT_OK
