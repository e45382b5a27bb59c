"""The in-process runner: select (case, method) pairs, evaluate them, judge each case against its reference.

Selection and judging are separate from evaluation (`harness.evaluate.evaluate`), so another runner
(a worker subprocess, another Python environment, one shard of a CI matrix) only has to produce
Evaluations.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field, replace
from collections.abc import Callable, Collection, Iterable, Iterator

import numpy as np

from jacobian_harness.adapters.base import METHODS
from jacobian_harness.casedef import CASES, id_matches
from jacobian_harness.verdicts import choose_reference, verdict
from jacobian_harness.evaluate import Evaluation, Options, evaluate
from jacobian_harness.records import Record, quantity_of
from jacobian_harness.timing import ONCE


class SelectionError(Exception):
    """A pattern matched nothing; the message names it."""


def select(names: Iterable[str], patterns: list[str] | None, what: str) -> list[str]:
    """Names matching any of the shell-style patterns (all names if none), in their registry order; a
    pattern that is a name matches it exactly (casedef.id_matches)."""
    names = list(names)
    if not patterns:
        return names
    for pattern in patterns:
        if not any(id_matches(n, pattern) for n in names):
            raise SelectionError(f"--{what} pattern {pattern!r} matches no {what[:-1]} "
                                 f"(`jacobian-harness list` shows them)")
    return [n for n in names if any(id_matches(n, p) for p in patterns)]


def f_time_key(method, dtype: str) -> tuple:
    """Methods with equal keys time the same f the same way (eager, jitted, compiled)."""
    return method.backend, method.baseline, dtype


def share_f_time(record: Record, key: tuple, f_times: dict[tuple, float]) -> None:
    """Remember the first f time of a key; give it, and the J/f ratio, to later records of that key."""
    if key not in f_times:
        if record["f_time_s"]:
            f_times[key] = record["f_time_s"]
        return
    if record["status"] == "ok":
        record["f_time_s"] = f_times[key]
        median = (record["time"] or {}).get("median_s")
        record["ratio"] = median / f_times[key] if median else None


@dataclass
class CaseResult:
    case_id: str
    records: list[Record]
    jacobians: dict[tuple[str, str], list[np.ndarray]] = field(default_factory=dict)  # (method, dtype) -> blocks
    reference: list[np.ndarray] | None = None
    inputs: tuple[np.ndarray, ...] = ()
    out_shape: tuple[int, ...] | None = None
    calibration_s: list[float] = field(default_factory=list)  # the calibration workload, timed before the case


Evaluator = Callable[[str, str, Options], Evaluation]


def run_case(case_id: str, method_ids: list[str], options: Options,
             progress: Callable[[Record], None] | None = None, dtypes: list[str] | None = None,
             evaluate: Evaluator = evaluate, calibrate: Callable[[], list[float]] | None = None) -> CaseResult:
    """Evaluate the methods on one case in each dtype (default: options.dtype), add reference-only
    evaluations, and give every record a verdict against the one float64 reference. `evaluate` is
    harness.evaluate.evaluate (in this process) or a worker's (in a subprocess); `calibrate`, if given,
    times the calibration workload in the same place first (see harness.timing.calibrate)."""
    case = CASES[case_id]
    timed = case.timed and options.timing.takes_samples  # a run with --no-timing times nothing
    calibration = calibrate() if calibrate is not None and timed else []  # an untimed case needs none
    method_ids = [m for m in method_ids if METHODS[m].order == case.order]
    evaluations = []
    f_times: dict[tuple, float] = {}  # f timed once per (backend, how the method runs f, dtype)
    for dtype in dtypes or [options.dtype]:
        for method_id in method_ids:
            key = f_time_key(METHODS[method_id], dtype)
            given = replace(options, dtype=dtype, time_f=key not in f_times)
            if not timed:
                given = replace(given, timing=ONCE, time_f=False)
            evaluation = evaluate(case_id, method_id, given)
            share_f_time(evaluation.record, key, f_times)
            evaluations.append(evaluation)
            if progress:
                progress(evaluation.record)
    # The reference is always judged in float64, from every reference method, whatever the run selected
    # (those the case runs, less its opt-in ones: those run only when --methods names them).
    # Second-order checks get their own reference, evaluated only where the run selected one of them.
    float64 = {e.record["method"]: e for e in evaluations if e.record["dtype"] == "float64"}
    once = replace(options, dtype="float64", timing=ONCE)
    quantities = {METHODS[m].quantity for m in method_ids}
    for method_id, method in METHODS.items():
        if (method.reference and method.order == case.order and method_id not in float64
                and method.quantity in quantities | {"jacobian"} and case.runs(method_id)):
            float64[method_id] = evaluate(case_id, method_id, once)

    def probe(method_id: str, move: float):
        moved = evaluate(case_id, method_id, replace(once, moved=move))
        return moved.jacobian if moved.ok else None

    reference = choose_reference(case, list(float64.values()), probe)
    references = {"jacobian": reference, "projection": reference}
    if "second-order" in quantities:
        references["second-order"] = choose_reference(case, list(float64.values()), probe, quantity="second-order")
    records = [verdict(case, e, references[quantity_of(e.record)]) for e in evaluations]
    inputs = next((e.inputs for e in float64.values() if e.inputs), ())
    jacobians = {(e.record["method"], e.record["dtype"]): e.jacobian for e in evaluations if e.jacobian is not None}
    out_shape = next((tuple(e.value.shape) for e in float64.values() if e.value is not None), None)
    return CaseResult(case_id, records, jacobians, reference.blocks, inputs, out_shape, calibration)


# Shard balancing counts an untimed pair (an opinfo sample's moved twin: verdict only) as 1, a timed pair as
# TIMED_PAIR_WEIGHT (measured on the opinfo pack, 2.15.0: 0.19 s a timed pair, 0.05 s an untimed one), and a
# case's own cost (inputs, references, calibration) as CASE_OVERHEAD_PAIRS untimed pairs.
TIMED_PAIR_WEIGHT = 3
CASE_OVERHEAD_PAIRS = 4


def plan_pairs(case_ids: list[str], method_ids: list[str],
               shard: tuple[int, int] | None = None, named: bool = False) -> dict[str, list[str]]:
    """case -> its methods (those of the case's order that it runs, Case.runs; `named`: the run's --methods
    named them, which adds a case's opt-in methods). With shard (K, N), only the cases of the K-th of N
    shards (`shard_cases`), each with all its methods."""
    plan: dict[str, list[str]] = {}
    for case_id in case_ids:
        methods = [m for m in method_ids if METHODS[m].order == CASES[case_id].order and CASES[case_id].runs(m, named)]
        if methods:
            plan[case_id] = methods
    if shard is not None:
        k, n = shard
        weights = {case_id: len(methods) * (TIMED_PAIR_WEIGHT if CASES[case_id].timed else 1)
                   for case_id, methods in plan.items()}
        mine = set(shard_cases(weights, n)[k - 1])
        plan = {case_id: methods for case_id, methods in plan.items() if case_id in mine}
    return plan


def shard_cases(weights: dict[str, int], n: int) -> list[list[str]]:
    """Split whole cases into n shards of about equal work (`weights`: a case's pairs, weighted as above): a
    case's references (finite differences, jax...) and its inputs are made once per case, so a shard that
    held some of every case's pairs would make nearly all of them again. Heaviest cases first, each to the
    lightest shard so far (the lowest-numbered on a tie): deterministic for one selection, so that the n
    parts of a job matrix cover each case exactly once."""
    shards: list[list[str]] = [[] for _ in range(n)]
    load = [0] * n
    order = sorted(weights, key=lambda case_id: -weights[case_id])  # stable: registry order on ties
    for case_id in order:
        k = min(range(n), key=lambda j: (load[j], j))
        shards[k].append(case_id)
        load[k] += weights[case_id] + CASE_OVERHEAD_PAIRS
    return shards


def _whole_case(worker, case_id: str, plan, options: Options, dtypes: list[str], progress=None,
                wrap: Callable[[Evaluator], Evaluator] = lambda evaluate: evaluate) -> CaseResult:
    return run_case(case_id, plan[case_id], options, progress, dtypes, evaluate=wrap(worker.evaluate),
                    calibrate=worker.calibrate)


def _timed_pairs(case_id: str, plan, dtypes: list[str]) -> list[tuple[str, str]]:
    return [(dtype, method_id) for dtype in dtypes for method_id in plan[case_id]]  # a whole run's order


def _time_pair(worker, case_id: str, method_id: str, dtype: str, options: Options) -> dict:
    """A timing record only: no reference, verdict or f timing."""
    return worker.evaluate(case_id, method_id, replace(options, dtype=dtype, time_f=False)).record


def run_cases(plan: dict[str, list[str]], options: Options, dtypes: list[str], jobs: int,
              setup, progress: Callable[[dict], None] | None = None,
              wrap: Callable[[Evaluator], Evaluator] = lambda evaluate: evaluate) -> Iterator[CaseResult]:
    """Run each case's planned methods on `jobs` worker subprocesses (one case at a time each) and yield
    each CaseResult as it finishes. `setup` is a harness.worker.WorkerSetup; `wrap` wraps each worker's
    evaluate (the run's journal does). On exit (also by Ctrl-C) the workers are killed."""
    def job(case_id, workers):
        return _whole_case(workers[0], case_id, plan, options, dtypes, progress, wrap)

    return _pooled(list(plan), jobs, (setup,), job)


def time_again(plan: dict[str, list[str]], options: Options, dtypes: list[str], jobs: int,
               setup) -> Iterator[tuple[str, list[dict]]]:
    """Another timing round of the planned pairs in fresh worker processes: (case id, records) per case,
    with no reference, verdict or f timing. A pair's speed differs from one process to another (memory
    layout, which code a compiler picked), so that rounds in fresh processes show how much."""
    def job(case_id, workers):
        return case_id, [_time_pair(workers[0], case_id, method_id, dtype, options)
                         for dtype, method_id in _timed_pairs(case_id, plan, dtypes)]

    return _pooled(list(plan), jobs, (setup,), job)


def side_order(case_index: int, round_number: int) -> tuple[int, int]:
    """Which side of an A/B round runs a case first: A B and B A alternately over cases and over rounds, so
    that neither side is always the one that runs right after the other (a warmer cache, a cooler CPU)."""
    return (0, 1) if (case_index + round_number) % 2 == 0 else (1, 0)


def ab_round(plan: dict[str, list[str]], options: Options, dtypes: list[str], jobs: int, setups: tuple,
             round_number: int, whole: bool, progress: Callable[[dict], None] | None = None,
             only: Collection[tuple[str, str, str]] | None = None) -> Iterator[tuple[str, list]]:
    """One round of both sides of an A/B (setups = (A, B)) in fresh workers, interleaved: each case (in a
    `whole` round: verdicts, Jacobians) or each pair (in a timing round) runs on A's worker and on B's back to
    back (`side_order`), so that whatever the machine does meanwhile (another job starting, a slower
    minute) hits both sides alike. Yields (case id, [A's, B's]): CaseResults when `whole`, else timing
    records; `progress` is given each record of a `whole` round as it is evaluated; a timing round times the
    pairs (case, method, dtype) in `only` where given (`ab`'s confirmation of its candidates)."""
    index = {case_id: k for k, case_id in enumerate(plan)}

    def job(case_id, workers):
        if whole:
            results = [None, None]
            for side in side_order(index[case_id], round_number):
                results[side] = _whole_case(workers[side], case_id, plan, options, dtypes, progress)
            return case_id, results
        # Timing rounds go pair by pair: the machine's state (another job on the other core) lasts seconds,
        # so two timings a few milliseconds apart see the same machine.
        results = [[], []]
        timed = [(dtype, method_id) for dtype, method_id in _timed_pairs(case_id, plan, dtypes)
                 if only is None or (case_id, method_id, dtype) in only]
        for k, (dtype, method_id) in enumerate(timed):
            for side in side_order(index[case_id] + k, round_number):
                results[side].append(_time_pair(workers[side], case_id, method_id, dtype, options))
        return case_id, results

    return _pooled(list(plan), jobs, setups, job)


def _pooled(items: list, jobs: int, setups: tuple, job: Callable) -> Iterator:
    """job(item, workers) for every item on `jobs` sets of fresh workers (one worker per setup in a set), one
    item at a time each; results as they finish. An exception in a job is raised here; on exit the workers
    are killed."""
    from jacobian_harness.worker import Worker

    todo: queue.Queue = queue.Queue()
    for item in items:
        todo.put(item)
    done: queue.Queue = queue.Queue()
    teams = [tuple(Worker(setup) for setup in setups) for _ in range(max(1, jobs))]
    stop = threading.Event()

    def serve(team) -> None:
        while not stop.is_set():
            try:
                item = todo.get_nowait()
            except queue.Empty:
                return
            try:
                done.put(job(item, team))
            except BaseException as exc:  # handed to the caller's thread, which re-raises it
                done.put(exc)
                return

    threads = [threading.Thread(target=serve, args=(team,), daemon=True) for team in teams]
    for thread in threads:
        thread.start()
    try:
        for _ in items:
            result = done.get()
            if isinstance(result, BaseException):
                raise result
            yield result
    finally:
        stop.set()
        for worker in (w for team in teams for w in team):
            worker.close()
