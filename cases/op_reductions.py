"""Reductions, scans and sorting along the last axis (op.*): std and var, prod, cumsum and cumprod, sort and
top-k, at ordinary points and at a constant row, zeros and ties."""

from __future__ import annotations

import numpy as np

from jacobian_harness.casedef import case
from jacobian_harness.cases._common import (FD_METHODS, diverging, normal, row_blocks, rows_nan,
                                            torch_jvp_not_differentiable, uniform)


def _std_rows(x):
    s = x.std(axis=-1, keepdims=True)
    return row_blocks((x - x.mean(axis=-1, keepdims=True)) / (x.shape[-1] * s))


@case(id="op.std", tags={"op", "reduction"}, inputs=lambda rng: (rng.standard_normal((3, 4)),),
      row_independent=True, analytic=_std_rows)
def std(xp, x):
    """Row standard deviations (population: correction 0)."""
    return xp.std(x, axis=-1)


def _std_constant_inputs(rng):
    x = rng.standard_normal((3, 4))
    x[1] = 0.75
    return (x,)


def _std_constant_jacobian(x):
    s = x.std(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        rows = np.where(s == 0, 0.0, (x - x.mean(axis=-1, keepdims=True)) / (x.shape[-1] * s))
    return row_blocks(rows)


def _constant_rows(x):
    return np.all(x == x[:, :1], axis=-1)


_STD = ("std of a constant row: jax and autograd compute (x - mean) / (n std) = 0/0 = NaN; torch's std "
        "backward and forward-mode rules mask it to 0 (a subgradient), as central differences give")


@case(id="op.std-of-constant",
      not_twice_differentiable="std = sqrt(var) has a cone point where the row is constant (var = 0)",
      tags={"op", "reduction", "kink"}, inputs=_std_constant_inputs,
      row_independent=True, analytic=_std_constant_jacobian,
      divergences=(
          diverging(["jax.jacrev", "autograd.jacobian"], reason=_STD + " (reverse mode: NaN in the row's columns)",
                    expected=rows_nan(_std_constant_jacobian, _constant_rows, "reverse"))
          + diverging(["jax.jacfwd", "jax.jit[jacfwd]"], reason=_STD + " (forward mode: NaN in the row's output)",
                      expected=rows_nan(_std_constant_jacobian, _constant_rows, "forward"))
          + diverging(["jax.jit[jacrev]"], reason=_STD + " (jit: NaN in the row's own block only)",
                      expected=rows_nan(_std_constant_jacobian, _constant_rows, "own"))
          + diverging(["tensorflow.*"], reason=_STD.replace("jax and autograd", "tensorflow")
                      + " (NaN in the row's own block only)",
                      expected=rows_nan(_std_constant_jacobian, _constant_rows, "own"))))
def std_of_constant(xp, x):
    """Row standard deviations with one constant row, where std is not differentiable (reference: the
    minimum-norm subgradient 0, which central differences also give)."""
    return xp.std(x, axis=-1)


@case(id="op.var", tags={"op", "reduction"}, inputs=lambda rng: (rng.standard_normal((3, 4)),),
      row_independent=True,
      analytic=lambda x: row_blocks(2.0 * (x - x.mean(axis=-1, keepdims=True)) / x.shape[-1]))
def var(xp, x):
    """Row variances (population: correction 0)."""
    return xp.var(x, axis=-1)


def _prod_rows(x):
    rows = np.empty_like(x)
    for j in range(x.shape[-1]):
        rows[:, j] = np.prod(np.delete(x, j, axis=-1), axis=-1)
    return row_blocks(rows)


@case(id="op.prod", tags={"op", "reduction"}, inputs=lambda rng: (rng.uniform(0.5, 1.5, (3, 4)),),
      row_independent=True, analytic=_prod_rows)
def prod(xp, x):
    """Row products."""
    return xp.prod(x, axis=-1)


def _prod_zero_inputs(rng):
    x = rng.uniform(0.5, 1.5, (3, 4))
    x[0, 1] = 0.0
    x[2, [0, 3]] = 0.0
    return (x,)


def _prod_autograd(x):
    # autograd's prod gradient is g * prod(x) / x: 0/0 = NaN at every zero entry, for every output row.
    result = _prod_rows(x)
    result[:, x == 0] = np.nan
    return result


@case(id="op.prod-with-zeros", tags={"op", "reduction", "kink"}, inputs=_prod_zero_inputs,
      row_independent=True, analytic=_prod_rows,
      divergences=diverging(["autograd.second-order*"], kind="bug", issue="HIPS/autograd#93",
                            reason="autograd's gradient of prod, g * prod(x) / x, "
                            "is NaN at a zero entry; differentiated again it stays NaN")
      + diverging(["autograd.jacobian"], kind="bug", expected=_prod_autograd,
                            reason="autograd's gradient of prod is g * prod(x) / x, 0/0 = NaN at a zero entry, "
                                   "although prod is a polynomial with a finite derivative there (the product of "
                                   "the other entries); torch and jax handle zeros. Repro: "
                                   "autograd.grad(autograd.numpy.prod)(numpy.array([0., 2.])) -> [nan, 0.] "
                                   "instead of [2., 0.]"))
def prod_with_zeros(xp, x):
    """Row products with one zero in one row and two in another (the gradient is the product of the
    other entries: nonzero where exactly one entry is 0)."""
    return xp.prod(x, axis=-1)


@case(id="op.cumsum", tags={"op", "scan"}, inputs=normal(5), row_independent=True,
      analytic=lambda x: np.tril(np.ones((x.size, x.size))))
def cumsum(xp, x):
    """Cumulative sum along the last axis."""
    return xp.cumsum(x, axis=-1)


def _cumprod_jacobian(x):
    n = x.size
    jacobian = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1):
            jacobian[i, j] = np.prod(np.delete(x[: i + 1], j))
    return jacobian


