"""`run`: evaluate, judge and time the selected (case, method) pairs into a results directory; `--resume`
finishes an interrupted run from its journal, `--rounds` times every pair again in fresh processes."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from jacobian_harness.commands.common import (EXIT_FAIL, EXIT_INTERRUPTED, EXIT_OK, Parser, UsageError,
                                     case_source_options, check_seed, check_threads, check_timeout, compile_cache,
                                     dtypes_of,
                                     load_cases, pack_options, packs_of, pair_options, pair_options_of, prepare_out,
                                     select_or_fail, worker_setup, write_run)
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
    parser.add_argument("--resume", default=None, metavar="DIR",
                        help="finish the interrupted run in DIR with its own options, reusing every pair it "
                                "finished (only --jobs, --timeout and --junit may be given with it)")


# The options that decide what a run evaluates: kept in its journal, taken from there by --resume.
RUN_SELECTION = ("cases", "methods", "dtype", "quick", "seed", "threads", "size", "shard", "case_file", "no_builtin",
                 "rounds", "pack", "samples")


def _resume(args):
    """The journal of the run to finish; args take that run's options."""
    from jacobian_harness.environment import collect
    from jacobian_harness.journal import Journal, JournalError

    defaults = Parser()
    add_arguments(defaults)
    given = [name for name in RUN_SELECTION + ("out",) if getattr(args, name) != defaults.get_default(name)]
    if given:
        raise UsageError(f"--resume takes the interrupted run's own options; leave out --{given[0].replace('_', '-')}")
    try:
        journal = Journal.open(Path(args.resume))
    except JournalError as exc:
        raise UsageError(str(exc)) from None
    options = journal.header.get("options")
    if not isinstance(options, dict) or set(options) != set(RUN_SELECTION):
        raise UsageError(f"{args.resume}: the journal's header lacks the run's options")
    versions = collect(options["threads"])["versions"]
    changed = [f"{p} {v} in the journal, {versions.get(p)} here" for p, v in journal.header.get("versions", {}).items()
               if versions.get(p) != v]
    if changed:
        raise UsageError(f"cannot resume {args.resume}: other versions now ({changed[0]}); start a new run")
    for name, value in options.items():
        setattr(args, name, value)
    args.out = args.resume
    return journal


def run(args) -> int:
    journal = _resume(args) if args.resume else None
    if args.jobs is None:
        from jacobian_harness.environment import default_jobs

        args.jobs = default_jobs()
    if args.jobs < 0:
        raise UsageError(f"--jobs must be 0 (in this process) or a number of workers, not {args.jobs}")
    check_timeout(args)
    if args.rounds < 1 or (args.rounds > 1 and args.jobs == 0):
        raise UsageError(f"--rounds must be at least 1, and more than 1 needs worker processes (--jobs 1 or "
                         f"more), not --rounds {args.rounds} with --jobs {args.jobs}")
    check_seed(args)
    check_threads(args)
    cache = compile_cache(args)
    with cache.applied():
        return _run(args, journal, cache)


def _run(args, journal, cache) -> int:
    from jacobian_harness.adapters import METHODS, load_adapters
    from jacobian_harness.document import add_case, mark_interrupted, new_document, sort_like
    from jacobian_harness.environment import now

    case_ids = load_cases(args)
    load_adapters()
    case_ids = select_or_fail(case_ids, args.cases, "cases")
    method_ids = select_or_fail(METHODS, args.methods, "methods")
    if not case_ids:
        raise UsageError("no cases to run: give --case-file, or leave out --no-builtin")
    from jacobian_harness.runner import plan_pairs

    named = args.out is not None
    if not named:
        args.out = str(_new_run_directory())
    if args.junit and not (Path(args.junit).resolve().parent.is_dir()
                           or Path(args.junit).resolve().parent == Path(args.out).resolve()):
        raise UsageError(f"--junit {args.junit}: its directory does not exist")

    plan = plan_pairs(case_ids, method_ids, _parse_shard(args.shard), named=bool(args.methods))
    if not plan:
        raise UsageError(f"--shard {args.shard} holds no case of this selection (fewer cases than shards?)")
    out = prepare_out(args.out)
    dtypes = dtypes_of(args)
    options = pair_options_of(args, dtypes[0])
    document = new_document("run", options, dtype=args.dtype, quick=args.quick, jobs=args.jobs, shard=args.shard,
                            rounds=args.rounds, cases=args.cases, methods=args.methods, case_files=args.case_file,
                            selected_methods=method_ids, packs=packs_of(args), samples=pack_options(args)["samples"],
                            skipped=_skipped_of(args))
    if journal is None:
        from jacobian_harness.journal import Journal

        if (out / "journal").exists():
            print(f"jacobian-harness: {out} holds an unfinished run; starting a new one there "
                  f"(`run --resume {out}` would have finished it)", file=sys.stderr)
        selection = {name: getattr(args, name) for name in RUN_SELECTION}
        selection["case_file"] = [str(Path(p).resolve()) for p in args.case_file]  # resumable from anywhere
        journal = Journal.start(out, {"options": selection, "versions": document["environment"]["versions"]})
        (out / WORKER_LOG).unlink(missing_ok=True)  # a new run's log; a resumed run appends to its own
    arrays: dict = {}
    started = time.perf_counter()
    from jacobian_harness.render.progress import console_progress

    try:
        with console_progress(args.verbose) as progress:
            progress.started(plan, dtypes=len(dtypes))
            for result in _case_results(args, plan, options, dtypes, journal, progress):
                progress.case_done(result.case_id, result.records)
                add_case(document, arrays, result)
            if args.rounds > 1:
                _timing_rounds(args, plan, options, dtypes, document, progress)
    except KeyboardInterrupt:
        # Cases are judged whole, so the results hold the finished cases; the journal also keeps the finished
        # pairs of the cases in flight, which `run --resume` reuses (the pairs cut off run again).
        mark_interrupted(document, len(plan), len(journal.done), f"jacobian-harness run --resume {out}")
        print(f"jacobian-harness: interrupted; writing the finished cases (`run --resume {out}` finishes "
              f"the run)", file=sys.stderr)
    sort_like(document, case_ids)  # the whole selection: a shard's cases keep their place in it
    document["environment"]["finished_at"] = now()
    document["environment"]["wall_s"] = round(time.perf_counter() - started, 3)
    document["environment"]["compile_cache"] = cache.describe()
    from jacobian_harness.cost import run_cost

    document["cost"] = run_cost(document)
    if args.resume:
        document["resumed_pairs"] = journal.reused
    from jacobian_harness.repros import write_repros

    write_repros(out, document)
    write_run(out, document, arrays)
    if not named:
        _point_latest_at(out)
    print(render_summary(document, out))
    _ci_outputs(args, document)
    if document.get("partial"):
        return EXIT_INTERRUPTED
    journal.remove()  # results.json now holds everything the journal did
    return EXIT_OK if passed(document["results"]) else EXIT_FAIL


