"""Smooth elementwise functions (log1p, expm1, erf, softplus, logaddexp, hypot) and sqrt at 0, where its
derivative is infinite (op.*). erf and softplus run as each framework's own function, named in `impls`."""

from __future__ import annotations

import numpy as np

from jacobian_harness.casedef import case
from jacobian_harness.cases._common import (FD_METHODS, REVERSE_METHODS, TORCH_FORWARD, diag_jacobian, diverging,
                                            nan_where_singular, normal, sigmoid, uniform)


@case(id="op.log1p", tags={"op", "elementwise"}, inputs=uniform(-0.9, 2.0, 6), row_independent=True,
      analytic=lambda x: diag_jacobian(1.0 / (1.0 + x)))
def log1p(xp, x):
    """log1p(x) on x > -1."""
    return xp.log1p(x)


@case(id="op.expm1", tags={"op", "elementwise"}, inputs=normal(6), row_independent=True,
      analytic=lambda x: diag_jacobian(np.exp(x)))
def expm1(xp, x):
    """expm1(x)."""
    return xp.expm1(x)


@case(id="op.erf", tags={"op", "elementwise"}, inputs=normal(6), row_independent=True,
      analytic=lambda x: diag_jacobian(2.0 / np.sqrt(np.pi) * np.exp(-x * x)),
      impls={"torch": "torch.erf", "jax": "jax.scipy.special.erf", "autograd": "autograd.scipy.special.erf",
             "tensorflow": "tensorflow.math.erf"})
def erf(xp, x):
    """erf(x): scipy.special.erf in NumPy (the array namespaces have no erf), each framework's own erf."""
    from scipy.special import erf as scipy_erf

    return scipy_erf(x)


@case(id="op.softplus", tags={"op", "elementwise"}, inputs=normal(6), row_independent=True,
      analytic=lambda x: diag_jacobian(sigmoid(x)),
      impls={"torch": "torch.nn.functional.softplus", "jax": "jax.nn.softplus"})
def softplus(xp, x):
    """softplus(x) = log(1 + exp(x)): torch.nn.functional.softplus, jax.nn.softplus, logaddexp(x, 0) else."""
    return xp.logaddexp(x, xp.zeros_like(x))


@case(id="op.logaddexp", tags={"op", "elementwise"}, inputs=lambda rng: (rng.standard_normal(5),
                                                                          rng.standard_normal(5)),
      row_independent=True,
      analytic=lambda x, y: (diag_jacobian(sigmoid(x - y)), diag_jacobian(sigmoid(y - x))))
def logaddexp(xp, x, y):
    """logaddexp(x, y), with respect to both."""
    return xp.logaddexp(x, y)


@case(id="op.hypot", tags={"op", "elementwise"}, inputs=lambda rng: (rng.standard_normal(5),
                                                                      rng.standard_normal(5)),
      row_independent=True,
      analytic=lambda x, y: (diag_jacobian(x / np.hypot(x, y)), diag_jacobian(y / np.hypot(x, y))))
def hypot(xp, x, y):
    """hypot(x, y), with respect to both."""
    return xp.hypot(x, y)


def _sqrt_zero_inputs(rng):
    return (np.array([0.0, 1.5, 0.25, 0.0]),)


def _sqrt_jacobian(x):
    return diag_jacobian(np.where(x == 0, np.inf, 0.5 / np.sqrt(np.where(x == 0, 1.0, x))))


_SQRT = ("sqrt'(0) = +inf, and off the diagonal the exact derivative is 0, but AD multiplies the structural zero "
         "by inf there (jax.jit keeps 0: XLA drops the product)")


def _sqrt_at_zero_numpy(x):
    # Central differences step below 0, where NumPy warns about sqrt of a negative.
    with np.errstate(invalid="ignore"):
        return np.sqrt(x)


@case(id="op.sqrt-at-zero", not_twice_differentiable="sqrt's derivative is infinite at the zero entries",
      tags={"op", "elementwise", "kink"}, inputs=_sqrt_zero_inputs,
      row_independent=True,
      analytic=_sqrt_jacobian,
      divergences=(
          diverging([m for m in REVERSE_METHODS if m != "jax.jit[jacrev]"],
                    reason=_SQRT + "; reverse mode: NaN in the zero entries' columns",
                    expected=nan_where_singular(_sqrt_jacobian, lambda x: x == 0, "reverse"))
          + diverging([*TORCH_FORWARD, "jax.jacfwd"], reason=_SQRT + "; forward mode: NaN in the zero entries' rows",
                      expected=nan_where_singular(_sqrt_jacobian, lambda x: x == 0, "forward"))
          + diverging(FD_METHODS, reason="sqrt is not defined left of 0: central differences there evaluate "
                                         "sqrt of a negative number, NaN, on the diagonal",
                      expected=lambda x: diag_jacobian(np.where(x == 0, np.nan, 0.5 / np.sqrt(np.where(x == 0, 1.0,
                                                                                                        x)))))),
      impls={"fd": _sqrt_at_zero_numpy})
def sqrt_at_zero(xp, x):
    """sqrt(x) with entries exactly 0, where the derivative is +inf."""
    return xp.sqrt(x)
