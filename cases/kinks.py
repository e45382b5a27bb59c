"""Points where frameworks legitimately differ: kinks, ties and singular points.

Each case fixes one convention as its analytic reference and declares every method that follows
another, with the reason and (where the value is deterministic) the value those methods must produce.
"""

from __future__ import annotations

import numpy as np

from jacobian_harness.casedef import case
from jacobian_harness.cases._common import (REVERSE_METHODS, clamp_unit_torch, diag_jacobian, diverging, row_blocks,
                                            rows_nan)

# --------------------------------------------------------------------------------------------------------
# kink.abs-at-zero


def _abs_inputs(rng):
    x = rng.standard_normal(6)
    x[[1, 4]] = 0.0
    return (x,)


@case(id="kink.abs-at-zero", not_twice_differentiable="|x| has a corner at the zero entries",
      tags={"kink", "elementwise"}, inputs=_abs_inputs, row_independent=True,
      analytic=lambda x: diag_jacobian(np.sign(x)),
      divergences=diverging(["jax.*"], reason="abs'(0): jax's derivative of abs is 1 at 0 (0 counts as "
                                              "positive); torch, autograd and central differences give 0",
                            expected=lambda x: diag_jacobian(np.where(x == 0, 1.0, np.sign(x)))))
def absolute(xp, x):
    """|x| with two entries exactly 0 (reference: abs'(0) = 0)."""
    return xp.abs(x)


# --------------------------------------------------------------------------------------------------------
# kink.clip-at-bound


def _clip_inputs(rng):
    return (np.array([-1.0, -0.375, 1.0, 0.25, 2.0, -1.75]),)


def _clip_derivative(at_bound):
    return lambda x: diag_jacobian(np.where(np.abs(x) < 1.0, 1.0, np.where(np.abs(x) == 1.0, at_bound, 0.0)))


@case(id="kink.clip-at-bound", not_twice_differentiable="clip has a corner at the entries that sit on a bound",
      tags={"kink", "elementwise"}, inputs=_clip_inputs, row_independent=True,
      analytic=_clip_derivative(0.5),
      divergences=(
          diverging(["torch.*"], reason="clamp at a bound: torch < 2.14 counts the bound as inside "
                                         "(derivative 1)",
                    expected=_clip_derivative(1.0), versions="<2.14")
          + diverging(["torch.*"], reason="clamp at a bound: torch 2.14 counts the bound as outside (derivative "
                                         "0), as autograd does; 2.13 gave 1 (found by the upgrade check)",
                      expected=_clip_derivative(0.0), versions=">=2.14")
          + diverging(["autograd.*"], reason="clip at a bound: autograd counts the bound as outside "
                                             "(derivative 0)",
                      expected=_clip_derivative(0.0))
          + diverging(["tensorflow.*"], reason="clip at a bound: tensorflow's clip_by_value counts the bound as "
                                               "inside (derivative 1), as torch < 2.14 does",
                      expected=_clip_derivative(1.0))),
      impls={"torch": clamp_unit_torch})
def clip(xp, x):
    """clip(x, -1, 1) with entries exactly at both bounds (reference: the mean of the one-sided
    derivatives, 1/2, as central differences give, and jax, whose clip is min(max(x, lo), hi) and splits
    the derivative of a tie evenly). The torch implementation is torch.clamp."""
    return xp.clip(x, -1.0, 1.0)


# --------------------------------------------------------------------------------------------------------
# kink.max-ties and kink.amax-ties

_TIES = np.array([[0.5, 0.5, -1.0],
                  [0.25, 1.5, 1.5],
                  [1.0, -0.75, 0.125],
                  [-2.0, 0.75, 0.75]])


def _max_jacobian(first_only):
    def jacobian(x):
        is_max = (x == x.max(axis=-1, keepdims=True)).astype(float)
        if first_only:
            is_max = np.eye(x.shape[-1])[np.argmax(x, axis=-1)]
        return row_blocks(is_max / is_max.sum(axis=-1, keepdims=True))
    return jacobian


def _max_ties_torch(x):
    import torch

    return torch.max(x, dim=-1).values


@case(id="kink.max-ties", not_twice_differentiable="a row maximum has a corner where two entries tie",
      tags={"kink", "reduction"}, inputs=lambda rng: (_TIES.copy(),), row_independent=True,
      analytic=_max_jacobian(first_only=False),
      divergences=diverging(["torch.*"], reason="torch.max(x, dim) sends the whole gradient to the index it "
                                                "returns (the first maximum); jax and autograd split it evenly "
                                                "between tied maxima",
                            expected=_max_jacobian(first_only=True)),
      impls={"torch": _max_ties_torch})
def max_ties(xp, x):
    """Row maxima with two-way ties (reference: the gradient split evenly between tied entries, which is
    also what central differences give for a two-way tie). The torch implementation is torch.max(x, dim)."""
    return xp.max(x, axis=-1)


