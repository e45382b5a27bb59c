"""Indexing and layout (op.*): take and gather with repeated indices, slicing, advanced indexing, concatenate,
transpose, flip, tril, where. Their Jacobians are linear maps, computed by applying the NumPy op to every basis
array (`linear_map_jacobian`). autograd defines no gradient for take, take_along_axis and flip: its
implementations index instead."""

from __future__ import annotations

import numpy as np

from jacobian_harness.casedef import case
from jacobian_harness.cases._common import away_from, diag_jacobian, diverging, linear_map_jacobian, selection


_TAKE_INDEX = np.array([3, 0, 3, 5, 1])


def _take_autograd(x, index):
    # autograd defines no gradient for take: the same selection by indexing.
    return x[index]


@case(id="op.take", tags={"op", "indexing"}, wrt=(0,),
      inputs=lambda rng: (rng.standard_normal(6), _TAKE_INDEX.copy()),
      analytic=lambda x, index: selection(index, x.size),
      divergences=diverging(["torch.compile[jacrev]"], kind="bug", versions="<2.14",
                            expected=lambda x, index: np.broadcast_to(selection(index, x.size).sum(axis=0),
                                                                      (index.size, x.size)),
                            reason="torch.compile(torch.func.jacrev(f)) with f = torch.index_select (what "
                                   "array_api_compat's take calls) returns every Jacobian row equal to the sum "
                                   "of all rows (the vmapped backward loses its batch dimension); eager jacrev is "
                                   "right. Repro (torch 2.13.0): x = torch.randn(4, dtype=torch.float64); "
                                   "torch.compile(torch.func.jacrev(lambda x: torch.index_select(x, 0, "
                                   "torch.tensor([2, 0]))))(x) -> [[1, 0, 1, 0], [1, 0, 1, 0]], expected "
                                   "[[0, 0, 1, 0], [1, 0, 0, 0]]. Fixed in 2.14.1 (found by the harness's "
                                   "own upgrade check)"),
      impls={"autograd": _take_autograd})
def take(xp, x, index):
    """take(x, index) with a repeated index (its gradient accumulates); x[index] in autograd, which defines
    no gradient for take."""
    return xp.take(x, index, axis=0)


_GATHER_INDEX = np.array([[2, 0], [1, 1], [3, 0]])


def _gather_autograd(x, index):
    # autograd defines no gradient for take_along_axis: the same gather by advanced indexing.
    return x[np.arange(x.shape[0])[:, None], index]


def _gather_torch(x, index):
    import torch

    return torch.gather(x, 1, index)


@case(id="op.gather", tags={"op", "indexing"}, wrt=(0,),
      inputs=lambda rng: (rng.standard_normal((3, 4)), _GATHER_INDEX.copy()),
      analytic=lambda x, index: linear_map_jacobian(lambda a: np.take_along_axis(a, index, axis=1), x.shape),
      impls={"autograd": _gather_autograd, "torch": _gather_torch})
def gather(xp, x, index):
    """take_along_axis(x, index, axis=1) (torch.gather in torch), with a repeated index."""
    return xp.take_along_axis(x, index, axis=1)


def _slice(a):
    return a[1:, ::2] * 1.0


@case(id="op.index-slice", tags={"op", "indexing"}, inputs=lambda rng: (rng.standard_normal((3, 4)),),
      analytic=lambda x: linear_map_jacobian(_slice, x.shape))
def index_slice(xp, x):
    """Basic slicing x[1:, ::2] (a strided view)."""
    return x[1:, ::2]


def _fancy(a):
    return a[np.array([2, 0, 2]), -1]


def _index_advanced_torch(x):
    import torch

    return x[torch.tensor([2, 0, 2]), -1]


@case(id="op.index-advanced", tags={"op", "indexing"}, inputs=lambda rng: (rng.standard_normal((3, 4)),),
      analytic=lambda x: linear_map_jacobian(_fancy, x.shape), impls={"torch": _index_advanced_torch})
def index_advanced(xp, x):
    """Advanced indexing x[[2, 0, 2], -1] with a repeated row."""
    return x[np.array([2, 0, 2]), -1]


@case(id="op.concatenate", tags={"op", "indexing"},
      inputs=lambda rng: (rng.standard_normal((2, 3)), rng.standard_normal((1, 3))),
      analytic=lambda a, b: (np.eye(9, 6).reshape(3, 3, 2, 3), np.eye(9, 3, k=-6).reshape(3, 3, 1, 3)))
def concatenate(xp, a, b):
    """concatenate((a, b), axis=0), with respect to both."""
    return xp.concatenate((a, b), axis=0)


@case(id="op.transpose", tags={"op", "indexing"}, inputs=lambda rng: (rng.standard_normal((3, 4)),),
      analytic=lambda x: linear_map_jacobian(lambda a: a.T, x.shape))
def transpose(xp, x):
    """The transpose of a 3x4 matrix (swapaxes: array_api_compat's torch transpose needs both dims)."""
    return xp.swapaxes(x, -1, -2)


def _flip_autograd(x):
    # autograd defines no gradient for flip: a reversed slice.
    return x[..., ::-1]


@case(id="op.flip", tags={"op", "indexing"}, inputs=lambda rng: (rng.standard_normal((2, 3)),),
      analytic=lambda x: linear_map_jacobian(lambda a: np.flip(a, axis=-1), x.shape),
      impls={"autograd": _flip_autograd})
def flip(xp, x):
    """flip along the last axis."""
    return xp.flip(x, axis=-1)


@case(id="op.tril", tags={"op", "indexing"}, inputs=lambda rng: (rng.standard_normal((3, 3)),),
      analytic=lambda x: linear_map_jacobian(np.tril, x.shape))
def tril(xp, x):
    """The lower triangle of a 3x3 matrix (zero gradient above the diagonal)."""
    return xp.tril(x)


def _where_inputs(rng):
    return away_from([0.25], 6)(rng)


@case(id="op.where", tags={"op", "elementwise"}, inputs=_where_inputs, row_independent=True,
      analytic=lambda x: diag_jacobian(np.where(x > 0.25, 2.0 * x, np.cos(x))))
def where(xp, x):
    """where(x > 0.25, x**2, sin(x)) at points away from the switch."""
    return xp.where(x > 0.25, x * x, xp.sin(x))
