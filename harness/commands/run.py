"""`run`: evaluate, judge and time the selected (case, method) pairs into a results directory; `--resume`
finishes an interrupted run from its journal, `--rounds` times every pair again in fresh processes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the commands import what they run when they run it
    from jacobian_harness.run_schema import RunDocument

import os
import sys
import time
from pathlib import Path

from jacobian_harness.commands.common import (EXIT_FAIL, EXIT_INTERRUPTED, EXIT_OK, UsageError, case_source_options,
                                              pair_options, prepare_out, write_run)
from jacobian_harness.commands.requests import RUN_SELECTION, RunRequest, selected_pairs, with_compile_cache
from jacobian_harness.records import passed
from jacobian_harness.render.console import render_summary
from jacobian_harness.worker import WORKER_LOG


def add_arguments(parser) -> None:
    case_source_options(parser)
    pair_options(parser)
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="where results.json, jacobians.npz and report.md go (default: a new "
                             f"reports/runs/TIMESTAMP, with {LATEST} pointing at the newest, so that no run "
                             "overwrites another)")
    parser.add_argument("--jobs", type=int, default=None, metavar="N",
                        help="worker subprocesses, one case each at a time; 0 runs everything in this process "
                                "(no crash or hang isolation); 1 gives the quietest timings (default: one per CPU, "
                                "at most one per 2 GiB of free memory)")
    parser.add_argument("--shard", default=None, metavar="K/N",
                        help="run only the K-th of N deterministic parts of the selection, whole cases in each, "
                                "balanced by (timed) pairs; `jacobian-harness merge` joins the parts")
    parser.add_argument("--junit", default=None, metavar="FILE",
                        help="also write JUnit XML: one test per (case, method, dtype)")
    parser.add_argument("--rounds", type=int, default=1, metavar="R",
                        help="time every pair again in R-1 more rounds, each in fresh worker processes, so that "
                                "`compare` can test per-round medians: how fast a pair runs varies from one process "
                                "to the next, which samples inside one process cannot show (default: %(default)s)")
    parser.add_argument("--no-timing", action="store_true",
                        help="judge every pair from its first call and time none: verdicts, Jacobians and "
                             "preparation only, no speed figures; the quickest correctness check (CI's library "
                             "stage runs this way)")
    parser.add_argument("--resume", default=None, metavar="DIR",
                        help="finish the interrupted run in DIR with its own options, reusing every pair it "
                                "finished (only --jobs, --timeout and --junit may be given with it)")


__all__ = ["RUN_SELECTION", "RunRequest", "add_arguments", "execute_run", "run"]


def run(args) -> int:
    return execute_run(RunRequest.from_args(args))


def execute_run(request: RunRequest) -> int:
    """Run what `request` selects into its directory (or finish the interrupted run it resumes), print the
    summary; the exit code."""
    journal = None
    if request.resume:
        request, journal = _resumed(request)
    return with_compile_cache(request, lambda cache: _run(request, journal, cache))


def _resumed(request: RunRequest):
    """(the request of the interrupted run to finish, as its journal keeps it, with this one's --jobs,
    --timeout and --junit; its journal)."""
    from dataclasses import replace

    from jacobian_harness.environment import collect
    from jacobian_harness.journal import Journal, JournalError

    given = request.given_with_resume()
    if given:
        raise UsageError(f"--resume takes the interrupted run's own options; leave out --{given.replace('_', '-')}")
    if request.resume is None:
        raise ValueError("_resumed is called for a request with --resume")
    try:
        journal = Journal.open(Path(request.resume))
    except JournalError as exc:
        raise UsageError(str(exc)) from None
    options = journal.header.get("options")
    if isinstance(options, dict):
        options = {"no_timing": False, **options}  # a journal written before --no-timing existed
    if not isinstance(options, dict) or set(options) != set(RUN_SELECTION):
        raise UsageError(f"{request.resume}: the journal's header lacks the run's options")
    versions = collect(options["threads"])["versions"]
    changed = [f"{p} {v} in the journal, {versions.get(p)} here" for p, v in journal.header.get("versions", {}).items()
               if versions.get(p) != v]
    if changed:
        raise UsageError(f"cannot resume {request.resume}: other versions now ({changed[0]}); start a new run")
    return replace(request, **options, out=request.resume), journal


def _run(request: RunRequest, journal, cache) -> int:
    from dataclasses import replace

    from jacobian_harness.document import add_case, mark_interrupted, sort_like

    case_ids, method_ids = selected_pairs(request)
    if not case_ids:
        raise UsageError("no cases to run: give --case-file, or leave out --no-builtin")
    from jacobian_harness.runner import plan_pairs

    named = request.out is not None
    if not named:
        request = replace(request, out=str(_new_run_directory()))
    if request.junit and not (Path(request.junit).resolve().parent.is_dir()
                              or Path(request.junit).resolve().parent == request.out_dir.resolve()):
        raise UsageError(f"--junit {request.junit}: its directory does not exist")

    plan = plan_pairs(case_ids, method_ids, request.shard_parts, named=bool(request.methods))
    if not plan:
        raise UsageError(f"--shard {request.shard} holds no case of this selection (fewer cases than shards?)")
    out = prepare_out(str(request.out_dir))
    dtypes = request.dtypes
    options = request.options(dtypes[0], request.workers)
    document = request.new_document("run", options, jobs=request.workers, shard=request.shard, rounds=request.rounds,
                                    selected_methods=method_ids, skipped=_skipped_of(request))
    if journal is None:
        journal = _new_journal(request, out, document)
    arrays: dict = {}
    started = time.perf_counter()
    from jacobian_harness.render.progress import console_progress

    try:
        with console_progress(request.verbose) as progress:
            progress.started(plan, dtypes=len(dtypes))
            for result in _case_results(request, cache, plan, options, journal, progress):
                progress.case_done(result.case_id, result.records)
                add_case(document, arrays, result)
            if request.rounds > 1:
                _timing_rounds(request, cache, plan, options, document, progress)
    except KeyboardInterrupt:
        # Cases are judged whole, so the results hold the finished cases; the journal also keeps the finished
        # pairs of the cases in flight, which `run --resume` reuses (the pairs cut off run again).
        mark_interrupted(document, len(plan), len(journal.done), f"jacobian-harness run --resume {out}")
        print(f"jacobian-harness: interrupted; writing the finished cases (`run --resume {out}` finishes "
              f"the run)", file=sys.stderr)
    sort_like(document, case_ids)  # the whole selection: a shard's cases keep their place in it
    _finish_document(document, time.perf_counter() - started, cache, journal.reused if request.resume else None)
    from jacobian_harness.repros import write_repros

    write_repros(out, document)
    write_run(out, document, arrays)
    if not named:
        _point_latest_at(out)
    print(render_summary(document, out))
    _write_junit(request.junit, document)
    if document.get("partial"):
        return EXIT_INTERRUPTED
    journal.remove()  # results.json now holds everything the journal did
    return EXIT_OK if passed(document["results"]) else EXIT_FAIL


def _new_journal(request: RunRequest, out: Path, document: RunDocument):
    """The journal of a new run in `out`, which keeps the request's selection for --resume."""
    from jacobian_harness.journal import Journal

    if (out / "journal").exists():
        print(f"jacobian-harness: {out} holds an unfinished run; starting a new one there "
              f"(`run --resume {out}` would have finished it)", file=sys.stderr)
    journal = Journal.start(out, {"options": request.selection(), "versions": document["environment"]["versions"]})
    (out / WORKER_LOG).unlink(missing_ok=True)  # a new run's log; a resumed run appends to its own
    return journal


