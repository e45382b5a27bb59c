"""`ab`: the interleaved A/B of two Python environments (harness.rounds, harness.runner.ab_round): a whole run
of each side, timing rounds that screen every pair, more rounds for the screen's candidates alone
(harness.comparison.confirm); both sides become ordinary runs with one `ab_id`, then compared
(harness.commands.compare)."""

from __future__ import annotations

import secrets
from typing import cast

from jacobian_harness.commands.common import UsageError, case_source_options, pair_options, prepare_out, write_run
from jacobian_harness.commands.requests import AbRequest, selected_pairs, with_compile_cache
from jacobian_harness.commands.compare import compare
from jacobian_harness.run_schema import RunDocument, RunOptions

SIDES = ("base", "new")


def add_arguments(parser) -> None:
    case_source_options(parser)
    pair_options(parser)
    parser.add_argument("--base-python", required=True, metavar="PYTHON", help="interpreter of the BASE environment")
    parser.add_argument("--new-python", required=True, metavar="PYTHON", help="interpreter of the NEW environment")
    parser.add_argument("--rounds", type=int, default=8, help="timing rounds in all, half a side (even, at least 4; "
                        "default: %(default)s), after one whole run of each side; each round times every pair on a "
                        "fresh worker of each side, back to back, A B or B A alternately")
    parser.add_argument("--confirm-rounds", type=int, default=16, metavar="N",
                        help="the second stage: the pairs the rounds screened as candidates (a change of at least "
                             "the minimum effect, unadjusted p < 0.05; at most 40) are timed again in N more rounds "
                             "(even, at least 4; 0: one stage) and judged on those, adjusted over the candidates "
                             "only (default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N", help="workers per round (default: %(default)s)")
    parser.add_argument("--out", default="reports/ab", metavar="DIR",
                        help="DIR/base, DIR/new (two runs) and DIR/compare (default: %(default)s)")
    parser.add_argument("--library", default="torch", help="the package under test, a backend whose pairs the timing "
                        "rounds time (default: %(default)s)")
    parser.add_argument("--time-controls", action="store_true",
                        help="time the other backends' pairs in every round too (controls: the same code on both "
                             "sides, so their NEW/BASE measures the machine; about twice the time)")


def run(args) -> int:
    return execute_ab(AbRequest.from_args(args))


def execute_ab(request: AbRequest) -> int:
    """The A/B of `request` into its directory (base, new, compare); the comparison's exit code."""
    # One cache for both sides: its keys hold each side's framework versions, so that another torch compiles
    # anew; where both sides share a framework (JAX in a torch upgrade), its compiles serve both.
    return with_compile_cache(request, lambda cache: _ab(request, cache))


def _ab(request: AbRequest, cache) -> int:
    from jacobian_harness.adapters import METHODS
    from jacobian_harness.casedef import skipped_in
    from jacobian_harness.document import sort_like
    from jacobian_harness.render.progress import console_progress
    from jacobian_harness.rounds import finish_confirmation, finish_rounds
    from jacobian_harness.worker import Worker

    plan = _plan(request)
    library = request.library
    dtypes = request.dtypes
    options = request.options(dtypes[0], request.jobs)
    out = prepare_out(request.out)
    setups = [request.worker_setup(cache, python, log=out / f"workers-{name}.log")
              for python, name in ((request.base_python, "base"), (request.new_python, "new"))]
    documents: list[RunDocument] = []
    arrays: list[dict] = [{}, {}]
    rounds: list = [None, None]
    ab_id = secrets.token_hex(8)  # marks the two sides of this A/B, whose rounds `compare` pairs
    for setup in setups:
        with Worker(setup) as worker:
            environment = worker.environment()
        if not environment:
            raise UsageError(f"{setup.python} cannot run harness.worker: is jacobian-harness installed there?")
        documents.append(request.new_document("ab", options, jobs=request.jobs, rounds=request.rounds // 2,
                                              selected_methods=sorted({m for ms in plan.values() for m in ms}),
                                              skipped=skipped_in(request.packs), environment=environment))
    # The timing rounds time the pairs of the backends under test only (unless --time-controls): the library's,
    # and any other whose version differs between the sides (`compare` judges those too). The rest run the same
    # code on both sides, so timing them would double an upgrade check to tell nothing about the upgrade; the
    # whole run still runs them, where their votes make the reference and their verdicts are compared.
    base_backends, new_backends = (d["environment"].get("backends") or {} for d in documents)
    under_test = {library} | {b for b in set(base_backends) | set(new_backends)
                                   if base_backends.get(b) != new_backends.get(b)}
    timed_plan = {case_id: kept for case_id, methods in plan.items()
                  if (kept := [m for m in methods if request.time_controls or METHODS[m].backend in under_test])}
    for document in documents:
        document["options"].update(RunOptions(ab_rounds=request.rounds, ab_id=ab_id,
                                              ab_timed="all" if request.time_controls else sorted(under_test),
                                              ab_confirm_rounds=request.confirm_rounds))
    confirmation: list[dict] = [{}, {}]
    try:
        with console_progress(request.verbose) as progress:
            _run_rounds(request, (plan, timed_plan), options, setups, (documents, arrays, rounds), progress)
            for side in (0, 1):
                finish_rounds(documents[side], rounds[side])
            _confirm(request, options, setups, documents, confirmation, progress)
    except KeyboardInterrupt:
        for document in documents:
            document["partial"] = True
    for side, name in enumerate(SIDES):
        documents[side]["environment"]["compile_cache"] = cache.describe()
        sort_like(documents[side], list(plan))
        if rounds[side]:
            finish_rounds(documents[side], rounds[side])
        finish_confirmation(documents[side], confirmation[side])
        prepare_out(str(out / name))
        write_run(out / name, documents[side], arrays[side], step_summary=False)
    return compare(str(out / "base"), str(out / "new"), str(out / "compare"), library=library)


