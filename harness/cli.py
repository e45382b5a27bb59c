"""Command line: `list`, `run`, `report`. Bad usage or input: one line on stderr and exit 2."""

from __future__ import annotations

import argparse
import math
import json
import os
import secrets
import sys
import time
from pathlib import Path

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad usage or input; the message says what was wrong."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, as for every other bad input
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="jacobian-harness", description="Check and time every Jacobian method of PyTorch, "
                     "JAX, HIPS autograd and finite differences on a library of cases.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    listing = commands.add_parser("list", help="cases and methods, with availability")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.add_argument("--check", action="store_true", help="import every framework to confirm that it loads "
                         "(slow: about a minute for all of them); without it, a framework is listed as installed "
                         "when its package is found")
    _case_source_options(listing)

    run = commands.add_parser("run", help="evaluate, compare and time (case, method) pairs")
    _case_source_options(run)
    _pair_options(run)
    run.add_argument("--out", default=None, metavar="DIR",
                     help="where results.json, jacobians.npz and report.md go (default: a new reports/runs/TIMESTAMP, "
                          f"with {LATEST} pointing at the newest, so that no run overwrites another)")
    run.add_argument("--jobs", type=int, default=None, metavar="N",
                     help="worker subprocesses, one case each at a time; 0 runs everything in this process "
                          "(no crash or hang isolation); 1 gives the quietest timings (default: one per CPU, "
                          "at most one per 2 GiB of free memory)")
    run.add_argument("--shard", default=None, metavar="K/N",
                     help="run only the K-th of N deterministic parts of the (case, method) pairs; "
                          "`jacobian-harness merge` joins the parts")
    run.add_argument("--junit", default=None, metavar="FILE",
                     help="also write JUnit XML: one test per (case, method, dtype)")
    run.add_argument("--rounds", type=int, default=1, metavar="R",
                     help="time every pair again in R-1 more rounds, each in fresh worker processes, so that "
                          "`compare` can test per-round medians: how fast a pair runs varies from one process "
                          "to the next, which samples inside one process cannot show (default: %(default)s)")
    run.add_argument("--resume", default=None, metavar="DIR",
                     help="finish the interrupted run in DIR with its own options, reusing every pair it "
                          "finished (only --jobs, --timeout and --junit may be given with it)")

    ab = commands.add_parser("ab", help="interleaved A/B: the same pairs alternately in two Python environments, "
                             "then compared (exit as `compare`)")
    _case_source_options(ab)
    _pair_options(ab)
    ab.add_argument("--base-python", required=True, metavar="PYTHON", help="interpreter of the BASE environment")
    ab.add_argument("--new-python", required=True, metavar="PYTHON", help="interpreter of the NEW environment")
    ab.add_argument("--rounds", type=int, default=8, help="timing rounds in all, half a side (even, at least 4; "
                    "default: %(default)s), after one whole run of each side; each round times every pair on a "
                    "fresh worker of each side, back to back, A B or B A alternately")
    ab.add_argument("--jobs", type=int, default=1, metavar="N", help="workers per round (default: %(default)s)")
    ab.add_argument("--out", default="reports/ab", metavar="DIR",
                    help="DIR/base, DIR/new (two runs) and DIR/compare (default: %(default)s)")
    ab.add_argument("--library", default="torch", help="the package under test (default: %(default)s)")

    sweep = commands.add_parser("sweep", help="time every method over a grid of sizes of a case family")
    sweep.add_argument("family", metavar="FAMILY", help="a sweep family id (`jacobian-harness list` shows them)")
    sweep.add_argument("--methods", action="append", metavar="PATTERN", help="shell-style glob on method ids")
    sweep.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    sweep.add_argument("--out", default="reports/sweep", metavar="DIR", help="default: %(default)s")
    sweep.add_argument("--quick", action="store_true", help="a smaller grid and a short timing budget")
    sweep.add_argument("--threads", type=int, default=1, help="intra-op threads (default: 1)")

    compare = commands.add_parser("compare", help="what changed from BASE to NEW: verdicts, values, speed "
                                  "(exit 1 on a regression or drift)")
    compare.add_argument("base", metavar="BASE", help="a results directory (or its results.json)")
    compare.add_argument("new", metavar="NEW", help="a results directory (or its results.json)")
    compare.add_argument("--out", default="reports/compare", metavar="DIR", help="default: %(default)s")
    compare.add_argument("--min-effect", type=float, default=0.10, metavar="FRACTION",
                         help="smallest slowdown or speed-up called a change (default: %(default)s)")
    compare.add_argument("--alpha", type=float, default=0.01, help="significance level of the rank test "
                         "(default: %(default)s)")
    compare.add_argument("--library", default="torch",
                         help="the package under test, whose versions may differ without a warning "
                              "(default: %(default)s)")

    merge = commands.add_parser("merge", help="join the results of `run --shard` parts into one run")
    merge.add_argument("parts", nargs="+", metavar="DIR", help="result directories of the parts")
    merge.add_argument("--out", required=True, metavar="DIR", help="where the merged run goes")
    merge.add_argument("--allow-different-machines", action="store_true",
                       help="accept parts run on different CPUs (CI runners of one job matrix often are): "
                            "verdicts and values still compare, speed is then not judged")

    report = commands.add_parser("report", help="render report.md again from a results directory")
    report.add_argument("results", metavar="DIR", help="a results directory or its results.json")
    return parser