def _skipped_of(args) -> dict[str, str]:
    """What the run's packs could not make into cases, among what --cases selects."""
    from jacobian_harness.casedef import id_matches, skipped_in

    return {case_id: reason for case_id, reason in skipped_in(packs_of(args)).items()
            if not args.cases or any(id_matches(case_id, pattern) for pattern in args.cases)}


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


def _ci_outputs(args, document: dict) -> None:
    """--junit FILE, and the job summary of GitHub Actions when $GITHUB_STEP_SUMMARY names a file."""
    from jacobian_harness.render.ci_summary import append_step_summary
    from jacobian_harness.render.junit import render_junit
    from jacobian_harness.render.run_markdown import render_markdown
    from jacobian_harness.results import atomic_write

    if args.junit:
        xml = render_junit(document)
        atomic_write(Path(args.junit), lambda handle: handle.write(xml))
    append_step_summary(render_markdown(document))


def _parse_shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise UsageError(f"--shard must look like K/N (e.g. 2/4), not {text!r}") from None
    if not 1 <= k <= n:
        raise UsageError(f"--shard {text}: K must be between 1 and N")
    return k, n


def _case_results(args, plan, options, dtypes, journal, progress):
    """CaseResults in this process (--jobs 0) or from worker subprocesses, as they finish; every evaluation
    goes through the run's journal, and is counted by `progress` (harness.render.progress) when it is done."""
    from jacobian_harness.evaluate import evaluate
    from jacobian_harness.runner import run_case, run_cases
    from jacobian_harness.timing import calibrate

    if args.jobs == 0:
        for case_id, method_ids in plan.items():
            yield run_case(case_id, method_ids, options, progress=progress.pair_done, dtypes=dtypes,
                           evaluate=journal.wrap(evaluate), calibrate=calibrate)
        return
    setup = worker_setup(args, log=Path(args.out) / WORKER_LOG)
    yield from run_cases(plan, options, dtypes, args.jobs, setup, progress=progress.pair_done, wrap=journal.wrap)


def _time_round(plan, options, dtypes, jobs: int, setup, rounds: dict, label: str, progress) -> None:
    """One more timing round of the planned pairs in fresh workers, added to `rounds` (harness.rounds)."""
    from jacobian_harness.rounds import add_round
    from jacobian_harness.runner import time_again

    progress.started(plan, dtypes=len(dtypes), label=label, judged=False)
    for case_id, records in time_again(plan, options, dtypes, jobs, setup):
        progress.case_done(case_id, records)
        add_round(rounds, records)


def _timing_rounds(args, plan, options, dtypes, document: dict, progress) -> None:
    """Rounds 2..R of --rounds: every timed pair again in fresh workers; each record keeps its per-round
    medians (wall and CPU) and pools the samples of all rounds."""
    from jacobian_harness.rounds import finish_rounds, first_round

    rounds = first_round(document)
    for number in range(2, args.rounds + 1):
        _time_round(plan, options, dtypes, args.jobs, worker_setup(args, log=Path(args.out) / WORKER_LOG), rounds,
                    f"round {number}/{args.rounds}", progress)
    finish_rounds(document, rounds)