def _finish_document(document: RunDocument, wall_s: float, cache, resumed_pairs: int | None) -> None:
    """What the run document learns at the end: when, how long, the compile cache, the cost, and (resumed)
    how many pairs the journal gave."""
    from jacobian_harness.cost import run_cost
    from jacobian_harness.environment import now

    document["environment"]["finished_at"] = now()
    document["environment"]["wall_s"] = round(wall_s, 3)
    document["environment"]["compile_cache"] = cache.describe()
    document["cost"] = run_cost(document)
    if resumed_pairs is not None:
        document["resumed_pairs"] = resumed_pairs


def _skipped_of(request: RunRequest) -> dict[str, str]:
    """What the run's packs could not make into cases, among what --cases selects."""
    from jacobian_harness.casedef import id_matches, skipped_in

    return {case_id: reason for case_id, reason in skipped_in(request.packs).items()
            if not request.cases or any(id_matches(case_id, pattern) for pattern in request.cases)}


RUNS = Path("reports/runs")    # where runs without --out go, one directory each
LATEST = Path("reports/latest")  # a symbolic link to the newest of them


def _new_run_directory() -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    candidate, number = RUNS / stamp, 1
    while candidate.exists():  # two runs started within one second
        number += 1
        candidate = RUNS / f"{stamp}-{number}"
    return candidate