def _plan(request: AbRequest) -> dict[str, list[str]]:
    """case -> methods of the A/B; a usage error where it has none of the library under test."""
    from jacobian_harness.adapters import METHODS
    from jacobian_harness.runner import plan_pairs

    plan = plan_pairs(*selected_pairs(request), named=bool(request.methods))
    if not plan:
        raise UsageError("no (case, method) pairs to run")
    library = request.library
    if not request.time_controls and not any(METHODS[m].backend == library for ms in plan.values() for m in ms):
        raise UsageError(f"no selected method is of the library under test, {library!r}: --library names a "
                         f"backend ({', '.join(sorted({m.backend for m in METHODS.values()}))}), or add "
                         f"--time-controls to time every pair")
    return plan


def _run_rounds(request: AbRequest, plans, options, setups, into, progress) -> None:
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
    dtypes = request.dtypes
    for number in range(request.rounds // 2 + 1):
        round_plan = timed_plan if number else plan
        progress.started(round_plan, dtypes=len(dtypes), sides=2, judged=not number,
                         label=f"round {number}/{request.rounds // 2} A+B" if number else "whole run A+B")
        for case_id, results in ab_round(round_plan, options, dtypes, request.jobs, tuple(setups), number, not number,
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


def _confirm(request: AbRequest, options, setups, documents: list[RunDocument], into: list[dict], progress) -> None:
    """The second stage: the pairs the screen (the rounds so far, judged as `compare` would) picked as
    candidates, timed again in request.confirm_rounds more rounds of fresh processes, interleaved as before;
    into[side] collects each candidate's timings (harness.rounds.finish_confirmation keeps them)."""
    from jacobian_harness.comparison import Settings, compare_runs
    from jacobian_harness.comparison.confirm import candidates
    from jacobian_harness.rounds import add_round
    from jacobian_harness.runner import ab_round

    if not request.confirm_rounds:
        return
    settings = Settings(library=request.library)
    screen = compare_runs(cast(dict, documents[0]), cast(dict, documents[1]), {}, {}, settings)
    picked = candidates(screen["pairs"], settings.min_effect)
    into[:] = [{key: [] for key in picked} for _ in (0, 1)]
    plan: dict[str, list[str]] = {}
    shown: dict[str, list[str]] = {}  # the progress counts pairs: a candidate is one method in one dtype
    for case_id, method_id, dtype in picked:
        if method_id not in plan.setdefault(case_id, []):
            plan[case_id].append(method_id)
        shown.setdefault(case_id, []).append(f"{method_id} {dtype}")
    for number in range(1, request.confirm_rounds // 2 + 1) if plan else ():
        progress.started(shown, dtypes=1, sides=2, judged=False,
                         label=f"confirm {len(picked)} candidates, round {number}/{request.confirm_rounds // 2} A+B")
        for case_id, results in ab_round(plan, options, request.dtypes, request.jobs, tuple(setups),
                                         request.rounds // 2 + number, False, only=set(picked)):
            for side, result in enumerate(results):
                progress.case_done(case_id, result, side=SIDES[side])
                add_round(into[side], result)
