"""Timing: a wrapper around the call only, keeping every sample.

The clock brackets the call and the backend's sync (so asynchronous results are finished), nothing else.
Calls faster than `min_sample_s` are grouped into blocks of `number` calls so that the clock's own
overhead stays negligible; each sample is then the mean of one block, as timeit and
torch.utils.benchmark do.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, TypedDict
from collections.abc import Callable, Mapping

import numpy as np


class TimeRecord(TypedDict, total=False):
    """How a pair was timed: a record's `time` (Timing.as_record; pooled over rounds by pool_rounds)."""
    median_s: float | None        # median of samples_s: one warm call
    iqr_s: float | None
    repeats: int                  # len(samples_s)
    number: int                   # calls per sample (fast calls are timed in blocks)
    prepare_s: float              # preparation: tracing, compilation and the first call
    samples_s: list[float]        # wall clock, per call
    cpu_samples_s: list[float]    # the same blocks on the process's CPU clock ([] where not measured)
    round_medians_s: list[float]  # with --rounds / ab: each round's median (fresh processes)
    round_cpu_medians_s: list[float]
    confirm_round_medians_s: list[float]      # `ab`'s screen candidates: each confirmation round's median
    confirm_round_cpu_medians_s: list[float]


@dataclass(frozen=True)
class TimingPolicy:
    budget_s: float = 0.1       # keep sampling until this much time was spent ...
    min_repeats: int = 5        # ... and at least this many samples were taken
    max_repeats: int = 2_000
    warmup: int = 1             # calls after preparation, before sampling
    min_sample_s: float = 2e-4  # group faster calls into blocks of at least this long

    @property
    def takes_samples(self) -> bool:
        """False for a policy that only makes the first call (ONCE): the pair is judged, not timed."""
        return self.min_repeats > 0 or self.budget_s > 0


QUICK = TimingPolicy(budget_s=0.01, min_repeats=3, warmup=1)
DEFAULT = TimingPolicy()
ONCE = TimingPolicy(budget_s=0.0, min_repeats=0, warmup=0)


@dataclass
class Timing:
    prepare_s: float = 0.0
    number: int = 1
    samples_s: list[float] = field(default_factory=list)
    # The same blocks on the process's CPU clock: time the process spent descheduled (another job on a
    # shared machine) does not count, so `compare` tests these; samples_s is what a user waits.
    cpu_samples_s: list[float] = field(default_factory=list)

    @property
    def median_s(self) -> float | None:
        return float(np.median(self.samples_s)) if self.samples_s else None

    @property
    def iqr_s(self) -> float | None:
        if not self.samples_s:
            return None
        q1, q3 = np.percentile(self.samples_s, [25, 75])
        return float(q3 - q1)

    def as_record(self) -> TimeRecord:
        return TimeRecord(median_s=self.median_s, iqr_s=self.iqr_s, repeats=len(self.samples_s), number=self.number,
                          prepare_s=self.prepare_s, samples_s=list(self.samples_s),
                          cpu_samples_s=list(self.cpu_samples_s))


def cost_of_calls_s(time_record: Mapping[str, Any] | None, calls: int | None = None) -> float | None:
    """What `calls` Jacobians cost with one method, from its timing record: preparation (tracing,
    compilation, and the first call, as `measure` times it) plus calls - 1 warm calls. None: one warm call
    (the median), the cost when preparation is paid once for very many calls."""
    record = time_record or {}
    median = record.get("median_s")
    if not isinstance(median, (int, float)):
        return None
    if calls is None:
        return float(median)
    prepare = record.get("prepare_s")
    if not isinstance(prepare, (int, float)):
        return None
    return float(prepare) + (calls - 1) * float(median)


def _timed(call: Callable[[], Any], sync: Callable[[Any], None]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = call()
    sync(result)
    return result, time.perf_counter() - start


def measure(prepare: Callable[[], Callable[[], Any]], sync: Callable[[Any], None],
            policy: TimingPolicy) -> tuple[Any, Timing]:
    """Prepare, make the first call (compilation lands here), then sample. Returns (first result, timing)."""
    start = time.perf_counter()
    call = prepare()
    result, first_s = _timed(call, sync)
    timing = Timing(prepare_s=time.perf_counter() - start)
    for _ in range(policy.warmup):
        _, first_s = _timed(call, sync)
    timing.number = max(1, int(policy.min_sample_s / first_s)) if first_s > 0 else 1
    spent = 0.0
    while len(timing.samples_s) < policy.max_repeats and (
            len(timing.samples_s) < policy.min_repeats or spent < policy.budget_s):
        start, cpu_start = time.perf_counter(), time.process_time()
        for _ in range(timing.number):
            sync(call())
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        spent += elapsed
        # Four significant digits: 0.1% is far below run-to-run noise, and keeps results.json small.
        timing.samples_s.append(float(f"{elapsed / timing.number:.4g}"))
        timing.cpu_samples_s.append(float(f"{cpu / timing.number:.4g}"))
    return result, timing


def pool_rounds(rounds: list[dict]) -> dict:
    """One timing record from the records of several rounds (each from a fresh process): the first
    round's fields, the samples of all rounds, and each round's median on both clocks."""
    first = dict(rounds[0])
    samples = [s for r in rounds for s in r["samples_s"]]
    cpu = [s for r in rounds for s in r.get("cpu_samples_s") or []]
    q1, q3 = np.percentile(samples, [25, 75])
    wall, cpu_medians = round_medians(rounds)
    first.update(samples_s=samples, cpu_samples_s=cpu if len(cpu) == len(samples) else [],
                 median_s=float(np.median(samples)), iqr_s=float(q3 - q1), repeats=len(samples),
                 round_medians_s=wall, round_cpu_medians_s=cpu_medians)
    return first


def round_medians(rounds: list[dict]) -> tuple[list[float], list[float]]:
    """Each round's median on the wall clock and on the CPU clock (rounds that recorded it)."""
    return ([float(np.median(r["samples_s"])) for r in rounds],
            [float(np.median(r["cpu_samples_s"])) for r in rounds if r.get("cpu_samples_s")])


CALIBRATION = TimingPolicy(budget_s=0.02, min_repeats=5, warmup=1)


def _calibration_workload() -> float:
    """A fixed, framework-free mix like most pairs here: many small NumPy calls (dispatch-bound) and one
    small matmul. Its time changes with the machine (load, clock, thermal), never with the library under test."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(64)
    m = rng.standard_normal((96, 96))
    total = 0.0
    for _ in range(50):
        x = np.tanh(x * 0.5 + 0.1)
        total += float(x.sum())
    return total + float((m @ m).trace())


def calibrate(policy: TimingPolicy = CALIBRATION) -> list[float]:
    """Samples of the calibration workload, taken where the pairs run (a worker, or this process)."""
    return measure(lambda: _calibration_workload, lambda _: None, policy)[1].samples_s
