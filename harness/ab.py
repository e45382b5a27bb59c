"""Interleaved A/B: the same pairs in two Python environments, case by case, in rounds of fresh processes.

Two separate runs are minutes apart, and a shared machine drifts between them; worse, a pair's speed differs
from one process to another (memory layout, the code a compiler picked), which samples inside one process
cannot show. So every round starts a fresh worker per side, and each case runs on A's and on B's back to
back (harness.runner.ab_round: A B or B A alternately), seconds apart, so that drift hits both sides alike.
The first round is a whole run of each side (verdicts, Jacobians), the later ones time the pairs again. Each
side becomes an ordinary `run --rounds` result, and `compare` tests the per-round medians.
"""

from __future__ import annotations

from collections.abc import Iterable

from harness.timing import pool_rounds


def first_round(document: dict) -> dict[tuple, list[dict]]:
    """key -> [the timing of the first round] for every timed record of a run."""
    return {(r["case"], r["method"], r["dtype"]): [dict(r["time"])] for r in document["results"]
            if (r.get("time") or {}).get("samples_s")}


def add_round(rounds: dict[tuple, list[dict]], records: Iterable[dict]) -> None:
    """The timings of another round's records, for the pairs timed in the first round."""
    for record in records:
        key = (record["case"], record["method"], record["dtype"])
        if key in rounds and (record.get("time") or {}).get("samples_s"):
            rounds[key].append(record["time"])


def finish_rounds(document: dict, rounds: dict[tuple, list[dict]]) -> None:
    """Each timed record of the run gets the pooled timing of its rounds (harness.timing.pool_rounds)."""
    for record in document["results"]:
        key = (record["case"], record["method"], record["dtype"])
        if key in rounds:
            record["time"] = pool_rounds(rounds[key])
