"""`sweep`: time every method over a grid of sizes of a case family (harness.sweep), in this process."""

from __future__ import annotations

from dataclasses import replace

from jacobian_harness.commands.common import (EXIT_FAIL, EXIT_OK, UsageError, prepare_out, select_or_fail,
                                              verbose_option, write_run)
from jacobian_harness.commands.requests import SweepRequest


def add_arguments(parser) -> None:
    parser.add_argument("family", metavar="FAMILY", help="a sweep family id (`jacobian-harness list` shows them)")
    parser.add_argument("--methods", action="append", metavar="PATTERN", help="shell-style glob on method ids")
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    parser.add_argument("--out", default="reports/sweep", metavar="DIR", help="default: %(default)s")
    parser.add_argument("--quick", action="store_true", help="a smaller grid and a short timing budget")
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads (default: 1)")
    verbose_option(parser)


def run(args) -> int:
    return execute_sweep(SweepRequest.from_args(args))


def execute_sweep(request: SweepRequest) -> int:
    """Time the family's methods over its grid into the request's directory; the exit code."""
    from jacobian_harness.environment import limit_threads

    limit_threads(request.threads)  # before any framework is imported
    from jacobian_harness.adapters import METHODS, load_adapters
    from jacobian_harness.document import add_case, new_document
    from jacobian_harness.environment import now
    from jacobian_harness.evaluate import Options
    from jacobian_harness.records import passed
    from jacobian_harness.render.progress import console_progress
    from jacobian_harness.runner import run_case
    from jacobian_harness.sweep import FAMILIES, load_families, point_cases, rule_lines
    from jacobian_harness.timing import DEFAULT, QUICK

    load_families()
    load_adapters()
    family = request.family
    if family not in FAMILIES:
        raise UsageError(f"unknown sweep family {family!r} (known: {', '.join(FAMILIES) or 'none'})")
    order = FAMILIES[family].case.order
    method_ids = select_or_fail([m for m, spec in METHODS.items() if spec.order == order], request.methods, "methods")
    out = prepare_out(request.out)
    points = point_cases(FAMILIES[family], request.quick)
    timing = QUICK if request.quick else DEFAULT
    options = Options(dtype=request.dtype, timing=timing, threads=request.threads, size="sweep")
    document = new_document("sweep", options, dtype=request.dtype, quick=request.quick, cases=[family],
                            methods=None if request.methods is None else list(request.methods),
                            selected_methods=method_ids)
    document["options"]["sweep"] = {"family": family, "grid": [p for _, p in points]}
    arrays: dict = {}
    with console_progress(request.verbose) as progress:
        progress.started({case_id: method_ids for case_id, _ in points})
        for case_id, point in points:
            result = run_case(case_id, method_ids, replace(options, size=point), progress=progress.pair_done)
            progress.case_done(case_id, result.records)
            add_case(document, arrays, result)
    document["environment"]["finished_at"] = now()
    views = write_run(out, document, arrays, kind="sweep", step_summary=False)
    has_plot = out / "sweep.png" in views.written
    for line in rule_lines(document["results"]):
        print(line[2:])
    written = ", ".join(str(out / n) for n in ("results.json", "report.md") + (("sweep.png",) if has_plot else ()))
    print(f"Wrote {written}" + ("" if has_plot else " (install matplotlib for sweep.png)"))
    return EXIT_OK if passed(document["results"]) else EXIT_FAIL