def _cumprod_autograd(x):
    # autograd defines no gradient for cumprod (NotImplementedError): the running product, unrolled.
    import autograd.numpy as anp

    columns = [x[..., 0]]
    for j in range(1, x.shape[-1]):
        columns.append(columns[-1] * x[..., j])
    return anp.stack(columns, axis=-1)


@case(id="op.cumprod", tags={"op", "scan"}, inputs=uniform(0.5, 1.5, 5), row_independent=True,
      analytic=_cumprod_jacobian, impls={"autograd": _cumprod_autograd})
def cumprod(xp, x):
    """Cumulative product along the last axis."""
    return xp.cumprod(x, axis=-1)




def _cumprod_zero_inputs(rng):
    x = rng.uniform(0.5, 1.5, 6)
    x[[1, 4]] = 0.0
    return (x,)


@case(id="op.cumprod-with-zeros", tags={"op", "scan", "kink"}, inputs=_cumprod_zero_inputs,
      row_independent=True, analytic=_cumprod_jacobian,
      divergences=torch_jvp_not_differentiable("cumprod", "pytorch/pytorch#196701", "at a zero entry the "
                                   "value is wrong (forward over forward) or NaN (reverse over forward). Repro: python "
                                   "benchmarks/repros/second_order_cumprod.py")
      + diverging(["tensorflow.*"], kind="bug",
                            reason="tf.math.cumprod's gradient divides by the input, so an entry that is 0 "
                                   "gets 0 instead of the product of the others; repro: tape.jacobian of "
                                   "tf.math.cumprod([1., 0., 2.]) has d out[2] / d x[1] = 0, not 2"),
      impls={"autograd": _cumprod_autograd})
def cumprod_with_zeros(xp, x):
    """Cumulative product with two zeros (the gradient is the product of the other entries)."""
    return xp.cumprod(x, axis=-1)



# --------------------------------------------------------------------------------------------------------
# Sorting


def _sort_jacobian(x):
    order = np.argsort(x, axis=-1, kind="stable")
    return np.eye(x.size)[order]


def _sort_split_jacobian(x):
    """Tied entries share their sorted slots evenly (what central differences see at a tie)."""
    xs = np.sort(x)
    return (xs[:, None] == x[None, :]) / (xs[:, None] == x[None, :]).sum(axis=1, keepdims=True)


def _ties(rng):
    return (np.array([0.5, -1.25, 0.5, 2.0, -1.25, 0.125]),)


@case(id="op.sort", tags={"op", "sort"}, inputs=normal(6), row_independent=True, analytic=_sort_jacobian)
def sort(xp, x):
    """sort(x) at distinct values: a permutation matrix."""
    return xp.sort(x, axis=-1)


@case(id="op.sort-ties", not_twice_differentiable="sort has a corner where two entries tie",
      tags={"op", "sort", "kink"}, inputs=_ties, row_independent=True,
      analytic=_sort_jacobian,
      divergences=diverging(FD_METHODS, reason="sort at a tie is not differentiable: central differences "
                                               "move a tied entry up or down one slot and give each tied "
                                               "slot 1/2 from each tied input; every AD framework routes "
                                               "each slot to one input (stable order)",
                            expected=_sort_split_jacobian))
def sort_ties(xp, x):
    """sort(x) with two pairs of ties (reference: the permutation of a stable sort, first index first)."""
    return xp.sort(x, axis=-1)


def _topk_jacobian(k):
    def jacobian(x):
        order = np.argsort(-x, axis=-1, kind="stable")[:k]
        return np.eye(x.size)[order]
    return jacobian


def _topk_split(k):
    def jacobian(x):
        top = -np.sort(-x)[:k]
        hits = top[:, None] == x[None, :]
        return hits / hits.sum(axis=1, keepdims=True)
    return jacobian


def _topk_generic(xp, x, k):
    return -xp.sort(-x, axis=-1)[..., :k]


def _topk_torch(x):
    import torch

    return torch.topk(x, 3, dim=-1).values


def _topk_jax(x):
    import jax

    return jax.lax.top_k(x, 3)[0]


_TOPK = {"torch": _topk_torch, "jax": _topk_jax}


@case(id="op.topk", tags={"op", "sort"}, inputs=normal(6), row_independent=True, analytic=_topk_jacobian(3),
      impls=_TOPK)
def topk(xp, x):
    """The 3 largest values (torch.topk, jax.lax.top_k; -sort(-x)[:3] in autograd and NumPy)."""
    return _topk_generic(xp, x, 3)


def _topk_tie_inputs(rng):
    return (np.array([0.5, 2.0, -1.0, 2.0, 0.5, 0.25]),)


@case(id="op.topk-ties", not_twice_differentiable="topk has a corner where two entries tie",
      tags={"op", "sort", "kink"}, inputs=_topk_tie_inputs, row_independent=True,
      analytic=_topk_jacobian(3),
      divergences=diverging(FD_METHODS, reason="top-k at a tie is not differentiable: central differences "
                                               "give each tied slot 1/2 from each tied input (the third slot "
                                               "takes one of two tied 0.5s: 1/2 each); every AD framework "
                                               "routes each slot to one input",
                            expected=_topk_split(3)),
      impls=_TOPK)
def topk_ties(xp, x):
    """The 3 largest values with tied maxima and a tie across the k-th boundary (reference: ties taken
    first index first)."""
    return _topk_generic(xp, x, 3)
