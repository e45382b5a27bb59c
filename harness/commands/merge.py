"""`merge`: join the results of `run --shard` parts into one run (harness.document.merge)."""

from __future__ import annotations

from jacobian_harness.commands.common import EXIT_FAIL, EXIT_OK, UsageError, load_run, prepare_out, write_run
from jacobian_harness.commands.requests import MergeRequest


def add_arguments(parser) -> None:
    parser.add_argument("parts", nargs="+", metavar="DIR", help="result directories of the parts")
    parser.add_argument("--out", required=True, metavar="DIR", help="where the merged run goes")
    parser.add_argument("--allow-different-machines", action="store_true",
                        help="accept parts run on different CPUs (CI runners of one job matrix often are): "
                             "verdicts and values still compare, speed is then not judged")


def run(args) -> int:
    return execute_merge(MergeRequest.from_args(args))


def execute_merge(request: MergeRequest) -> int:
    """Merge the parts into the request's directory and print the run's summary; the exit code."""
    from jacobian_harness.document import DocumentError, merge
    from jacobian_harness.records import passed
    from jacobian_harness.render.console import render_summary

    parts = [(path, *load_run(path)[:2]) for path in request.parts]
    try:
        merged, arrays = merge(parts, request.allow_different_machines)
    except DocumentError as exc:
        raise UsageError(str(exc)) from None
    out = prepare_out(request.out)
    write_run(out, merged, arrays)
    print(render_summary(merged, out))
    return EXIT_OK if passed(merged["results"]) else EXIT_FAIL
