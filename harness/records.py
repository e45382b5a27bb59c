"""The record of one evaluated (case, method, dtype) pair: its fields, its key, the verdict vocabulary, and
the questions every view asks of a list of records.

A record is a plain dict (it is written to results.json as it is), typed here as `Record` so that its
fields are listed in one place. `harness.evaluate` creates it (`new_record`); the comparator
(`harness.verdicts.verdict`) fills in the verdict and errors; the run document (`harness.document`) adds the
Jacobian's npz key. Nothing else adds fields.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict, TypeVar

from jacobian_harness.timing import TimeRecord, cost_of_calls_s

# Every status a record can end with, in the order reports list them.
VERDICTS = ("agree", "expected-divergence", "disagree", "unexpected-agree", "error", "crash", "timeout",
            "unsupported", "unavailable", "skipped")
# A run with any of these fails (exit 1).
FAILING = frozenset({"disagree", "unexpected-agree", "error", "crash", "timeout"})
# The method did not run on the case: reports list these apart (and JUnit skips them).
NOT_RUN = frozenset({"unsupported", "unavailable", "skipped"})
# Modes whose results are not a method to recommend: finite differences agree only within their looser
# tolerance, and a check returns a projection of the Jacobian, not the Jacobian.
NOT_RECOMMENDED_MODES = ("fd", "check")


class Record(TypedDict, total=False):
    """One (case, method, dtype) pair of a run."""
    # Set when the pair is evaluated (new_record, harness.evaluate)
    case: str
    method: str
    backend: str
    mode: str                     # the method's mode, from the method registry
    quantity: str                 # what it returns: jacobian, projection or second-order (harness.adapters.base)
    dtype: str                    # float64 or float32
    size: str | dict[str, Any]    # the case's size preset (or a sweep point)
    status: str                   # "ok" until judged, then one of VERDICTS
    message: str                  # why (empty when agree)
    backend_version: str | None
    time: TimeRecord | None
    f_time_s: float | None        # median time of f itself, run the way the method runs it
    ratio: float | None           # time.median_s / f_time_s
    wall_s: float                 # everything the pair cost in its worker (inputs, f, preparation, samples)
    warnings: list[str]           # what the framework warned about (at most 5)
    traceback: str                # for status "error"
    f_time_note: str              # why there is no J/f ratio
    memory_estimate: int          # estimated peak bytes (with --max-memory)
    chunk_size: int               # run in chunks of this many rows/columns to fit --max-memory
    note: str
    sample_digest: str            # a generated pack's sample digest, as the evaluating process made it
    # Set by the comparator (harness.verdicts.verdict)
    max_abs_err: float | None
    max_rel_err: float | None
    worst_index: list[int] | None  # [block, *index] of the worst element
    worst: dict[str, Any] | None   # {got, expected} there
    reference: str                # how the reference was chosen
    declaration: str              # the declared divergence that explains an expected-divergence (its describe())
    # Set by the run document (harness.document.add_case)
    jacobian: dict[str, Any]      # {key: npz key prefix, blocks: how many}
    # Set by harness.repros.write_repros: the standalone repro of a failing pair, relative to the run's directory
    repro: str


FIELDS = tuple(Record.__annotations__)

PairKey = tuple[str, str, str]
R = TypeVar("R", bound=Mapping[str, Any])  # a record, typed (Record) or as read from a document


def new_record(case_id: str, method_id: str, *, backend: str, mode: str, quantity: str, dtype: str, size,
               backend_version: str | None) -> Record:
    return Record(case=case_id, method=method_id, backend=backend, mode=mode, quantity=quantity, dtype=dtype, size=size,
                  status="ok", message="", backend_version=backend_version, time=None, f_time_s=None, ratio=None)


def pair_key(record: Record | Mapping[str, Any]) -> PairKey:
    """(case, method, dtype): what identifies a pair within a run and across runs (of a record, a journal
    entry or a comparison's pair)."""
    return record["case"], record["method"], record["dtype"]


def median_s(record: Mapping[str, Any]) -> float | None:
    value = (record.get("time") or {}).get("median_s")
    return value if isinstance(value, (int, float)) else None


def quantity_of(record: Mapping[str, Any]) -> str:
    """What the record's method returns; documents written before second-order checks have no `quantity`:
    there a check (mode "check") returned a projection, every other method a Jacobian."""
    return record.get("quantity") or ("projection" if record.get("mode") == "check" else "jacobian")


def summary_counts(records: Sequence[Mapping[str, Any]]) -> Counter:
    return Counter(r["status"] for r in records)


def passed(records: Sequence[Mapping[str, Any]]) -> bool:
    return not any(r["status"] in FAILING for r in records)


def headline(document: Mapping[str, Any]) -> str:
    """PASS, FAIL or INTERRUPTED: a run report's first word."""
    if document.get("partial"):
        return "INTERRUPTED"
    return "PASS" if passed(document["results"]) else "FAIL"


def recommendable(record: Mapping[str, Any]) -> bool:
    """An agreeing Jacobian method that may be recommended (finite differences may not), timed or not."""
    return (record["status"] == "agree" and record.get("mode") not in NOT_RECOMMENDED_MODES
            and quantity_of(record) == "jacobian")


def agreeing_ad(record: Mapping[str, Any], calls: int | None = None) -> bool:
    """An agreeing method that may be recommended, with a timing for `calls` calls."""
    return recommendable(record) and cost_of_calls_s(record.get("time"), calls) is not None


def no_fastest(records: Sequence[Mapping[str, Any]]) -> str:
    """The 'fastest agreeing method' cell of a row (its records) that has none: its agreeing methods were
    not timed (--no-timing, an untimed case), or none agrees."""
    return "(not timed)" if any(recommendable(r) for r in records) else "(none agrees)"


def row_key(records: Sequence[Mapping[str, Any]]):
    """A report row is a case, or a (case, dtype) when the run has several dtypes."""
    if len({r.get("dtype") for r in records}) > 1:
        return lambda r: f"{r['case']} ({r['dtype']})"
    return lambda r: r["case"]


def fastest_agreeing(records: Sequence[R], calls: int | None = None) -> dict[str, R]:
    """Per report row, the agreeing AD method that computes `calls` Jacobians soonest, preparation
    included (harness.timing.cost_of_calls_s); calls None: the smallest median (warm) time."""
    key = row_key(records)
    best: dict[str, tuple[float, R]] = {}
    for r in records:
        cost = cost_of_calls_s(r.get("time"), calls) if agreeing_ad(r, calls) else None
        if cost is not None and (key(r) not in best or cost < best[key(r)][0]):
            best[key(r)] = cost, r
    return {row: r for row, (_, r) in best.items()}