def _point_latest_at(out: Path) -> None:
    """reports/latest -> the run just written, replaced atomically; a real directory there (written by an
    older version) is left alone, and said so."""
    if LATEST.exists() and not LATEST.is_symlink():
        print(f"jacobian-harness: {LATEST} is a directory, not a link to the newest run: left as it is "
              f"(this run is in {out})", file=sys.stderr)
        return
    link = LATEST.with_name(f".latest-{os.getpid()}")
    link.unlink(missing_ok=True)
    link.symlink_to(os.path.relpath(out.resolve(), LATEST.parent.resolve()), target_is_directory=True)
    os.replace(link, LATEST)


def _write_junit(junit: str | None, document: RunDocument) -> None:
    """--junit FILE (the job summary of GitHub Actions is one of the run's outputs, written with the others)."""
    from jacobian_harness.render.junit import render_junit
    from jacobian_harness.results import atomic_write

    if junit:
        xml = render_junit(document)
        atomic_write(Path(junit), lambda handle: handle.write(xml))


def _case_results(request: RunRequest, cache, plan, options, journal, progress):
    """CaseResults in this process (--jobs 0) or from worker subprocesses, as they finish; every evaluation
    goes through the run's journal, and is counted by `progress` (harness.render.progress) when it is done."""
    from jacobian_harness.evaluate import evaluate
    from jacobian_harness.runner import run_case, run_cases
    from jacobian_harness.timing import calibrate

    if request.workers == 0:
        for case_id, method_ids in plan.items():
            yield run_case(case_id, method_ids, options, progress=progress.pair_done, dtypes=request.dtypes,
                           evaluate=journal.wrap(evaluate), calibrate=calibrate)
        return
    setup = request.worker_setup(cache, log=request.out_dir / WORKER_LOG)
    yield from run_cases(plan, options, request.dtypes, request.workers, setup, progress=progress.pair_done,
                         wrap=journal.wrap)


def _time_round(plan, options, dtypes, jobs: int, setup, rounds: dict, label: str, progress) -> None:
    """One more timing round of the planned pairs in fresh workers, added to `rounds` (harness.rounds)."""
    from jacobian_harness.rounds import add_round
    from jacobian_harness.runner import time_again

    progress.started(plan, dtypes=len(dtypes), label=label, judged=False)
    for case_id, records in time_again(plan, options, dtypes, jobs, setup):
        progress.case_done(case_id, records)
        add_round(rounds, records)


def _timing_rounds(request: RunRequest, cache, plan, options, document: RunDocument, progress) -> None:
    """Rounds 2..R of --rounds: every timed pair again in fresh workers; each record keeps its per-round
    medians (wall and CPU) and pools the samples of all rounds."""
    from jacobian_harness.rounds import finish_rounds, first_round

    rounds = first_round(document)
    for number in range(2, request.rounds + 1):
        setup = request.worker_setup(cache, log=request.out_dir / WORKER_LOG)
        _time_round(plan, options, request.dtypes, request.workers, setup, rounds, f"round {number}/{request.rounds}",
                    progress)
    finish_rounds(document, rounds)
