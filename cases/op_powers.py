"""x ** y and atan2 at ordinary points and at their singular points (a zero base, the origin) (op.*).

At a singular point jax and autograd meet 0 * inf or 0/0, and which Jacobian entries turn NaN depends on how a
method seeds and propagates (`nan_where_singular`): each pattern is declared with the value it must produce.
"""

from __future__ import annotations

import numpy as np

from jacobian_harness.casedef import case
from jacobian_harness.cases._common import FD_METHODS, TORCH_FORWARD, diag_jacobian, diverging, nan_where_singular


@case(id="op.pow", tags={"op", "elementwise"}, row_independent=True,
      inputs=lambda rng: (rng.uniform(0.5, 2.0, 6), rng.standard_normal(6)),
      analytic=lambda x, y: (diag_jacobian(y * x ** (y - 1)), diag_jacobian(x ** y * np.log(x))))
def power(xp, x, y):
    """x ** y on x > 0, with respect to the base and the exponent."""
    return xp.pow(x, y)


_JAX_POW = ("x ** y at x = 0: jax's derivative in the base is y * x ** (y - 1) = 0 * 0 ** -1 = 0 * inf = NaN "
             "for y = 0 (torch and autograd special-case y == 0 and give 0, the derivative of the constant 1)")


def _jax_pow_nan(base, singular, jit_forward, forward_blocks=None):
    """jax's NaN at x = 0, y = 0 of x ** y, in each of its methods' patterns (see _common.nan_where_singular)."""
    return (diverging(["jax.jacrev"], reason=_JAX_POW + " (reverse mode: NaN in the zero entries' columns)",
                      expected=nan_where_singular(base, singular, "reverse", blocks=(0,)))
            + diverging(["jax.jit[jacrev]"], reason=_JAX_POW + " (jit: NaN on the diagonal only)",
                        expected=nan_where_singular(base, singular, "own", blocks=(0,)))
            + diverging(["jax.jacfwd"], reason=_JAX_POW + " (forward mode: NaN in the zero entries' rows)",
                        expected=nan_where_singular(base, singular, "forward", blocks=forward_blocks))
            + diverging(["jax.jit[jacfwd]"], reason=_JAX_POW + f" (jit, forward mode: NaN pattern '{jit_forward}')",
                        expected=nan_where_singular(base, singular, jit_forward,
                                                     blocks=(0,) if jit_forward == "own" else forward_blocks)))


def _pow_zero_inputs(rng):
    x = rng.standard_normal(5)
    x[[0, 2]] = 0.0
    return (x,)


@case(id="op.pow-zero-at-zero", tags={"op", "elementwise", "kink"}, inputs=_pow_zero_inputs,
      row_independent=True, analytic=lambda x: diag_jacobian(np.zeros_like(x)),
      divergences=diverging(["jax.second-order*"], reason=_JAX_POW + " (second order: NaN as well; jax "
                            "treats pow with a floating exponent as not differentiable at x = 0, "
                            "jax-ml/jax#14397)")
      + _jax_pow_nan(lambda x: diag_jacobian(np.zeros_like(x)), lambda x: x == 0,
                               jit_forward="own"))
def pow_zero_at_zero(xp, x):
    """x ** 0 with entries exactly 0: the derivative is 0 everywhere (not 0 * 0 ** -1 = NaN)."""
    return xp.pow(x, 0.0)


def _pow_zero_base_inputs(rng):
    return np.array([0.0, 0.0, 0.0, 1.5, 0.75]), np.array([0.0, 2.0, 1.0, 0.5, 0.0])


def _pow_zero_base_jacobian(x, y):
    # d/dx = y x**(y-1) (0 for y = 0, 1 for y = 1 at x = 0); d/dy = x**y log(x), taken as 0 at x = 0.
    safe_x = np.where(x == 0, 1.0, x)
    dx = np.where(y == 0, 0.0, np.where(x == 0, np.where(y == 1, 1.0, 0.0), y * safe_x ** (y - 1)))
    dy = np.where(x == 0, 0.0, safe_x ** y * np.log(safe_x))
    return diag_jacobian(dx), diag_jacobian(dy)


