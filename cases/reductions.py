"""Reductions along the last axis (so that every case also maps over an extra leading axis)."""

from __future__ import annotations

import numpy as np

from jacobian_harness.casedef import case
from jacobian_harness.cases._common import normal, row_blocks


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _softmax_jacobian(x):
    s = _softmax(x)                                                # (R, C)
    r, c = x.shape
    per_row = np.einsum("rj,jl->rjl", s, np.eye(c)) - np.einsum("rj,rl->rjl", s, s)  # (R, C, C)
    return np.einsum("rk,rjl->rjkl", np.eye(r), per_row)          # (R, C, R, C)


@case(id="reduction.sum", tags={"reduction"}, inputs=normal((3, 4)), row_independent=True,
      analytic=lambda x: row_blocks(np.ones_like(x)))
def total(xp, x):
    """Row sums."""
    return xp.sum(x, axis=-1)


@case(id="reduction.mean-square", tags={"reduction"}, inputs=normal((3, 4)), row_independent=True,
      analytic=lambda x: row_blocks(2.0 * x / x.shape[-1]))
def mean_square(xp, x):
    """Row means of x**2."""
    return xp.mean(x * x, axis=-1)


@case(id="reduction.logsumexp", tags={"reduction"}, inputs=normal((3, 5)), row_independent=True,
      analytic=lambda x: row_blocks(_softmax(x)))
def logsumexp(xp, x):
    """Row-wise log(sum(exp(x))), shifted by the row maximum for stability (written portably)."""
    shift = xp.max(x, axis=-1, keepdims=True)
    return shift[..., 0] + xp.log(xp.sum(xp.exp(x - shift), axis=-1))


@case(id="reduction.softmax", tags={"reduction"}, inputs=normal((2, 5)), row_independent=True,
      analytic=_softmax_jacobian)
def softmax(xp, x):
    """Row-wise softmax (written portably)."""
    e = xp.exp(x - xp.max(x, axis=-1, keepdims=True))
    return e / xp.sum(e, axis=-1, keepdims=True)


@case(id="reduction.norm", tags={"reduction"}, inputs=normal((3, 4)), row_independent=True,
      analytic=lambda x: row_blocks(x / np.linalg.norm(x, axis=-1, keepdims=True)))
def norm(xp, x):
    """Row-wise Euclidean norm (each framework's own linalg.norm) at a random point."""
    return xp.linalg.norm(x, axis=-1)
