"""Tolerances, keyed by what is compared, and the elementwise comparison of Jacobian blocks.

Tolerances (elementwise, |got - expected| <= atol + rtol * |expected|), anchored in published defaults:

| compared            | rtol | atol | anchor                                                        |
| ------------------- | ---- | ---- | ------------------------------------------------------------- |
| float64 AD methods  | 1e-7 | 1e-7 | torch.testing.assert_close float64 defaults                    |
| float32 AD methods  | 1e-4 | 1e-5 | atol of assert_close float32; rtol between its 1.3e-6 (one op) |
|                     |      |      | and jax check_grads' 2e-3, since a Jacobian chains many ops    |
| finite differences  | 1e-3 | 1e-5 | torch.autograd.gradcheck (eps 1e-6, atol 1e-5, rtol 1e-3)      |

A case overrides any entry with `tolerances={"float32": {"rtol": ...}, "fd": {...}}`.
NaN and infinity patterns are compared explicitly: by default a NaN matches only a NaN at the same
place (`equal_nan=True`); a case with `equal_nan=False` treats every NaN as a disagreement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from jacobian_harness.casedef import Case

TOLERANCES = {"float64": {"rtol": 1e-7, "atol": 1e-7}, "float32": {"rtol": 1e-4, "atol": 1e-5},
              "fd": {"rtol": 1e-3, "atol": 1e-5}}


def tolerance(case: Case | None, key: str) -> dict[str, float]:
    """The tolerance table entry for `key` ("float64", "float32" or "fd"), merged with the case's override."""
    merged = dict(TOLERANCES[key])
    if case is not None:
        merged.update(case.tolerance(key))
    return merged


@dataclass
class Diff:
    ok: bool
    max_abs_err: float | None = None
    max_rel_err: float | None = None
    worst_index: list[int] | None = None
    got: float | None = None
    expected: float | None = None
    reason: str = ""


def diff(got: Sequence[np.ndarray], expected: Sequence[np.ndarray], rtol: float, atol: float,
         equal_nan: bool = True) -> Diff:
    """Compare Jacobian blocks elementwise; `worst_index` is [block, *index] of the worst element."""
    if len(got) != len(expected):
        return Diff(False, reason=f"{len(got)} Jacobian blocks, reference has {len(expected)}")
    worst: tuple[float, list[int], float, float] | None = None
    max_abs = max_rel = 0.0
    for k, (g, e) in enumerate(zip(got, expected, strict=True)):
        g, e = np.asarray(g, dtype=np.float64), np.asarray(e, dtype=np.float64)
        if g.shape != e.shape:
            return Diff(False, reason=f"block {k} has shape {g.shape}, reference has {e.shape}")
        pattern = _nonfinite_mismatch(g, e, equal_nan)
        if pattern is not None:
            index = [k, *pattern]
            return Diff(False, max_abs_err=float("nan"), worst_index=index, got=float(g[pattern]),
                        expected=float(e[pattern]), reason="NaN/inf pattern differs")
        # After the pattern check, non-finite entries match exactly: only finite ones carry an error.
        finite = np.isfinite(e)
        e = np.where(finite, e, 0.0)
        error = np.abs(np.where(finite, g, 0.0) - e)
        allowed = atol + rtol * np.abs(e)
        if error.size == 0:
            continue
        max_abs = max(max_abs, float(error.max()))
        nonzero = finite & (e != 0)
        if nonzero.any():
            with np.errstate(over="ignore"):  # an error over a subnormal reference: inf is the honest answer
                max_rel = max(max_rel, float((error[nonzero] / np.abs(e[nonzero])).max()))
        excess = error / allowed
        flat = int(np.argmax(excess))
        if worst is None or excess.flat[flat] > worst[0]:
            position = np.unravel_index(flat, error.shape)
            worst = (float(excess.flat[flat]), [k, *map(int, position)], float(g[position]), float(e[position]))
    if worst is None:
        return Diff(True, 0.0, 0.0)
    return Diff(worst[0] <= 1.0, max_abs, max_rel, worst[1], worst[2], worst[3],
                "" if worst[0] <= 1.0 else f"exceeds rtol={rtol:g}, atol={atol:g}")


def _nonfinite_mismatch(g: np.ndarray, e: np.ndarray, equal_nan: bool):
    """Index of the first element whose NaN/inf status differs (or any NaN, if not equal_nan)."""
    g_nan, e_nan = np.isnan(g), np.isnan(e)
    bad = (g_nan | e_nan) if not equal_nan else (g_nan != e_nan)
    bad |= (np.isinf(g) | np.isinf(e)) & ~(g_nan | e_nan) & (g != e)
    if bad.any():
        return tuple(int(i) for i in np.argwhere(bad)[0])
    return None
