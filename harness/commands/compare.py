"""`compare`: what changed from BASE to NEW (harness.comparison), written as compare.json, compare.md and
compare.html; exit 1 on a regression or drift."""

from __future__ import annotations

from jacobian_harness.commands.common import EXIT_FAIL, EXIT_OK, load_run, prepare_out
from jacobian_harness.commands.requests import CompareRequest


def add_arguments(parser) -> None:
    parser.add_argument("base", metavar="BASE", help="a results directory (or its results.json)")
    parser.add_argument("new", metavar="NEW", help="a results directory (or its results.json)")
    parser.add_argument("--out", default="reports/compare", metavar="DIR", help="default: %(default)s")
    parser.add_argument("--min-effect", type=float, default=0.10, metavar="FRACTION",
                        help="smallest slowdown or speed-up called a change (default: %(default)s)")
    parser.add_argument("--alpha", type=float, default=0.01, help="significance level of the rank test "
                        "(default: %(default)s)")
    parser.add_argument("--library", default="torch",
                        help="the package under test, whose versions may differ without a warning "
                             "(default: %(default)s)")


def run(args) -> int:
    request = CompareRequest.from_args(args)
    return compare(request.base, request.new, request.out, min_effect=request.min_effect, alpha=request.alpha,
                   library=request.library)


def compare(base_path: str, new_path: str, out: str, *, min_effect: float = 0.10, alpha: float = 0.01,
            library: str = "torch") -> int:
    """Compare two saved runs into `out` and print the comparison's first screen; the exit code."""
    from jacobian_harness.comparison import Settings, compare_runs
    from jacobian_harness.render.outputs import write_outputs
    from jacobian_harness.results import write_json

    base, base_arrays, base_dir = load_run(base_path)
    new, new_arrays, new_dir = load_run(new_path)
    directory = prepare_out(out)
    comparison = compare_runs(base, new, base_arrays, new_arrays,
                              Settings(min_effect=min_effect, alpha=alpha, library=library),
                              base_label=str(base_dir), new_label=str(new_dir))
    write_json(directory / "compare.json", comparison)
    views = write_outputs("comparison", comparison, directory)
    print(views.markdown.split("\n## ", 1)[0].rstrip())
    print(f"\nWrote {', '.join(str(p) for p in [directory / 'compare.json', *views.written])}")
    return EXIT_FAIL if comparison["summary"]["failed"] else EXIT_OK

