"""`ab`: the interleaved A/B of two Python environments (harness.rounds, harness.runner.ab_round): both
sides become ordinary runs with one `ab_id`, then compared (harness.commands.compare)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from jacobian_harness.commands.common import (UsageError, case_source_options, check_seed, check_threads, check_timeout,
                                     compile_cache, dtypes_of, load_cases, pack_options, packs_of, pair_options,
                                     pair_options_of, prepare_out, select_or_fail, worker_setup, write_run)
from jacobian_harness.commands.compare import compare

SIDES = ("base", "new")


def add_arguments(parser) -> None:
    case_source_options(parser)
    pair_options(parser)
    parser.add_argument("--base-python", required=True, metavar="PYTHON", help="interpreter of the BASE environment")
    parser.add_argument("--new-python", required=True, metavar="PYTHON", help="interpreter of the NEW environment")
    parser.add_argument("--rounds", type=int, default=8, help="timing rounds in all, half a side (even, at least 4; "
                        "default: %(default)s), after one whole run of each side; each round times every pair on a "
                        "fresh worker of each side, back to back, A B or B A alternately")
    parser.add_argument("--jobs", type=int, default=1, metavar="N", help="workers per round (default: %(default)s)")
    parser.add_argument("--out", default="reports/ab", metavar="DIR",
                        help="DIR/base, DIR/new (two runs) and DIR/compare (default: %(default)s)")
    parser.add_argument("--library", default="torch", help="the package under test, a backend whose pairs the timing "
                        "rounds time (default: %(default)s)")
    parser.add_argument("--time-controls", action="store_true",
                        help="time the other backends' pairs in every round too (controls: the same code on both "
                             "sides, so their NEW/BASE measures the machine; about twice the time)")


def run(args) -> int:
    if args.rounds < 4 or args.rounds % 2:
        raise UsageError(f"--rounds must be an even number of at least 4 (two fresh processes a side), "
                         f"not {args.rounds}")
    for name in ("base_python", "new_python"):
        path = getattr(args, name)
        if not (Path(path).is_file() and os.access(path, os.X_OK)):
            raise UsageError(f"--{name.replace('_', '-')} {path}: not an executable file")
    check_timeout(args)
    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, not {args.jobs}")
    check_seed(args)
    check_threads(args)
    # One cache for both sides: its keys hold each side's framework versions, so that another torch compiles
    # anew; where both sides share a framework (JAX in a torch upgrade), its compiles serve both.
    cache = compile_cache(args)
    with cache.applied():
        return _ab(args, cache)


def _ab(args, cache) -> int:
    from jacobian_harness.adapters import METHODS, load_adapters
    from jacobian_harness.casedef import skipped_in
    from jacobian_harness.document import new_document, sort_like
    from jacobian_harness.render.progress import console_progress
    from jacobian_harness.rounds import finish_rounds
    from jacobian_harness.runner import plan_pairs
    from jacobian_harness.worker import Worker

    case_ids = load_cases(args)
    load_adapters()
    plan = plan_pairs(select_or_fail(case_ids, args.cases, "cases"), select_or_fail(METHODS, args.methods, "methods"),
                      named=bool(args.methods))
    if not plan:
        raise UsageError("no (case, method) pairs to run")
    if not args.time_controls and not any(METHODS[m].backend == args.library for ms in plan.values() for m in ms):
        raise UsageError(f"no selected method is of the library under test, {args.library!r}: --library names a "
                         f"backend ({', '.join(sorted({m.backend for m in METHODS.values()}))}), or add "
                         f"--time-controls to time every pair")
    dtypes = dtypes_of(args)
    options = pair_options_of(args, dtypes[0])
    out = prepare_out(args.out)
    setups = [worker_setup(args, python, log=out / f"workers-{name}.log")
              for python, name in ((args.base_python, "base"), (args.new_python, "new"))]
    documents, arrays, rounds = [], [{}, {}], [None, None]
    ab_id = secrets.token_hex(8)  # marks the two sides of this A/B, whose rounds `compare` pairs
    for setup in setups:
        with Worker(setup) as worker:
            environment = worker.environment()
        if not environment:
            raise UsageError(f"{setup.python} cannot run harness.worker: is jacobian-harness installed there?")
        document = new_document("ab", options, dtype=args.dtype, quick=args.quick, jobs=args.jobs,
                                rounds=args.rounds // 2, cases=args.cases, methods=args.methods,
                                case_files=args.case_file, packs=packs_of(args),
                                samples=pack_options(args)["samples"], skipped=skipped_in(packs_of(args)),
                                selected_methods=sorted({m for ms in plan.values() for m in ms}),
                                environment=environment)
        documents.append(document)
    # The timing rounds time the pairs of the backends under test only (unless --time-controls): the library's,
    # and any other whose version differs between the sides (`compare` judges those too). The rest run the same
    # code on both sides, so timing them would double an upgrade check to tell nothing about the upgrade; the
    # whole run still runs them, where their votes make the reference and their verdicts are compared.
    base_backends, new_backends = (d["environment"].get("backends") or {} for d in documents)
    under_test = {args.library} | {b for b in set(base_backends) | set(new_backends)
                                   if base_backends.get(b) != new_backends.get(b)}
    timed_plan = {case_id: kept for case_id, methods in plan.items()
                  if (kept := [m for m in methods if args.time_controls or METHODS[m].backend in under_test])}
    for document in documents:
        document["options"].update(ab_rounds=args.rounds, ab_id=ab_id,
                                   ab_timed="all" if args.time_controls else sorted(under_test))
    try:
        with console_progress(args.verbose) as progress:
            _run_rounds(args, (plan, timed_plan), options, dtypes, setups, (documents, arrays, rounds), progress)
    except KeyboardInterrupt:
        for document in documents:
            document["partial"] = True
    for side, name in enumerate(SIDES):
        documents[side]["environment"]["compile_cache"] = cache.describe()
        sort_like(documents[side], list(plan))
        if rounds[side]:
            finish_rounds(documents[side], rounds[side])
        prepare_out(str(out / name))
        write_run(out / name, documents[side], arrays[side])
    return compare(str(out / "base"), str(out / "new"), str(out / "compare"), library=args.library)


def _run_rounds(args, plans, options, dtypes, setups, into, progress) -> None:
    """The whole run of both sides (plans[0]) into `into` = (documents, arrays, rounds), then the timing
    rounds (of plans[1]) into each side's `rounds` (harness.rounds), filled in place so that an interrupted
    A/B keeps the rounds it finished."""
    from jacobian_harness.document import add_case
    from jacobian_harness.rounds import add_round, timed_pairs
    from jacobian_harness.runner import ab_round

    plan, timed_plan = plans
    documents, arrays, rounds = into
    # Round 0 is the whole run of each side (verdicts, Jacobians), interleaved case by case; its timings
    # are not rounds: the timing rounds after it interleave pair by pair, which pairs them much more
    # tightly (measured here: per-round case scores of an A/A spread 19% in the whole run, 2.4% after).
    for number in range(args.rounds // 2 + 1):
        round_plan = timed_plan if number else plan
        progress.started(round_plan, dtypes=len(dtypes), sides=2, judged=not number,
                         label=f"round {number}/{args.rounds // 2} A+B" if number else "whole run A+B")
        for case_id, results in ab_round(round_plan, options, dtypes, args.jobs, tuple(setups), number, not number,
                                         progress=None if number else progress.pair_done):
            for side, result in enumerate(results):
                if number:
                    progress.case_done(case_id, result, side=SIDES[side])
                    add_round(rounds[side], result)
                else:
                    progress.case_done(case_id, result.records, side=SIDES[side])
                    add_case(documents[side], arrays[side], result)
        if not number:
            rounds[:] = [timed_pairs(document) for document in documents]
