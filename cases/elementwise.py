"""Elementwise functions at ordinary random points: diagonal Jacobians, known in closed form."""

from __future__ import annotations

import numpy as np

from jacobian_harness.casedef import case
from jacobian_harness.cases._common import diag_jacobian, normal, uniform
from jacobian_harness.cases._common import sigmoid as _sigmoid

_normal = normal(6)
_positive = uniform(0.5, 3.0, 6)


@case(id="elementwise.sin", tags={"elementwise"}, inputs=_normal, row_independent=True,
      analytic=lambda x: diag_jacobian(np.cos(x)))
def sin(xp, x):
    """sin(x)."""
    return xp.sin(x)


@case(id="elementwise.exp", tags={"elementwise"}, inputs=_normal, row_independent=True,
      analytic=lambda x: diag_jacobian(np.exp(x)))
def exp(xp, x):
    """exp(x)."""
    return xp.exp(x)


@case(id="elementwise.tanh", tags={"elementwise"}, inputs=_normal, row_independent=True,
      analytic=lambda x: diag_jacobian(1.0 - np.tanh(x) ** 2))
def tanh(xp, x):
    """tanh(x)."""
    return xp.tanh(x)


@case(id="elementwise.log", tags={"elementwise"}, inputs=_positive, row_independent=True,
      analytic=lambda x: diag_jacobian(1.0 / x))
def log(xp, x):
    """log(x) on a positive domain."""
    return xp.log(x)


@case(id="elementwise.sqrt", tags={"elementwise"}, inputs=_positive, row_independent=True,
      analytic=lambda x: diag_jacobian(0.5 / np.sqrt(x)))
def sqrt(xp, x):
    """sqrt(x) on a positive domain."""
    return xp.sqrt(x)


@case(id="elementwise.sigmoid", tags={"elementwise"}, inputs=_normal, row_independent=True,
      analytic=lambda x: diag_jacobian(_sigmoid(x) * (1.0 - _sigmoid(x))))
def sigmoid(xp, x):
    """The logistic sigmoid 1 / (1 + exp(-x)), written portably."""
    return 1.0 / (1.0 + xp.exp(-x))


@case(id="elementwise.polynomial", tags={"elementwise"}, inputs=_normal, row_independent=True,
      analytic=lambda x: diag_jacobian(3.0 * x ** 2 - 4.0 * x + 0.5))
def polynomial(xp, x):
    """x**3 - 2 x**2 + x/2 (integer powers through multiplication)."""
    return x * x * x - 2.0 * x * x + 0.5 * x
