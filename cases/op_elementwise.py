"""Elementwise ops at their kinks and ties: relu, clamp, maximum and minimum (op.*).

Each op runs at a random point inside its domain (`op.NAME`) and, where it has one, at its kink or tie
(`op.NAME-at-...`, `op.maximum`'s ties). Where the frameworks legitimately differ there, the case fixes one
convention as its reference and declares every method that follows another, with the reason and, where the
value is well defined, the value those methods must produce. Inputs are tiny: every case runs every method.
"""

from __future__ import annotations

import numpy as np

from jacobian_harness.casedef import case
from jacobian_harness.cases._common import FD_METHODS, away_from, clamp_unit_torch, diag_jacobian, diverging

# relu in the frameworks that have one (autograd and NumPy run f: maximum(x, 0)).
_RELU = {"torch": "torch.relu", "jax": "jax.nn.relu", "tensorflow": "tensorflow.nn.relu"}


def _relu_d(at_zero):
    return lambda x: diag_jacobian(np.where(x > 0, 1.0, np.where(x == 0, at_zero, 0.0)))


def _relu_inputs_at_zero(rng):
    x = rng.standard_normal(6)
    x[[0, 3]] = 0.0
    return (x,)


def _relu_generic(xp, x):
    return xp.maximum(x, xp.zeros_like(x))


@case(id="op.relu", tags={"op", "elementwise"}, inputs=away_from([0.0], 6), row_independent=True,
      analytic=_relu_d(0.0), impls=_RELU)
def relu(xp, x):
    """relu(x) away from 0: torch.relu, jax.nn.relu, maximum(x, 0) in autograd and NumPy."""
    return _relu_generic(xp, x)


@case(id="op.relu-at-zero", not_twice_differentiable="relu has a corner at the zero entries",
      tags={"op", "elementwise", "kink"}, inputs=_relu_inputs_at_zero,
      row_independent=True, analytic=_relu_d(0.0),
      divergences=diverging(["autograd.jacobian", *FD_METHODS],
                            reason="relu'(0): autograd has no relu, and maximum(x, 0) splits a tie evenly "
                                   "(1/2), as central differences do; torch.relu and jax.nn.relu give 0",
                            expected=_relu_d(0.5)),
      impls=_RELU)
def relu_at_zero(xp, x):
    """relu(x) with entries exactly 0 (reference: relu'(0) = 0, torch's and jax's convention)."""
    return _relu_generic(xp, x)


def _clamp_inputs(rng):
    x = rng.uniform(-2.0, 2.0, 6)
    x[np.abs(np.abs(x) - 1.0) < 0.1] *= 0.7
    return (x,)


@case(id="op.clamp", tags={"op", "elementwise"}, inputs=_clamp_inputs, row_independent=True,
      analytic=lambda x: diag_jacobian((np.abs(x) < 1.0).astype(float)), impls={"torch": clamp_unit_torch})
def clamp(xp, x):
    """clip(x, -1, 1) away from the bounds (torch.clamp in torch)."""
    return xp.clip(x, -1.0, 1.0)


def _binary_ties(rng):
    x, y = rng.standard_normal(6), rng.standard_normal(6)
    y[[1, 4]] = x[[1, 4]]
    return x, y


def _max_split(greater):
    def jacobian(x, y):
        dx = np.where(greater(x, y), 1.0, np.where(x == y, 0.5, 0.0))
        return diag_jacobian(dx), diag_jacobian(1.0 - dx)
    return jacobian


def _tie_to_first(greater):
    def jacobian(x, y):
        dx = np.where(greater(x, y) | (x == y), 1.0, 0.0)
        return diag_jacobian(dx), diag_jacobian(1.0 - dx)
    return jacobian


_TF_TIES = "a tie of {op}(x, y): tensorflow gives the whole gradient to x, the other frameworks split it evenly"


@case(id="op.maximum", not_twice_differentiable="maximum(x, y) has a corner where x and y tie",
      tags={"op", "elementwise", "kink"}, inputs=_binary_ties, row_independent=True,
      analytic=_max_split(np.greater),
      divergences=diverging(["tensorflow.*"], reason=_TF_TIES.format(op="maximum"),
                            expected=_tie_to_first(np.greater)))
def maximum(xp, x, y):
    """maximum(x, y) with two ties: torch, jax and autograd split the gradient of a tie evenly."""
    return xp.maximum(x, y)


@case(id="op.minimum", not_twice_differentiable="minimum(x, y) has a corner where x and y tie",
      tags={"op", "elementwise", "kink"}, inputs=_binary_ties, row_independent=True,
      analytic=_max_split(np.less),
      divergences=diverging(["tensorflow.*"], reason=_TF_TIES.format(op="minimum"),
                            expected=_tie_to_first(np.less)))
def minimum(xp, x, y):
    """minimum(x, y) with two ties: torch, jax and autograd split the gradient of a tie evenly."""
    return xp.minimum(x, y)