@case(id="kink.amax-ties", not_twice_differentiable="a row maximum has a corner where two entries tie",
      tags={"kink", "reduction"}, inputs=lambda rng: (_TIES.copy(),), row_independent=True,
      analytic=_max_jacobian(first_only=False))
def amax_ties(xp, x):
    """Row maxima with two-way ties through each framework's amax: every backend splits the gradient evenly."""
    return xp.max(x, axis=-1)


# --------------------------------------------------------------------------------------------------------
# kink.norm-at-zero


def _norm_inputs(rng):
    x = rng.standard_normal((3, 4))
    x[1] = 0.0
    return (x,)


def _norm_jacobian(at_zero):
    def jacobian(x):
        n = np.linalg.norm(x, axis=-1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            rows = np.where(n == 0, at_zero, x / n)
        return row_blocks(rows)
    return jacobian


def _norm_nan_jacobian(pattern):
    """The reference with NaN where a method computes 0/0 for the zero row (x / ||x||): see
    _common.rows_nan for the patterns ("own": jax.jit[jacrev], whose XLA keeps the other rows' zero
    cotangents out of the zero row's 0/0)."""
    return rows_nan(_norm_jacobian(0.0), lambda x: np.linalg.norm(x, axis=-1) == 0, pattern)


_NORM_AT_ZERO = ("norm at 0: jax and autograd compute x / ||x|| = 0/0 = NaN; torch's linalg.vector_norm "
                 "backward masks it to 0 (a subgradient), as central differences give")


@case(id="kink.norm-at-zero", not_twice_differentiable="the norm has a cone point at the zero row",
      tags={"kink", "reduction"}, inputs=_norm_inputs, row_independent=True,
      analytic=_norm_jacobian(0.0),
      divergences=(
          diverging(["jax.jit[jacrev]"], reason=_NORM_AT_ZERO + " (jit: NaN in the zero row's own block "
                                                                         "only)",
                    expected=_norm_nan_jacobian("own"))
          + diverging(["jax.jacrev", "autograd.*"], reason=_NORM_AT_ZERO + " (reverse mode: NaN in the zero row's "
                                                                           "columns, for every output)",
                      expected=_norm_nan_jacobian("reverse"))
          + diverging(["jax.jacfwd", "jax.jit[jacfwd]"],
                      reason=_NORM_AT_ZERO + " (forward mode: NaN in the zero row's output, for every input)",
                      expected=_norm_nan_jacobian("forward"))))
def norm_at_zero(xp, x):
    """Row norms with one row exactly 0 (reference: the minimum-norm subgradient 0)."""
    return xp.linalg.norm(x, axis=-1)


# --------------------------------------------------------------------------------------------------------
# kink.where-sqrt


def _where_sqrt_inputs(rng):
    return (np.array([0.5, 0.0, 1.75, 0.0, 2.25]),)


def _where_sqrt_jacobian(x):
    with np.errstate(divide="ignore"):
        return diag_jacobian(np.where(x > 0, 0.5 / np.sqrt(np.where(x > 0, x, 1.0)), 0.0))


def _where_sqrt_reverse(x):
    # Reverse mode sends a zero cotangent into the unselected sqrt branch, and sqrt's backward computes
    # 0 / (2 sqrt(0)) = NaN there: every row gets NaN in the columns of the zero entries.
    jacobian = _where_sqrt_jacobian(x)
    jacobian[:, x == 0] = np.nan
    return jacobian


def _where_sqrt_numpy(x):
    # Central differences step below 0, where NumPy warns about sqrt of a negative in the unselected branch.
    with np.errstate(invalid="ignore"):
        return np.where(x > 0, np.sqrt(x), np.zeros_like(x))


@case(id="kink.where-sqrt",
      not_twice_differentiable="the selected branch sqrt(x) has an infinite derivative at the zero entries",
      tags={"kink", "elementwise"}, inputs=_where_sqrt_inputs, row_independent=True,
      analytic=_where_sqrt_jacobian,
      divergences=(
          diverging(REVERSE_METHODS,
                    reason="where(x > 0, sqrt(x), 0) at x = 0: reverse mode multiplies the zero cotangent of the "
                           "unselected branch by sqrt'(0) = inf, giving NaN in the zero entries' columns (even "
                           "off the diagonal, where f does not depend on them); forward mode selects the branch's "
                           "tangent and stays finite",
                    expected=_where_sqrt_reverse)
          + diverging(["fd.central"], reason="f is not differentiable at 0 (its right derivative is +inf): "
                                             "central differences straddle the kink and return about "
                                             "1/(2 sqrt(step)) (numdifftools' Richardson extrapolation lands "
                                             "on about 0 there, with an error estimate of about 2)")),
      impls={"fd": _where_sqrt_numpy})
def where_sqrt(xp, x):
    """where(x > 0, sqrt(x), 0) with entries exactly 0 (reference: the selected branch's derivative, 0, as
    forward mode gives)."""
    return xp.where(x > 0, xp.sqrt(x), xp.zeros_like(x))
