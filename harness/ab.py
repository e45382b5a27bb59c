"""Interleaved A/B: the same pairs, alternately in two Python environments, so machine drift hits both alike.

Two separate runs are minutes apart, and a shared machine drifts between them. Here each (case, method,
dtype) is evaluated in rounds A B B A (A B B A A B B A for 8 rounds ...) on two workers, one per
environment, back to back: whatever the machine does in those seconds, it does to both sides. Each side's
samples from all its rounds are pooled into one record (with the per-round medians kept), so that the
result is two ordinary runs, judged and compared like any others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from harness.evaluate import Evaluation, Options
from harness.runner import CaseResult, run_case


def round_order(rounds: int) -> list[int]:
    """0 = A, 1 = B, in the balanced order A B B A A B B A ... (`rounds` even)."""
    return [(0, 1, 1, 0)[k % 4] for k in range(rounds)]


def pool(evaluations: list[Evaluation]) -> Evaluation:
    """One evaluation from several rounds of the same pair: the first round's record and Jacobian, the
    samples of every round (each sample is still the time of one call)."""
    first = evaluations[0]
    timed = [e for e in evaluations if e.record["status"] == "ok" and e.record.get("time")]
    if len(timed) != len(evaluations) or not timed:
        return first
    samples = [s for e in timed for s in e.record["time"]["samples_s"]]
    cpu_samples = [s for e in timed for s in e.record["time"].get("cpu_samples_s") or []]
    time = dict(first.record["time"])
    time.update(samples_s=samples, cpu_samples_s=cpu_samples if len(cpu_samples) == len(samples) else [],
                median_s=float(np.median(samples)), repeats=len(samples),
                iqr_s=float(np.subtract(*np.percentile(samples, [75, 25]))),
                round_medians_s=[e.record["time"]["median_s"] for e in timed])
    record = {**first.record, "time": time}
    if record.get("f_time_s") and time["median_s"]:
        record["ratio"] = time["median_s"] / record["f_time_s"]
    return Evaluation(record, first.jacobian, first.value, first.inputs, first.problem)


def run_case_ab(case_id: str, method_ids: list[str], options: Options, dtypes: list[str], workers: tuple,
                rounds: int, progress: Callable[[dict], None] | None = None) -> tuple[CaseResult, CaseResult]:
    """(BASE result, NEW result) of one case; workers = (base worker, new worker)."""
    order = round_order(rounds)
    pooled: list[dict] = [{}, {}]
    for dtype in dtypes:
        for method_id in method_ids:
            per_side: list[list[Evaluation]] = [[], []]
            for side in order:
                per_side[side].append(workers[side].evaluate(case_id, method_id, replace(options, dtype=dtype)))
            for side in (0, 1):
                pooled[side][(method_id, dtype)] = pool(per_side[side])
                if progress:
                    progress(pooled[side][(method_id, dtype)].record)
    results = []
    for side in (0, 1):
        def evaluate(case, method, opts, side=side):
            # Planned pairs were run in rounds above; reference-only ones run once, here.
            found = pooled[side].get((method, opts.dtype))
            return found if found is not None else workers[side].evaluate(case, method, opts)

        results.append(run_case(case_id, method_ids, options, dtypes=dtypes, evaluate=evaluate,
                                calibrate=workers[side].calibrate))
    return results[0], results[1]
