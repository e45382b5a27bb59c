"""Numerics between two runs: how each pair's saved Jacobian moved from BASE to NEW.

A pair's values drift when the two saved Jacobians differ beyond the dtype's tolerance, even if each run
agrees with its own reference; a change within tolerance (touched) is no regression, but a sign that the
formulas behind it changed.
"""

from __future__ import annotations

import numpy as np

from jacobian_harness.comparison.document import LargestChange, Pair, ValueChange
from jacobian_harness.records import pair_key
from jacobian_harness.results import jacobian_key
from jacobian_harness.tolerances import TOLERANCES, diff

CHANGED = ("touched", "drift", "fixed")  # values of a Jacobian that is not bit for bit BASE's


def _blocks(arrays: dict, record: dict) -> list[np.ndarray] | None:
    info = record.get("jacobian")
    if not isinstance(info, dict) or not isinstance(info.get("blocks"), int):
        return None
    keys = [jacobian_key(*pair_key(record), k) for k in range(info["blocks"])]
    return [arrays[k] for k in keys] if all(k in arrays for k in keys) else None


def values(base_arrays: dict, new_arrays: dict, base: dict, new: dict) -> tuple[str | None, ValueChange | None]:
    """How a pair's Jacobian changed from BASE to NEW: ("identical" | "touched" | "drift", its change), or
    (None, None) where either side saved none. `touched`: not bit for bit the same, but within the dtype's
    tolerance: no regression, but a sign that the formulas behind it changed. `drift`: beyond tolerance."""
    got, expected = _blocks(new_arrays, new), _blocks(base_arrays, base)
    if got is None or expected is None:
        return None, None
    if len(got) == len(expected) and all(g.shape == e.shape and np.array_equal(g, e, equal_nan=True)
                                         for g, e in zip(got, expected, strict=True)):
        return "identical", None
    result = diff(got, expected, equal_nan=True, **TOLERANCES.get(new["dtype"], TOLERANCES["float64"]))
    change = ValueChange(max_abs_change=result.max_abs_err, max_rel_change=relative_change(got, expected),
                         worst_index=result.worst_index, new=result.got, base=result.expected, reason=result.reason)
    return ("touched" if result.ok else "drift"), change


def relative_change(new: list[np.ndarray], base: list[np.ndarray]) -> float | None:
    """The largest |new - base| / |base| over the finite entries of blocks of equal shape, where an entry
    that was exactly 0 counts relative to its block's largest |base| (1 if the whole block was 0): a 0 that
    became 227 is a change of the formula, which a relative error over nonzero entries alone would call 0."""
    largest = 0.0
    for n, b in zip(new, base, strict=True):
        n, b = np.asarray(n, dtype=np.float64), np.asarray(b, dtype=np.float64)
        if n.shape != b.shape:
            return None
        finite = np.isfinite(n) & np.isfinite(b)
        if not finite.any():
            continue
        scale = np.abs(b[finite]).max() or 1.0
        denominator = np.where(b[finite] != 0, np.abs(b[finite]), scale)
        with np.errstate(over="ignore"):  # a change over a subnormal base value: inf is the honest answer
            largest = max(largest, float((np.abs(n[finite] - b[finite]) / denominator).max()))
    return largest


def largest_change(pairs: list[Pair]) -> LargestChange | None:
    """The pair whose Jacobian moved most, relatively, between the runs (within tolerance or not; a fix's move
    to the reference is not numerics)."""
    moved = [(p, change) for p in pairs if (change := p["change"]) and p["values"] != "fixed"
             and np.isfinite(change["max_rel_change"] or 0.0)]
    if not moved:
        return None
    worst, change = max(moved, key=lambda moved_pair: moved_pair[1]["max_rel_change"] or 0.0)
    return LargestChange(case=worst["case"], method=worst["method"], dtype=worst["dtype"],
                         max_rel_change=change["max_rel_change"], max_abs_change=change["max_abs_change"])