def _pair_options(parser):
    """What to evaluate and how to time it: shared by `run` and `ab`."""
    parser.add_argument("--cases", action="append", metavar="PATTERN", help="shell-style glob on case ids (repeatable)")
    parser.add_argument("--methods", action="append", metavar="PATTERN",
                        help="shell-style glob on method ids, e.g. 'torch.func.*' (repeatable)")
    parser.add_argument("--dtype", choices=("float64", "float32", "both"), default="float64",
                        help="float32 results are judged against the float64 reference (default: %(default)s)")
    parser.add_argument("--quick", action="store_true", help="short timing budget (3 samples or 10 ms per pair; "
                        "default: 5 samples or 100 ms)")
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads for every framework (default: 1)")
    parser.add_argument("--seed", type=int, default=None, help="override every case's input seed")
    parser.add_argument("--size", choices=("small", "medium", "large"), default="small",
                        help="size preset of the cases that have them (default: %(default)s)")
    parser.add_argument("--max-memory", default=None, metavar="SIZE",
                        help="skip a pair whose estimated peak memory is larger (e.g. 4G), or run it in chunks "
                             "where the method can (default: half the free memory, shared by the workers)")
    parser.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS",
                        help="kill a worker whose (case, method) pair has run this long and used this much CPU "
                             "time, so that a busy machine does not count against it (a pair waiting without CPU: "
                             "after twice this); the pair becomes `timeout` (default: %(default)s)")



def _case_source_options(parser):
    parser.add_argument("--case-file", action="append", default=[], metavar="FILE",
                        help="a Python file of @case definitions (repeatable)")
    parser.add_argument("--no-builtin", action="store_true", help="leave out the built-in case library")


