"""Interleaved A/B: the same pairs in two Python environments, pair by pair, in rounds of fresh processes.

Two separate runs are minutes apart, and a shared machine drifts between them; worse, a pair's speed differs
from one process to another (memory layout, the code a compiler picked), which samples inside one process
cannot show. So every round starts a fresh worker per side, and each case runs on A's and on B's back to
back (harness.runner.ab_round: A B or B A alternately), so that drift hits both sides alike. First comes a
whole run of each side (verdicts, Jacobians), interleaved case by case; then the timing rounds, interleaved
pair by pair (a few milliseconds apart), whose per-round medians are the pairs' timings; then the pairs those
rounds screened as candidates are timed again in more rounds (`finish_confirmation` keeps them beside the
screen's, harness.comparison.confirm judges them). Each side becomes
an ordinary `run --rounds` result with one `ab_id`, and `compare` tests the per-round log ratios.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from jacobian_harness.records import pair_key
from jacobian_harness.timing import pool_rounds, round_medians


def first_round(document: Mapping[str, Any]) -> dict[tuple, list[dict]]:
    """key -> [the timing of the first round] for every timed record of a run."""
    return {pair_key(r): [dict(r["time"])] for r in document["results"]
            if (r.get("time") or {}).get("samples_s")}


def timed_pairs(document: dict) -> dict[tuple, list[dict]]:
    """key -> no timings yet, for every timed record of a whole run (`ab` times them in later rounds only)."""
    return {key: [] for key in first_round(document)}


def add_round(rounds: dict[tuple, list[dict]], records: Iterable[dict]) -> None:
    """The timings of another round's records, for the pairs timed in the first round."""
    for record in records:
        key = pair_key(record)
        if key in rounds and (record.get("time") or {}).get("samples_s"):
            rounds[key].append(record["time"])


def finish_rounds(document: Mapping[str, Any], rounds: dict[tuple, list[dict]]) -> None:
    """Each timed record of the run gets the pooled timing of its rounds (harness.timing.pool_rounds)."""
    for record in document["results"]:
        key = pair_key(record)
        if rounds.get(key):  # a pair that failed in every round keeps the timing it has
            record["time"] = pool_rounds(rounds[key])


def finish_confirmation(document: Mapping[str, Any], rounds: dict[tuple, list[dict]]) -> None:
    """Each record timed again (`ab`'s candidates) gets its confirmation rounds' medians beside the screen's
    (harness.comparison.confirm judges it on them)."""
    for record in document["results"]:
        timings = rounds.get(pair_key(record))
        if timings and record.get("time"):
            wall, cpu = round_medians(timings)
            record["time"].update(confirm_round_medians_s=wall, confirm_round_cpu_medians_s=cpu)