@case(id="op.pow-zero-base",
      not_twice_differentiable="x ** y is not differentiable in y at x = 0 (log 0), nor twice in x for y = 1",
      tags={"op", "elementwise", "kink"}, inputs=_pow_zero_base_inputs,
      row_independent=True, analytic=_pow_zero_base_jacobian,
      divergences=diverging(FD_METHODS, reason="d(x ** y)/dy at x = 0 is not defined (0 ** y is 0 for y > 0 "
                                               "and inf for y < 0): finite differences in y straddle it and "
                                               "return -inf or NaN; every AD framework uses 0 (log(0) "
                                               "replaced, the limit from y > 0)")
      + _jax_pow_nan(_pow_zero_base_jacobian, lambda x, y: (x == 0) & (y == 0), jit_forward="forward"))
def pow_zero_base(xp, x, y):
    """x ** y with the base exactly 0 (exponents 0, 1, 2), with respect to both."""
    return xp.pow(x, y)


def _atan2_inputs(rng):
    return rng.standard_normal(5), rng.standard_normal(5)


def _atan2_jacobian(at_origin):
    def jacobian(y, x):
        r2 = x * x + y * y
        with np.errstate(divide="ignore", invalid="ignore"):
            dy, dx = np.where(r2 == 0, at_origin, x / r2), np.where(r2 == 0, at_origin, -y / r2)
        return diag_jacobian(dy), diag_jacobian(dx)
    return jacobian


@case(id="op.atan2", tags={"op", "elementwise"}, inputs=_atan2_inputs, row_independent=True,
      analytic=_atan2_jacobian(0.0))
def atan2(xp, y, x):
    """atan2(y, x) at random points, with respect to both."""
    return xp.atan2(y, x)


def _atan2_origin_inputs(rng):
    y, x = rng.standard_normal(5), rng.standard_normal(5)
    y[[1, 3]] = 0.0
    x[[1, 3]] = 0.0
    return y, x


_ATAN2 = ("atan2 at the origin, where it is not differentiable: torch's reverse mode masks x / (x**2 + y**2) "
          "= 0/0 to 0; jax, autograd and torch's forward mode give NaN")


def _at_origin(y, x):
    return (x == 0) & (y == 0)


@case(id="op.atan2-at-origin", not_twice_differentiable="atan2 is discontinuous at the origin",
      tags={"op", "elementwise", "kink"}, inputs=_atan2_origin_inputs,
      row_independent=True, analytic=_atan2_jacobian(0.0),
      divergences=(
          diverging([*TORCH_FORWARD, "jax.jacfwd", "jax.jit[jacfwd]"],
                    reason=_ATAN2 + " (forward mode: NaN in the origin's rows; torch's forward-mode rule does "
                                    "not mask it as its backward does)",
                    expected=nan_where_singular(_atan2_jacobian(0.0), _at_origin, "forward"))
          + diverging(["jax.jacrev", "autograd.jacobian"],
                      reason=_ATAN2 + " (reverse mode: NaN in the origin's columns)",
                      expected=nan_where_singular(_atan2_jacobian(0.0), _at_origin, "reverse"))
          + diverging(["jax.jit[jacrev]"], reason=_ATAN2 + " (jit: NaN on the diagonal only)",
                      expected=nan_where_singular(_atan2_jacobian(0.0), _at_origin, "own"))
          + diverging(["fd.central"], reason="atan2 is discontinuous at the origin (its value jumps with the "
                                             "direction of approach): central differences there return about "
                                             "1/step (numdifftools' Richardson extrapolation lands on 0)")))
def atan2_at_origin(xp, y, x):
    """atan2(y, x) with two points at the origin, where atan2 is discontinuous (reference: 0)."""
    return xp.atan2(y, x)