def main(argv: list[str] | None = None) -> int:
    args = None
    try:
        args = build_parser().parse_args(argv)
        return {"list": cmd_list, "run": cmd_run, "sweep": cmd_sweep, "report": cmd_report,
                "compare": cmd_compare, "merge": cmd_merge, "ab": cmd_ab}[args.command](args)
    except UsageError as exc:
        print(f"jacobian-harness: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        from harness.adapters.base import PluginError

        if not isinstance(exc, PluginError):
            raise
        print(f"jacobian-harness: error: {exc}", file=sys.stderr)  # an installed plugin, not our input
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("jacobian-harness: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `jacobian-harness list | head`: the reader left (a run's files are written by then)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
        return EXIT_OK if args is not None and args.command == "list" else EXIT_FAIL


def _load_cases(args) -> list[str]:
    from harness.casedef import CASES, CaseError, load_case_file, load_library

    try:
        if not args.no_builtin:
            load_library()
        for path in args.case_file:
            load_case_file(path)
    except CaseError as exc:
        raise UsageError(str(exc)) from None
    if args.no_builtin:
        return [case_id for case_id, case in CASES.items() if case.source != "library"]
    return list(CASES)


def cmd_list(args) -> int:
    from harness.adapters import BACKENDS, METHODS, load_adapters
    from harness.casedef import CASES

    case_ids = _load_cases(args)
    load_adapters()
    backends = {}
    for name, backend in BACKENDS.items():
        if args.check:
            available, reason = backend.availability()
        else:
            available = backend.installed()
            reason = "" if available else f"{name}: no module named {backend.import_name!r} is installed"
        backends[name] = {"available": available, "version": backend.version() if available else None,
                          "reason": reason, "checked": bool(args.check)}
    methods = [{"id": m.id, "backend": m.backend, "mode": m.mode, "order": m.order,
                "available": backends[m.backend]["available"],
                "dtypes": list(m.dtypes), "doc": m.doc} for m in METHODS.values()]
    cases = [_case_summary(CASES[c]) for c in case_ids]
    from harness.sweep import FAMILIES, load_families

    load_families()
    families = [{"id": f.id, "description": f.case.description, "grid": list(f.grid)} for f in FAMILIES.values()]
    if args.json:
        print(json.dumps({"backends": backends, "methods": methods, "cases": cases, "families": families},
                         indent=1))
        return EXIT_OK
    print("Backends:" if args.check else "Backends (installed: found, not imported; `list --check` imports them):")
    for name, info in backends.items():
        found = "available" if args.check else "installed"
        state = f"{found} ({info['version']})" if info["available"] else f"UNAVAILABLE: {info['reason']}"
        print(f"  {name:10} {state}")
    print(f"\nMethods ({len(methods)}):")
    for m in methods:
        mark = "" if m["available"] else "  [unavailable]"
        print(f"  {m['id']:50} {m['mode']:21} {m['doc']}{mark}")
    print(f"\nCases ({len(cases)}):")
    for c in cases:
        print(f"  {c['id']:28} {','.join(c['tags']):22} {c['description']}")
    print(f"\nSweep families ({len(families)}):")
    for f in families:
        print(f"  {f['id']:28} {len(f['grid'])} points  {f['description']}")
    return EXIT_OK


def _case_summary(case) -> dict:
    return {"id": case.id, "description": case.description, "tags": sorted(case.tags), "source": case.source,
            "row_independent": case.row_independent, "per_sample": case.per_sample, "order": case.order,
            "sizes": case.sizes,
            "analytic": case.analytic is not None,
            "divergences": [{"methods": d.methods, "kind": d.kind, "reason": d.reason, "issue": d.issue,
                             "versions": d.versions} for d in case.divergences]}


def _prepare_out(path: str) -> Path:
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {path}: cannot create directory: {exc.strerror}") from None
    if not os.access(out, os.W_OK):
        raise UsageError(f"--out {path}: directory is not writable")
    return out


def _check_threads(args) -> None:
    from harness.environment import limit_threads

    if args.threads < 1:
        raise UsageError(f"--threads must be at least 1, not {args.threads}")
    limit_threads(args.threads)  # before any framework is imported


# The options that decide what a run evaluates: kept in its journal, taken from there by --resume.
RUN_SELECTION = ("cases", "methods", "dtype", "quick", "seed", "threads", "size", "shard", "case_file", "no_builtin",
                 "rounds")


def _resume(args):
    """The journal of the run to finish; args take that run's options."""
    from harness.environment import collect
    from harness.journal import Journal, JournalError

    defaults = build_parser().parse_args(["run"])
    given = [name for name in RUN_SELECTION + ("out",) if getattr(args, name) != getattr(defaults, name)]
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


def cmd_run(args) -> int:
    journal = _resume(args) if args.resume else None
    if args.jobs is None:
        from harness.environment import default_jobs

        args.jobs = default_jobs()
    if args.jobs < 0:
        raise UsageError(f"--jobs must be 0 (in this process) or a number of workers, not {args.jobs}")
    if not args.timeout > 0:
        raise UsageError(f"--timeout must be a positive number of seconds, not {args.timeout:g}")
    if args.rounds < 1 or (args.rounds > 1 and args.jobs == 0):
        raise UsageError(f"--rounds must be at least 1, and more than 1 needs worker processes (--jobs 1 or "
                         f"more), not --rounds {args.rounds} with --jobs {args.jobs}")
    from harness.environment import now

    if args.seed is not None and args.seed < 0:
        raise UsageError(f"--seed must be a non-negative integer, not {args.seed}")
    _check_threads(args)
    from harness.adapters import METHODS, load_adapters
    from harness.evaluate import Options
    from harness.runner import SelectionError, select
    from harness.timing import DEFAULT, QUICK

    case_ids = _load_cases(args)
    load_adapters()
    try:
        case_ids = select(case_ids, args.cases, "cases")
        method_ids = select(METHODS, args.methods, "methods")
    except SelectionError as exc:
        raise UsageError(str(exc)) from None
    if not case_ids:
        raise UsageError("no cases to run: give --case-file, or leave out --no-builtin")
    from harness.runner import plan_pairs

    named = args.out is not None
    if not named:
        args.out = str(_new_run_directory())
    if args.junit and not (Path(args.junit).resolve().parent.is_dir()
                           or Path(args.junit).resolve().parent == Path(args.out).resolve()):
        raise UsageError(f"--junit {args.junit}: its directory does not exist")

    plan = plan_pairs(case_ids, method_ids, _parse_shard(args.shard))
    if not plan:
        raise UsageError(f"--shard {args.shard} holds no (case, method) pair of this selection")
    out = _prepare_out(args.out)
    dtypes = ["float64", "float32"] if args.dtype == "both" else [args.dtype]
    options = Options(dtype=dtypes[0], timing=QUICK if args.quick else DEFAULT, threads=args.threads,
                      seed=args.seed, size=args.size, max_memory=_max_memory(args))
    document = _new_document(args, options, case_ids, method_ids)
    if journal is None:
        from harness.journal import Journal

        if (out / "journal").exists():
            print(f"jacobian-harness: {out} holds an unfinished run; starting a new one there "
                  f"(`run --resume {out}` would have finished it)", file=sys.stderr)
        selection = {name: getattr(args, name) for name in RUN_SELECTION}
        selection["case_file"] = [str(Path(p).resolve()) for p in args.case_file]  # resumable from anywhere
        journal = Journal.start(out, {"options": selection, "versions": document["environment"]["versions"]})
        (out / WORKER_LOG).unlink(missing_ok=True)  # a new run's log; a resumed run appends to its own
    arrays: dict = {}
    started = time.perf_counter()
    try:
        for result in _case_results(args, plan, options, dtypes, journal):
            _add_case(document, arrays, result)
        if args.rounds > 1:
            _timing_rounds(args, plan, options, dtypes, document)
    except KeyboardInterrupt:
        document["partial"] = True
        # Cases are judged whole, so the results hold the finished cases; the journal also keeps the finished
        # pairs of the cases in flight, which `run --resume` reuses (the pairs cut off run again).
        document["interrupted"] = {"cases_finished": len(document["cases"]), "cases_planned": len(plan),
                                   "evaluations_journaled": len(journal.done), "resume": f"jacobian-harness run "
                                                                                          f"--resume {out}"}
        print(f"jacobian-harness: interrupted; writing the finished cases (`run --resume {out}` finishes "
              f"the run)", file=sys.stderr)
    _sort_like(document, list(plan))
    document["environment"]["finished_at"] = now()
    document["environment"]["wall_s"] = round(time.perf_counter() - started, 3)
    if args.resume:
        document["resumed_pairs"] = journal.reused
    _write_run(out, document, arrays)
    if not named:
        _point_latest_at(out)
    _print_summary(document, out)
    _ci_outputs(args, document, out)
    if document.get("partial"):
        return 130
    journal.remove()  # results.json now holds everything the journal did
    from harness.report import passed

    return EXIT_OK if passed(document["results"]) else EXIT_FAIL


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


def _max_memory(args) -> int | None:
    from harness.memory import default_max_memory, parse_size

    if args.max_memory is None:
        return default_max_memory(getattr(args, "jobs", 1)) or None
    try:
        size = parse_size(args.max_memory)
    except ValueError as exc:
        raise UsageError(f"--max-memory: {exc}") from None
    if size <= 0:
        raise UsageError(f"--max-memory must be positive, not {args.max_memory!r}")
    return size


def _ci_outputs(args, document: dict, out: Path) -> None:
    """--junit FILE, and the job summary of GitHub Actions when $GITHUB_STEP_SUMMARY names a file."""
    from harness.report import render_junit, render_markdown, step_summary
    from harness.results import atomic_write

    if getattr(args, "junit", None):
        xml = render_junit(document)
        atomic_write(Path(args.junit), lambda handle: handle.write(xml))
    _append_step_summary(step_summary(render_markdown(document)))


def _append_step_summary(text: str) -> None:
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(text + "\n")


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


def _case_results(args, plan, options, dtypes, journal):
    """CaseResults in this process (--jobs 0) or from worker subprocesses, each printed when it is done;
    every evaluation goes through the run's journal."""
    from harness.evaluate import evaluate
    from harness.runner import run_case, run_cases
    from harness.timing import calibrate

    if args.jobs == 0:
        for number, (case_id, method_ids) in enumerate(plan.items(), 1):
            print(f"[{number}/{len(plan)}] {case_id}", file=sys.stderr, flush=True)
            yield run_case(case_id, method_ids, options, progress=_progress, dtypes=dtypes,
                           evaluate=journal.wrap(evaluate), calibrate=calibrate)
        return
    setup = _worker_setup(args, log=Path(args.out) / WORKER_LOG)
    for number, result in enumerate(run_cases(plan, options, dtypes, args.jobs, setup, wrap=journal.wrap), 1):
        print(f"[{number}/{len(plan)}] {result.case_id}", file=sys.stderr, flush=True)
        for record in result.records:
            _progress(record)
        yield result


WORKER_LOG = "workers.log"  # under --out: what the workers printed on stderr


def _worker_setup(args, python: str | None = None, log: Path | None = None):
    from harness.worker import WorkerSetup

    return WorkerSetup(builtin=not args.no_builtin, case_files=tuple(str(Path(p).resolve()) for p in args.case_file),
                       threads=args.threads, timeout_s=args.timeout, python=python or sys.executable,
                       log=None if log is None else str(log))


def _time_round(plan, options, dtypes, jobs: int, setup, rounds: dict, label: str) -> None:
    """One more timing round of the planned pairs in fresh workers, added to `rounds` (harness.ab)."""
    from harness.ab import add_round
    from harness.runner import time_again

    for count, (case_id, records) in enumerate(time_again(plan, options, dtypes, jobs, setup), 1):
        print(f"[{label}: {count}/{len(plan)}] {case_id}", file=sys.stderr, flush=True)
        add_round(rounds, records)


def _timing_rounds(args, plan, options, dtypes, document: dict) -> None:
    """Rounds 2..R of --rounds: every timed pair again in fresh workers; each record keeps its per-round
    medians (wall and CPU) and pools the samples of all rounds."""
    from harness.ab import finish_rounds, first_round

    rounds = first_round(document)
    for number in range(2, args.rounds + 1):
        _time_round(plan, options, dtypes, args.jobs, _worker_setup(args, log=Path(args.out) / WORKER_LOG), rounds,
                    f"round {number}/{args.rounds}")
    finish_rounds(document, rounds)


def _sort_like(document: dict, case_ids: list[str]) -> None:
    """Cases finish in any order on several workers; results keep the library's order."""
    order = {case_id: k for k, case_id in enumerate(case_ids)}
    document["cases"] = dict(sorted(document["cases"].items(), key=lambda item: order[item[0]]))
    document["results"].sort(key=lambda r: order[r["case"]])


def _new_document(args, options, case_ids, method_ids) -> dict:
    from harness.environment import collect
    from harness.results import KIND, SCHEMA_VERSION

    return {"schema_version": SCHEMA_VERSION, "kind": KIND, "environment": collect(options.threads),
            "options": {"dtype": args.dtype, "quick": args.quick, "seed": options.seed, "threads": options.threads,
                        "jobs": getattr(args, "jobs", 0), "shard": getattr(args, "shard", None),
                        "size": options.size, "max_memory": options.max_memory,
                        "rounds": getattr(args, "rounds", 1),
                        "timing": vars(options.timing), "cases": args.cases, "methods": args.methods,
                        "case_files": args.case_file, "selected_methods": method_ids},
            "cases": {}, "results": []}


def _add_case(document: dict, arrays: dict, result) -> None:
    from harness.casedef import CASES
    from harness.results import jacobian_key

    case = CASES[result.case_id]
    summary = _case_summary(case)
    summary["input_shapes"] = [list(a.shape) for a in result.inputs]
    summary["wrt"] = list(case.wrt_indices(result.inputs)) if result.inputs else None
    summary["output_shape"] = list(result.out_shape) if result.out_shape is not None else None
    # The sizes the forward/reverse rule is stated in (full Jacobians of first order only).
    full = case.order == 1 and not case.per_sample and summary["wrt"] is not None and result.out_shape is not None
    summary["n_in"] = sum(math.prod(summary["input_shapes"][i]) for i in summary["wrt"]) if full else None
    summary["n_out"] = math.prod(result.out_shape) if full else None
    summary["calibration_s"] = result.calibration_s
    summary["seed"] = case.seed if document["options"].get("seed") is None else document["options"]["seed"]
    document["cases"][case.id] = summary
    for record in result.records:
        blocks = result.jacobians.get((record["method"], record["dtype"]))
        if blocks is not None:
            record["jacobian"] = {"key": jacobian_key(case.id, record["method"], record["dtype"], None),
                                  "blocks": len(blocks)}
            for k, block in enumerate(blocks):
                arrays[jacobian_key(case.id, record["method"], record["dtype"], k)] = block
        document["results"].append(record)
    for k, block in enumerate(result.reference or []):
        arrays[jacobian_key(case.id, "reference", "float64", k)] = block


def _write_run(out: Path, document: dict, arrays: dict, text: str | None = None) -> None:
    from harness.html import write_run_html
    from harness.report import render_markdown
    from harness.results import atomic_write, write_arrays, write_json

    write_arrays(out / "jacobians.npz", arrays)
    write_json(out / "results.json", document)
    text = render_markdown(document) if text is None else text
    atomic_write(out / "report.md", lambda handle: handle.write(text.encode()))
    write_run_html(document, out)


def cmd_sweep(args) -> int:
    _check_threads(args)
    from harness.adapters import METHODS, load_adapters
    from harness.environment import now
    from harness.evaluate import Options
    from harness.runner import SelectionError, run_case, select
    from harness.sweep import FAMILIES, load_families, plot, point_cases, render_markdown, rule_lines
    from harness.timing import DEFAULT, QUICK

    load_families()
    load_adapters()
    if args.family not in FAMILIES:
        raise UsageError(f"unknown sweep family {args.family!r} (known: {', '.join(FAMILIES) or 'none'})")
    try:
        method_ids = select([m for m, spec in METHODS.items() if spec.order == FAMILIES[args.family].case.order],
                            args.methods, "methods")
    except SelectionError as exc:
        raise UsageError(str(exc)) from None
    out = _prepare_out(args.out)
    args.cases, args.case_file, args.seed = [args.family], [], None
    points = point_cases(FAMILIES[args.family], args.quick)
    options = Options(dtype=args.dtype, timing=QUICK if args.quick else DEFAULT, threads=args.threads)
    document = _new_document(args, Options(dtype=args.dtype, timing=options.timing, threads=args.threads,
                                           size="sweep"), [], method_ids)
    document["options"]["sweep"] = {"family": args.family, "grid": [p for _, p in points]}
    arrays: dict = {}
    for number, (case_id, point) in enumerate(points, 1):
        print(f"[{number}/{len(points)}] {case_id}", file=sys.stderr, flush=True)
        result = run_case(case_id, method_ids, Options(dtype=args.dtype, timing=options.timing,
                                                       threads=args.threads, size=point), progress=_progress)
        _add_case(document, arrays, result)
    document["environment"]["finished_at"] = now()
    has_plot = plot(document["results"], out / "sweep.png", f"{args.family}: median time vs size")
    text = render_markdown(document["results"], args.family, has_plot)
    _write_run(out, document, arrays, text)
    for line in rule_lines(document["results"]):
        print(line[2:])
    written = ", ".join(str(out / n) for n in ("results.json", "report.md") + (("sweep.png",) if has_plot else ()))
    print(f"Wrote {written}" + ("" if has_plot else " (install matplotlib for sweep.png)"))
    from harness.report import passed

    return EXIT_OK if passed(document["results"]) else EXIT_FAIL


def _progress(record: dict) -> None:
    median = (record.get("time") or {}).get("median_s")
    from harness.report import format_seconds

    detail = format_seconds(median) if median is not None else record["message"][:90]
    print(f"    {record['method']:50} {record['status']:12} {detail}", file=sys.stderr, flush=True)


def _print_summary(document: dict, out: Path) -> None:
    from harness.compare import FAILING, VERDICTS
    from harness.report import fastest_agreeing, format_seconds, headline, row_key, summary_counts
    from harness.timing import cost_of_calls_s

    records = document["results"]
    counts = summary_counts(records)
    print("\nVerdicts: " + ", ".join(f"{counts[v]} {v}" for v in VERDICTS if counts[v]))
    best, once = fastest_agreeing(records), fastest_agreeing(records, calls=1)
    key = row_key(records)
    cases = list(dict.fromkeys(key(r) for r in records))
    width = max([len(c) for c in cases] + [4])
    print(f"\n{'case':{width}}  {'fastest agreeing method':46} {'median':>10} {'J/f':>8}  "
          f"{'fastest for one call, preparation included':46}  failures")
    for case_id in cases:
        failures = [r["method"] for r in records if key(r) == case_id and r["status"] in FAILING]
        b, first = best.get(case_id), once.get(case_id)
        name = b["method"] if b else "(none agrees)"
        median = format_seconds(b["time"]["median_s"]) if b else ""
        ratio = f"{b['ratio']:.3g}" if b and isinstance(b.get("ratio"), (int, float)) else ""
        one = f"{first['method']} {format_seconds(cost_of_calls_s(first['time'], 1))}" if first else ""
        print(f"{case_id:{width}}  {name:46} {median:>10} {ratio:>8}  {one:46}  {', '.join(failures)}".rstrip())
    for r in records:
        if r["status"] in FAILING:
            print(f"\n{r['status'].upper()}: {r['case']} / {r['method']}: {r['message']}")
    print(f"\nWrote {out / 'results.json'}, {out / 'jacobians.npz'}, {out / 'report.md'}")
    log = out / WORKER_LOG
    if log.is_file() and log.stat().st_size:
        print(f"What the workers printed (framework start-up notices, warnings): {log}")
    interrupted = document.get("interrupted")
    if interrupted:
        print(f"INTERRUPTED: {interrupted['cases_finished']} of {interrupted['cases_planned']} cases finished; "
              f"{interrupted['evaluations_journaled']} evaluations kept in the journal: "
              f"`{interrupted['resume']}` finishes the run")
    else:
        failing = sum(counts[v] for v in FAILING)
        print(f"{headline(document)}: {failing} failing of {len(records)} (case, method) pairs")


def cmd_report(args) -> int:
    from harness.report import render_markdown
    from harness.results import ResultsError, atomic_write, load_results

    try:
        document = load_results(args.results)
    except ResultsError as exc:
        raise UsageError(str(exc)) from None
    text = render_markdown(document)
    target = Path(args.results)
    target = target if target.is_dir() else target.parent
    atomic_write(target / "report.md", lambda handle: handle.write(text.encode()))
    from harness.html import write_run_html

    write_run_html(document, target)
    print(text)
    return EXIT_OK


def cmd_compare(args) -> int:
    from harness.changes import Settings, compare_runs
    from harness.report import render_comparison
    from harness.results import ResultsError, atomic_write, load_jacobians, load_results, write_json

    if not 0 <= args.min_effect < 10:
        raise UsageError(f"--min-effect must be a fraction such as 0.1, not {args.min_effect:g}")
    if not 0 < args.alpha < 1:
        raise UsageError(f"--alpha must be between 0 and 1, not {args.alpha:g}")
    sides = []
    for path in (args.base, args.new):
        try:
            document = load_results(path)
            directory = Path(path) if Path(path).is_dir() else Path(path).parent
            sides.append((document, load_jacobians(directory), directory))
        except ResultsError as exc:
            raise UsageError(str(exc)) from None
    out = _prepare_out(args.out)
    (base, base_arrays, base_dir), (new, new_arrays, new_dir) = sides
    comparison = compare_runs(base, new, base_arrays, new_arrays,
                              Settings(min_effect=args.min_effect, alpha=args.alpha, library=args.library),
                              base_label=str(base_dir), new_label=str(new_dir))
    text = render_comparison(comparison)
    write_json(out / "compare.json", comparison)
    atomic_write(out / "compare.md", lambda handle: handle.write(text.encode()))
    from harness.html import write_compare_html

    write_compare_html(comparison, out)
    summary = comparison["summary"]
    from harness.report import step_summary

    _append_step_summary(step_summary(text))
    print(text.split("\n## ", 1)[0].rstrip())
    print(f"\nWrote {out / 'compare.json'}, {out / 'compare.md'}, {out / 'compare.html'}")
    return EXIT_FAIL if summary["failed"] else EXIT_OK


MACHINE_WARNINGS = ("environment cpu ", "environment cpu_count ")


def cmd_merge(args) -> int:
    from harness.changes import environment_warnings
    from harness.report import passed, render_markdown, step_summary
    from harness.results import ResultsError, load_jacobians, load_results

    parts = []
    for path in args.parts:
        try:
            directory = Path(path) if Path(path).is_dir() else Path(path).parent
            parts.append((path, load_results(path), load_jacobians(directory)))
        except ResultsError as exc:
            raise UsageError(str(exc)) from None
    first_path, first, _ = parts[0]
    for path, document, _ in parts[1:]:
        # Shards of one run share everything but their shard: any other difference is two different runs.
        differences = [d for d in environment_warnings(first, document, library="")
                       if not (args.allow_different_machines and d.startswith(MACHINE_WARNINGS))]
        differences += [f"run option {name} differs" for name in ("dtype", "selected_methods", "case_files")
                        if first["options"].get(name) != document["options"].get(name)]
        if differences:
            raise UsageError(f"{path} is not a part of the same run as {first_path}: {differences[0]}")
    merged = {key: value for key, value in first.items() if key not in ("cases", "results")}
    merged["environment"] = dict(first["environment"])
    merged["options"] = {**first["options"], "shard": None, "merged_from": [p for p, _, _ in parts]}
    machines = sorted({str(document["environment"].get("cpu")) for _, document, _ in parts})
    if len(machines) > 1:  # their speeds are not comparable: `compare` says so and judges no speed
        merged["environment"].update(cpu=f"{len(machines)} machines", machines=machines)
    merged["cases"], merged["results"], arrays, seen = {}, [], {}, set()
    for path, document, part_arrays in parts:
        for record in document["results"]:
            key = (record["case"], record["method"], record["dtype"])
            if key in seen:
                raise UsageError(f"{path}: pair {' '.join(key)} is also in another part (the same shard twice?)")
            seen.add(key)
            merged["results"].append(record)
        merged["cases"].update(document["cases"])
        arrays.update(part_arrays)
        merged["partial"] = merged.get("partial", False) or bool(document.get("partial"))
        for name, pick in (("started_at", min), ("finished_at", max)):
            values = [v for v in (merged["environment"].get(name), document["environment"].get(name)) if v]
            merged["environment"][name] = pick(values) if values else None
    # The order of one unsharded run: cases as first seen, methods as selected, float64 before float32.
    cases = {case_id: k for k, case_id in enumerate(merged["cases"])}
    methods = {method_id: k for k, method_id in enumerate(first["options"].get("selected_methods") or [])}
    merged["results"].sort(key=lambda r: (cases.get(r["case"], len(cases)), r["dtype"] != "float64",
                                          methods.get(r["method"], len(methods))))
    out = _prepare_out(args.out)
    _write_run(out, merged, arrays)
    _print_summary(merged, out)
    _append_step_summary(step_summary(render_markdown(merged)))
    return EXIT_OK if passed(merged["results"]) else EXIT_FAIL


def cmd_ab(args) -> int:
    from harness.ab import add_round, finish_rounds, timed_pairs
    from harness.adapters import METHODS, load_adapters
    from harness.evaluate import Options
    from harness.runner import SelectionError, ab_round, plan_pairs, select
    from harness.timing import DEFAULT, QUICK
    from harness.worker import Worker

    if args.rounds < 4 or args.rounds % 2:
        raise UsageError(f"--rounds must be an even number of at least 4 (two fresh processes a side), "
                         f"not {args.rounds}")
    for name in ("base_python", "new_python"):
        path = getattr(args, name)
        if not (Path(path).is_file() and os.access(path, os.X_OK)):
            raise UsageError(f"--{name.replace('_', '-')} {path}: not an executable file")
    if not args.timeout > 0:
        raise UsageError(f"--timeout must be a positive number of seconds, not {args.timeout:g}")
    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, not {args.jobs}")
    _check_threads(args)
    case_ids = _load_cases(args)
    load_adapters()
    try:
        plan = plan_pairs(select(case_ids, args.cases, "cases"), select(METHODS, args.methods, "methods"))
    except SelectionError as exc:
        raise UsageError(str(exc)) from None
    if not plan:
        raise UsageError("no (case, method) pairs to run")
    dtypes = ["float64", "float32"] if args.dtype == "both" else [args.dtype]
    options = Options(dtype=dtypes[0], timing=QUICK if args.quick else DEFAULT, threads=args.threads,
                      seed=args.seed, size=args.size, max_memory=_max_memory(args))
    out = _prepare_out(args.out)
    setups = [_worker_setup(args, python, log=out / f"workers-{name}.log")
              for python, name in ((args.base_python, "base"), (args.new_python, "new"))]
    args.shard = None
    documents, arrays, rounds = [], [{}, {}], [None, None]
    ab_id = secrets.token_hex(8)  # marks the two sides of this A/B, whose rounds `compare` pairs
    for setup in setups:
        with Worker(setup) as worker:
            environment = worker.environment()
        if not environment:
            raise UsageError(f"{setup.python} cannot run harness.worker: is jacobian-harness installed there?")
        document = _new_document(args, options, list(plan), sorted({m for ms in plan.values() for m in ms}))
        document["environment"] = environment
        document["options"].update(rounds=args.rounds // 2, ab_rounds=args.rounds, ab_id=ab_id)
        documents.append(document)
    try:
        # Round 0 is the whole run of each side (verdicts, Jacobians), interleaved case by case; its timings
        # are not rounds: the timing rounds after it interleave pair by pair, which pairs them much more
        # tightly (measured here: per-round case scores of an A/A spread 19% in the whole run, 2.4% after).
        for number in range(args.rounds // 2 + 1):
            label = f"round {number}/{args.rounds // 2}" if number else "whole run"
            rounds_done = enumerate(ab_round(plan, options, dtypes, args.jobs, tuple(setups), number, not number), 1)
            for count, (case_id, results) in rounds_done:
                print(f"[{label} A+B: {count}/{len(plan)}] {case_id}", file=sys.stderr, flush=True)
                for side, result in enumerate(results):
                    if number:
                        add_round(rounds[side], result)
                    else:
                        _add_case(documents[side], arrays[side], result)
            if not number:
                rounds = [timed_pairs(document) for document in documents]
    except KeyboardInterrupt:
        for document in documents:
            document["partial"] = True
    for side, name in enumerate(("base", "new")):
        _sort_like(documents[side], list(plan))
        if rounds[side]:
            finish_rounds(documents[side], rounds[side])
        _prepare_out(str(out / name))
        _write_run(out / name, documents[side], arrays[side])
    return main(["compare", str(out / "base"), str(out / "new"), "--out", str(out / "compare"),
                 "--library", args.library])


if __name__ == "__main__":
    sys.exit(main())
