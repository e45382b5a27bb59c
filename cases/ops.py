"""Single operators: elementwise, reductions, scans, sorting, indexing and linear algebra.

Each op runs at a random point inside its domain (`op.NAME`) and, where it has one, at its kink, tie,
zero or singular point (`op.NAME-at-...`). Where the frameworks legitimately differ there, the case fixes
one convention as its reference and declares every method that follows another, with the reason and,
where the value is well defined, the value those methods must produce. Ops that PyTorch implements
without a forward-mode rule (cdist, pdist, embedding_bag, index_reduce) run through that op in the torch
implementation, so that its forward-mode methods come out `unsupported`, with the reason.

Inputs are tiny (at most a dozen entries per input, 3x3 matrices): every case runs every method.
"""

from __future__ import annotations

import functools

import numpy as np

from jacobian_harness.casedef import case
from jacobian_harness.cases._common import (FD_METHODS, REVERSE_METHODS, cofactor_matrix, diag_jacobian, diverging,
                                            methods_of)

TORCH_REVERSE = methods_of("reverse", backends=("torch",))
TORCH_FORWARD = methods_of("forward", backends=("torch",))
# The second-order checks that differentiate torch's forward-mode (JVP) rules: the inner derivative is a jvp.
TORCH_SECOND_ORDER_OF_JVP = tuple(m for mode in ("forward-over-forward", "reverse-over-forward")
                                  for m in methods_of(mode, backends=("torch",), quantity="second-order"))
# Checked by hand, with the standalone repros named in each reason, on these torch versions.
SECOND_ORDER_CHECKED = ("2.13.0", "2.14.1", "2.15.0")


# det, slogdet and solve: fixed in torch 2.15.0 (pytorch/pytorch#192540, closed by #192667): the repro gives the
# formula's value under all four compositions there.
_LINALG_JVP_FIXED_IN_215 = dict(versions="<2.15", repro="Fixed in 2.15.0 (pytorch/pytorch#192540). Repro: python "
                                "benchmarks/repros/second_order_linalg.py (torch vs jax vs the formula)")


def torch_jvp_not_differentiable(op: str, issue: str, repro: str, **kwargs):
    """The declaration of a torch forward-mode rule that is right at first order and wrong once it is itself
    differentiated (forward-over-forward, reverse-over-forward); torch's own gradgradcheck tests only
    reverse-over-reverse and forward-over-reverse, so these pass upstream."""
    return diverging(TORCH_SECOND_ORDER_OF_JVP, kind="bug", issue=issue, checked=SECOND_ORDER_CHECKED,
                     reason=f"torch's forward-mode rule of {op} is right at first order but wrong when it is "
                            f"differentiated again (jvp of jvp, grad of jvp); forward-over-reverse and "
                            f"reverse-over-reverse agree with jax and finite differences. {repro}", **kwargs)




def _nan_where_singular(base, singular, pattern, blocks=None):
    """The Jacobian `base` with NaN where a method computes 0 * inf (or 0/0) at the singular entries of an
    elementwise op (flat indices from `singular`): which entries get it depends on how the method seeds
    and propagates.

    "reverse": every output's cotangent (0 off the diagonal) meets the singular entry's infinite local
               derivative: NaN in the singular entries' columns, J[:, s];
    "forward": every input's tangent (0 off the diagonal) meets it: NaN in the singular entries' rows, J[s, :];
    "own":     only the diagonal entries J[s, s] (jax.jit: XLA drops the products with structural zeros).
    Infinite entries stay infinite; `blocks` limits the NaN to some Jacobian blocks (default: all)."""
    def jacobian(*inputs):
        result = base(*inputs)
        result = [np.array(b, dtype=np.float64) for b in (result if isinstance(result, (tuple, list)) else (result,))]
        s = np.flatnonzero(singular(*inputs))
        for k, block in enumerate(result):
            if blocks is not None and k not in blocks:
                continue
            flat = block.reshape(block.shape[0], -1) if block.ndim == 2 else block.reshape(-1, block.shape[-1])
            nan = np.zeros(flat.shape, dtype=bool)
            if pattern == "reverse":
                nan[:, s] = True
            elif pattern == "forward":
                nan[s, :] = True
            else:
                nan[s, s] = True
            flat[nan & ~np.isinf(flat)] = np.nan
            result[k] = flat.reshape(block.shape)
        return tuple(result)
    return jacobian


def _normal(n):
    return lambda rng: (rng.standard_normal(n),)


def _uniform(low, high, n):
    return lambda rng: (rng.uniform(low, high, n),)


def _away_from(points, n, margin=0.1):
    """Standard normal entries at least `margin` away from each of `points` (kinks the case avoids)."""
    def inputs(rng):
        x = rng.standard_normal(n)
        for p in points:
            close = np.abs(x - p) < margin
            x[close] = p + np.where(x[close] >= p, margin, -margin) * 2
        return (x,)
    return inputs


def _row_blocks(rows):
    """(R, C) per-row gradients -> the Jacobian (R, R, C) of a row-wise reduction."""
    return np.eye(rows.shape[0])[:, :, None] * rows[None, :, :]


def _selection(index, size):
    """The Jacobian of x -> x.reshape(-1)[index] (one-hot rows), shape index.shape + (size,)."""
    index = np.asarray(index)
    return np.eye(size)[index.reshape(-1)].reshape(index.shape + (size,))


def _linear_map_jacobian(fn, shape):
    """The Jacobian of a linear NumPy map (indexing, reshaping): apply it to every basis array."""
    size = int(np.prod(shape))
    columns = [np.asarray(fn(np.eye(size)[j].reshape(shape)), dtype=np.float64) for j in range(size)]
    return np.stack(columns, axis=-1).reshape(columns[0].shape + tuple(shape))


# ========================================================================================================
# Elementwise


def _relu_d(at_zero):
    return lambda x: diag_jacobian(np.where(x > 0, 1.0, np.where(x == 0, at_zero, 0.0)))


def _relu_inputs_at_zero(rng):
    x = rng.standard_normal(6)
    x[[0, 3]] = 0.0
    return (x,)


def _relu_generic(xp, x):
    return xp.maximum(x, xp.zeros_like(x))


@case(id="op.relu", tags={"op", "elementwise"}, inputs=_away_from([0.0], 6), row_independent=True,
      analytic=_relu_d(0.0))
def relu(xp, x):
    """relu(x) away from 0: torch.relu, jax.nn.relu, maximum(x, 0) in autograd and NumPy."""
    return _relu_generic(xp, x)


@case(id="op.relu-at-zero", not_twice_differentiable="relu has a corner at the zero entries",
      tags={"op", "elementwise", "kink"}, inputs=_relu_inputs_at_zero,
      row_independent=True, analytic=_relu_d(0.0),
      divergences=diverging(["autograd.jacobian", *FD_METHODS],
                            reason="relu'(0): autograd has no relu, and maximum(x, 0) splits a tie evenly "
                                   "(1/2), as central differences do; torch.relu and jax.nn.relu give 0",
                            expected=_relu_d(0.5)))
def relu_at_zero(xp, x):
    """relu(x) with entries exactly 0 (reference: relu'(0) = 0, torch's and jax's convention)."""
    return _relu_generic(xp, x)


for _relu_case in (relu, relu_at_zero):
    @_relu_case.impl("torch")
    def _relu_torch(x):
        import torch

        return torch.relu(x)

    @_relu_case.impl("jax")
    def _relu_jax(x):
        import jax

        return jax.nn.relu(x)

    @_relu_case.impl("tensorflow")
    def _relu_tensorflow(x):
        import tensorflow as tf

        return tf.nn.relu(x)


def _clamp_inputs(rng):
    x = rng.uniform(-2.0, 2.0, 6)
    x[np.abs(np.abs(x) - 1.0) < 0.1] *= 0.7
    return (x,)


@case(id="op.clamp", tags={"op", "elementwise"}, inputs=_clamp_inputs, row_independent=True,
      analytic=lambda x: diag_jacobian((np.abs(x) < 1.0).astype(float)))
def clamp(xp, x):
    """clip(x, -1, 1) away from the bounds (torch.clamp in torch)."""
    return xp.clip(x, -1.0, 1.0)


@clamp.impl("torch")
def _clamp_torch(x):
    import torch

    return torch.clamp(x, -1.0, 1.0)


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


@case(id="op.pow", tags={"op", "elementwise"}, row_independent=True,
      inputs=lambda rng: (rng.uniform(0.5, 2.0, 6), rng.standard_normal(6)),
      analytic=lambda x, y: (diag_jacobian(y * x ** (y - 1)), diag_jacobian(x ** y * np.log(x))))
def power(xp, x, y):
    """x ** y on x > 0, with respect to the base and the exponent."""
    return xp.pow(x, y)


_JAX_POW = ("x ** y at x = 0: jax's derivative in the base is y * x ** (y - 1) = 0 * 0 ** -1 = 0 * inf = NaN "
             "for y = 0 (torch and autograd special-case y == 0 and give 0, the derivative of the constant 1)")


def _jax_pow_nan(base, singular, jit_forward, forward_blocks=None):
    """jax's NaN at x = 0, y = 0 of x ** y, in each of its methods' patterns (see _nan_where_singular)."""
    return (diverging(["jax.jacrev"], reason=_JAX_POW + " (reverse mode: NaN in the zero entries' columns)",
                      expected=_nan_where_singular(base, singular, "reverse", blocks=(0,)))
            + diverging(["jax.jit[jacrev]"], reason=_JAX_POW + " (jit: NaN on the diagonal only)",
                        expected=_nan_where_singular(base, singular, "own", blocks=(0,)))
            + diverging(["jax.jacfwd"], reason=_JAX_POW + " (forward mode: NaN in the zero entries' rows)",
                        expected=_nan_where_singular(base, singular, "forward", blocks=forward_blocks))
            + diverging(["jax.jit[jacfwd]"], reason=_JAX_POW + f" (jit, forward mode: NaN pattern '{jit_forward}')",
                        expected=_nan_where_singular(base, singular, jit_forward,
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
                    expected=_nan_where_singular(_atan2_jacobian(0.0), _at_origin, "forward"))
          + diverging(["jax.jacrev", "autograd.jacobian"],
                      reason=_ATAN2 + " (reverse mode: NaN in the origin's columns)",
                      expected=_nan_where_singular(_atan2_jacobian(0.0), _at_origin, "reverse"))
          + diverging(["jax.jit[jacrev]"], reason=_ATAN2 + " (jit: NaN on the diagonal only)",
                      expected=_nan_where_singular(_atan2_jacobian(0.0), _at_origin, "own"))
          + diverging(["fd.central"], reason="atan2 is discontinuous at the origin (its value jumps with the "
                                             "direction of approach): central differences there return about "
                                             "1/step (numdifftools' Richardson extrapolation lands on 0)")))
def atan2_at_origin(xp, y, x):
    """atan2(y, x) with two points at the origin, where atan2 is discontinuous (reference: 0)."""
    return xp.atan2(y, x)


@case(id="op.log1p", tags={"op", "elementwise"}, inputs=_uniform(-0.9, 2.0, 6), row_independent=True,
      analytic=lambda x: diag_jacobian(1.0 / (1.0 + x)))
def log1p(xp, x):
    """log1p(x) on x > -1."""
    return xp.log1p(x)


@case(id="op.expm1", tags={"op", "elementwise"}, inputs=_normal(6), row_independent=True,
      analytic=lambda x: diag_jacobian(np.exp(x)))
def expm1(xp, x):
    """expm1(x)."""
    return xp.expm1(x)


@case(id="op.erf", tags={"op", "elementwise"}, inputs=_normal(6), row_independent=True,
      analytic=lambda x: diag_jacobian(2.0 / np.sqrt(np.pi) * np.exp(-x * x)))
def erf(xp, x):
    """erf(x): scipy.special.erf in NumPy (the array namespaces have no erf), each framework's own erf."""
    from scipy.special import erf as scipy_erf

    return scipy_erf(x)


@erf.impl("torch")
def _erf_torch(x):
    import torch

    return torch.erf(x)


@erf.impl("jax")
def _erf_jax(x):
    import jax.scipy.special

    return jax.scipy.special.erf(x)


@erf.impl("autograd")
def _erf_autograd(x):
    import autograd.scipy.special

    return autograd.scipy.special.erf(x)


@erf.impl("tensorflow")
def _erf_tensorflow(x):
    import tensorflow as tf

    return tf.math.erf(x)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@case(id="op.softplus", tags={"op", "elementwise"}, inputs=_normal(6), row_independent=True,
      analytic=lambda x: diag_jacobian(_sigmoid(x)))
def softplus(xp, x):
    """softplus(x) = log(1 + exp(x)): torch.nn.functional.softplus, jax.nn.softplus, logaddexp(x, 0) else."""
    return xp.logaddexp(x, xp.zeros_like(x))


@softplus.impl("torch")
def _softplus_torch(x):
    import torch

    return torch.nn.functional.softplus(x)


@softplus.impl("jax")
def _softplus_jax(x):
    import jax

    return jax.nn.softplus(x)


@case(id="op.logaddexp", tags={"op", "elementwise"}, inputs=lambda rng: (rng.standard_normal(5),
                                                                          rng.standard_normal(5)),
      row_independent=True,
      analytic=lambda x, y: (diag_jacobian(_sigmoid(x - y)), diag_jacobian(_sigmoid(y - x))))
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


@case(id="op.sqrt-at-zero", not_twice_differentiable="sqrt's derivative is infinite at the zero entries",
      tags={"op", "elementwise", "kink"}, inputs=_sqrt_zero_inputs,
      row_independent=True,
      analytic=_sqrt_jacobian,
      divergences=(
          diverging([m for m in REVERSE_METHODS if m != "jax.jit[jacrev]"],
                    reason=_SQRT + "; reverse mode: NaN in the zero entries' columns",
                    expected=_nan_where_singular(_sqrt_jacobian, lambda x: x == 0, "reverse"))
          + diverging([*TORCH_FORWARD, "jax.jacfwd"], reason=_SQRT + "; forward mode: NaN in the zero entries' rows",
                      expected=_nan_where_singular(_sqrt_jacobian, lambda x: x == 0, "forward"))
          + diverging(FD_METHODS, reason="sqrt is not defined left of 0: central differences there evaluate "
                                         "sqrt of a negative number, NaN, on the diagonal",
                      expected=lambda x: diag_jacobian(np.where(x == 0, np.nan, 0.5 / np.sqrt(np.where(x == 0, 1.0,
                                                                                                        x)))))))
def sqrt_at_zero(xp, x):
    """sqrt(x) with entries exactly 0, where the derivative is +inf."""
    return xp.sqrt(x)


@sqrt_at_zero.impl("fd")
def _sqrt_at_zero_numpy(x):
    with np.errstate(invalid="ignore"):
        return np.sqrt(x)


# ========================================================================================================
# Reductions and scans (along the last axis)


def _std_rows(x):
    s = x.std(axis=-1, keepdims=True)
    return _row_blocks((x - x.mean(axis=-1, keepdims=True)) / (x.shape[-1] * s))


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
    return _row_blocks(rows)


def _rows_nan(base, rows, pattern):
    """The Jacobian (R, R, C) of a row-wise reduction with NaN for the rows r in `rows(x)`, where a method
    computes 0/0: "reverse" J[:, r, :] (every output's cotangent reaches row r), "forward" J[r, :, :]
    (every input's tangent reaches output r), "own" J[r, r, :] (jax.jit: XLA keeps zero cotangents out)."""
    def jacobian(x):
        result = base(x)
        for r in np.flatnonzero(rows(x)):
            if pattern == "reverse":
                result[:, r, :] = np.nan
            elif pattern == "forward":
                result[r, :, :] = np.nan
            else:
                result[r, r, :] = np.nan
        return result
    return jacobian


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
                    expected=_rows_nan(_std_constant_jacobian, _constant_rows, "reverse"))
          + diverging(["jax.jacfwd", "jax.jit[jacfwd]"], reason=_STD + " (forward mode: NaN in the row's output)",
                      expected=_rows_nan(_std_constant_jacobian, _constant_rows, "forward"))
          + diverging(["jax.jit[jacrev]"], reason=_STD + " (jit: NaN in the row's own block only)",
                      expected=_rows_nan(_std_constant_jacobian, _constant_rows, "own"))
          + diverging(["tensorflow.*"], reason=_STD.replace("jax and autograd", "tensorflow")
                      + " (NaN in the row's own block only)",
                      expected=_rows_nan(_std_constant_jacobian, _constant_rows, "own"))))
def std_of_constant(xp, x):
    """Row standard deviations with one constant row, where std is not differentiable (reference: the
    minimum-norm subgradient 0, which central differences also give)."""
    return xp.std(x, axis=-1)


@case(id="op.var", tags={"op", "reduction"}, inputs=lambda rng: (rng.standard_normal((3, 4)),),
      row_independent=True,
      analytic=lambda x: _row_blocks(2.0 * (x - x.mean(axis=-1, keepdims=True)) / x.shape[-1]))
def var(xp, x):
    """Row variances (population: correction 0)."""
    return xp.var(x, axis=-1)


def _prod_rows(x):
    rows = np.empty_like(x)
    for j in range(x.shape[-1]):
        rows[:, j] = np.prod(np.delete(x, j, axis=-1), axis=-1)
    return _row_blocks(rows)


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


@case(id="op.cumsum", tags={"op", "scan"}, inputs=_normal(5), row_independent=True,
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


@case(id="op.cumprod", tags={"op", "scan"}, inputs=_uniform(0.5, 1.5, 5), row_independent=True,
      analytic=_cumprod_jacobian)
def cumprod(xp, x):
    """Cumulative product along the last axis."""
    return xp.cumprod(x, axis=-1)


def _cumprod_autograd(x):
    # autograd defines no gradient for cumprod (NotImplementedError): the running product, unrolled.
    import autograd.numpy as anp

    columns = [x[..., 0]]
    for j in range(1, x.shape[-1]):
        columns.append(columns[-1] * x[..., j])
    return anp.stack(columns, axis=-1)


cumprod.impl("autograd")(_cumprod_autograd)


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
                                   "tf.math.cumprod([1., 0., 2.]) has d out[2] / d x[1] = 0, not 2"))
def cumprod_with_zeros(xp, x):
    """Cumulative product with two zeros (the gradient is the product of the other entries)."""
    return xp.cumprod(x, axis=-1)


cumprod_with_zeros.impl("autograd")(_cumprod_autograd)


# ========================================================================================================
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


@case(id="op.sort", tags={"op", "sort"}, inputs=_normal(6), row_independent=True, analytic=_sort_jacobian)
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


@case(id="op.topk", tags={"op", "sort"}, inputs=_normal(6), row_independent=True, analytic=_topk_jacobian(3))
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
                            expected=_topk_split(3)))
def topk_ties(xp, x):
    """The 3 largest values with tied maxima and a tie across the k-th boundary (reference: ties taken
    first index first)."""
    return _topk_generic(xp, x, 3)


for _topk_case in (topk, topk_ties):
    @_topk_case.impl("torch")
    def _topk_torch(x):
        import torch

        return torch.topk(x, 3, dim=-1).values

    @_topk_case.impl("jax")
    def _topk_jax(x):
        import jax

        return jax.lax.top_k(x, 3)[0]


# ========================================================================================================
# Indexing and layout


_TAKE_INDEX = np.array([3, 0, 3, 5, 1])


@case(id="op.take", tags={"op", "indexing"}, wrt=(0,),
      inputs=lambda rng: (rng.standard_normal(6), _TAKE_INDEX.copy()),
      analytic=lambda x, index: _selection(index, x.size),
      divergences=diverging(["torch.compile[jacrev]"], kind="bug", versions="<2.14",
                            expected=lambda x, index: np.broadcast_to(_selection(index, x.size).sum(axis=0),
                                                                      (index.size, x.size)),
                            reason="torch.compile(torch.func.jacrev(f)) with f = torch.index_select (what "
                                   "array_api_compat's take calls) returns every Jacobian row equal to the sum "
                                   "of all rows (the vmapped backward loses its batch dimension); eager jacrev is "
                                   "right. Repro (torch 2.13.0): x = torch.randn(4, dtype=torch.float64); "
                                   "torch.compile(torch.func.jacrev(lambda x: torch.index_select(x, 0, "
                                   "torch.tensor([2, 0]))))(x) -> [[1, 0, 1, 0], [1, 0, 1, 0]], expected "
                                   "[[0, 0, 1, 0], [1, 0, 0, 0]]. Fixed in 2.14.1 (found by the harness's "
                                   "own upgrade check)"))
def take(xp, x, index):
    """take(x, index) with a repeated index (its gradient accumulates); x[index] in autograd, which defines
    no gradient for take."""
    return xp.take(x, index, axis=0)


@take.impl("autograd")
def _take_autograd(x, index):
    return x[index]


_GATHER_INDEX = np.array([[2, 0], [1, 1], [3, 0]])


@case(id="op.gather", tags={"op", "indexing"}, wrt=(0,),
      inputs=lambda rng: (rng.standard_normal((3, 4)), _GATHER_INDEX.copy()),
      analytic=lambda x, index: _linear_map_jacobian(lambda a: np.take_along_axis(a, index, axis=1), x.shape))
def gather(xp, x, index):
    """take_along_axis(x, index, axis=1) (torch.gather in torch), with a repeated index."""
    return xp.take_along_axis(x, index, axis=1)


@gather.impl("autograd")
def _gather_autograd(x, index):
    # autograd defines no gradient for take_along_axis: the same gather by advanced indexing.
    return x[np.arange(x.shape[0])[:, None], index]


@gather.impl("torch")
def _gather_torch(x, index):
    import torch

    return torch.gather(x, 1, index)


def _slice(a):
    return a[1:, ::2] * 1.0


@case(id="op.index-slice", tags={"op", "indexing"}, inputs=lambda rng: (rng.standard_normal((3, 4)),),
      analytic=lambda x: _linear_map_jacobian(_slice, x.shape))
def index_slice(xp, x):
    """Basic slicing x[1:, ::2] (a strided view)."""
    return x[1:, ::2]


def _fancy(a):
    return a[np.array([2, 0, 2]), -1]


@case(id="op.index-advanced", tags={"op", "indexing"}, inputs=lambda rng: (rng.standard_normal((3, 4)),),
      analytic=lambda x: _linear_map_jacobian(_fancy, x.shape))
def index_advanced(xp, x):
    """Advanced indexing x[[2, 0, 2], -1] with a repeated row."""
    return x[np.array([2, 0, 2]), -1]


@index_advanced.impl("torch")
def _index_advanced_torch(x):
    import torch

    return x[torch.tensor([2, 0, 2]), -1]


@case(id="op.concatenate", tags={"op", "indexing"},
      inputs=lambda rng: (rng.standard_normal((2, 3)), rng.standard_normal((1, 3))),
      analytic=lambda a, b: (np.eye(9, 6).reshape(3, 3, 2, 3), np.eye(9, 3, k=-6).reshape(3, 3, 1, 3)))
def concatenate(xp, a, b):
    """concatenate((a, b), axis=0), with respect to both."""
    return xp.concatenate((a, b), axis=0)


@case(id="op.transpose", tags={"op", "indexing"}, inputs=lambda rng: (rng.standard_normal((3, 4)),),
      analytic=lambda x: _linear_map_jacobian(lambda a: a.T, x.shape))
def transpose(xp, x):
    """The transpose of a 3x4 matrix (swapaxes: array_api_compat's torch transpose needs both dims)."""
    return xp.swapaxes(x, -1, -2)


@case(id="op.flip", tags={"op", "indexing"}, inputs=lambda rng: (rng.standard_normal((2, 3)),),
      analytic=lambda x: _linear_map_jacobian(lambda a: np.flip(a, axis=-1), x.shape))
def flip(xp, x):
    """flip along the last axis."""
    return xp.flip(x, axis=-1)


@flip.impl("autograd")
def _flip_autograd(x):
    # autograd defines no gradient for flip: a reversed slice.
    return x[..., ::-1]


@case(id="op.tril", tags={"op", "indexing"}, inputs=lambda rng: (rng.standard_normal((3, 3)),),
      analytic=lambda x: _linear_map_jacobian(np.tril, x.shape))
def tril(xp, x):
    """The lower triangle of a 3x3 matrix (zero gradient above the diagonal)."""
    return xp.tril(x)


def _where_inputs(rng):
    return _away_from([0.25], 6)(rng)


@case(id="op.where", tags={"op", "elementwise"}, inputs=_where_inputs, row_independent=True,
      analytic=lambda x: diag_jacobian(np.where(x > 0.25, 2.0 * x, np.cos(x))))
def where(xp, x):
    """where(x > 0.25, x**2, sin(x)) at points away from the switch."""
    return xp.where(x > 0.25, x * x, xp.sin(x))


# ========================================================================================================
# Linear algebra (3x3)


def _well_conditioned(rng):
    return rng.standard_normal((3, 3)) + 3.0 * np.eye(3)


@case(id="op.det", tags={"op", "linalg"}, inputs=lambda rng: (rng.standard_normal((3, 3)),),
      row_independent=True, analytic=lambda a: np.linalg.det(a) * np.linalg.inv(a).T,
      divergences=torch_jvp_not_differentiable("linalg.det", "pytorch/pytorch#196696", **_LINALG_JVP_FIXED_IN_215))
def det(xp, a):
    """det(A) of a random 3x3 matrix (gradient det(A) A^-T)."""
    return xp.linalg.det(a)


def _singular_inputs(rng):
    # Rank 2, exactly, in every LAPACK: the third row repeats the first, whose pivot 2 has an exact reciprocal,
    # so elimination leaves an exact zero row. (A third row that is the sum of the first two, [[1, 2, -1],
    # [0, 1, 3], [1, 3, 2]], has det exactly 0 on some CPUs and -1.9e-16 on others, where torch is right.)
    a = np.array([[2.0, 1.0, -1.0], [1.0, 3.0, 2.0], [2.0, 1.0, -1.0]])
    return (a,)


_TORCH_DET = ("torch's linalg.det backward and forward-mode rules return 0 at an exactly singular matrix "
              "instead of the cofactor matrix (outside torch.func they perturb a zero LU pivot by eps, and "
              "multiply by det = 0); torch.func.vjp/jacrev take another branch and are right. Repro (torch 2.13.0): "
              "A = torch.tensor([[2., 1., -1.], [1., 3., 2.], [2., 1., -1.]], dtype=torch.float64, "
              "requires_grad=True); torch.autograd.grad(torch.linalg.det(A), A) -> zeros, "
              "torch.func.jacrev(torch.linalg.det)(A) -> [[-5, 5, -5], [0, 0, 0], [5, -5, 5]]")


# Forward mode under vmap (jacfwd and what is built on it): in 2.15 det's forward rule there solves with A.
_TORCH_VMAPPED_FORWARD = ("torch.autograd.functional.jacobian[forward-mode]", "torch.func.jacfwd",
                          "torch.compile[jacfwd]")
_TORCH_DET_215 = ("torch 2.15's linalg.det forward-mode rule under vmap (torch.func.jacfwd, functional.jacobian("
                  "strategy='forward-mode'), compile of jacfwd) raises at an exactly singular matrix, where 2.13 and "
                  "2.14 returned zeros; the gradient (the cofactor matrix) is finite, and torch.func.jacrev gives "
                  "it. torch.forward_ad outside vmap still returns zeros. Repro (torch 2.15.0): A = torch.tensor([[2., "
                  "1., -1.], [1., 3., 2.], [2., 1., -1.]], dtype=torch.float64); "
                  "torch.func.jacfwd(torch.linalg.det)(A) -> _LinAlgError 'torch.linalg.solve: (Batch element 0): The "
                  "solver failed because the input matrix "
                  "is singular.' (found by the harness's 2.14.1 -> 2.15.0 run)")


@case(id="op.det-singular", tags={"op", "linalg", "kink"}, inputs=_singular_inputs, row_independent=True,
      analytic=cofactor_matrix,
      divergences=torch_jvp_not_differentiable(
          "linalg.det", "pytorch/pytorch#196696", versions="<2.15",
          repro="At this singular A forward over forward gives 0 and reverse over forward about 1e16; 2.15 raises "
                "instead (below). Repro: python benchmarks/repros/second_order_det_singular.py")
      + diverging(methods_of("forward-over-forward", backends=("torch",), quantity="second-order")
                  + methods_of("forward-over-reverse", backends=("torch",), quantity="second-order")
                  + methods_of("reverse-over-forward", backends=("torch",), quantity="second-order"),
                  kind="bug", versions=">=2.15", checked=SECOND_ORDER_CHECKED, raises="input matrix is singular",
                  issue="the singular case is a TODO in pytorch/pytorch#79487",
                  reason="torch 2.15's forward-mode rule of linalg.det (now differentiable, pytorch/pytorch#192667) "
                         "solves with A: at an exactly singular A every composition with a forward-mode step "
                         "raises, where det is a polynomial with a finite second derivative (2.13: wrong values, "
                         "above). Repro: python benchmarks/repros/second_order_det_singular.py")
      + diverging(["autograd.second-order*"], kind="bug", issue="HIPS/autograd#549",
                  raises="Singular matrix", reason="autograd's det gradient goes through inv(A), which raises at a "
                  "singular A (as autograd.jacobian does at first order)")
      + (
          diverging([m for m in TORCH_REVERSE if m not in ("torch.func.jacrev", "torch.compile[jacrev]")]
                    + ["torch.forward_ad"], kind="bug", reason=_TORCH_DET,
                    issue="the singular case is a TODO in pytorch/pytorch#79487",
                    expected=lambda a: np.zeros_like(a))
          + diverging(_TORCH_VMAPPED_FORWARD, kind="bug", reason=_TORCH_DET, versions="<2.15",
                      issue="the singular case is a TODO in pytorch/pytorch#79487",
                      expected=lambda a: np.zeros_like(a))
          + diverging(_TORCH_VMAPPED_FORWARD, kind="bug", reason=_TORCH_DET_215, versions=">=2.15",
                      issue="the singular case is a TODO in pytorch/pytorch#79487",
                      raises="input matrix is singular")
          + diverging(["autograd.jacobian"], kind="bug", issue="HIPS/autograd#549",
                      reason="autograd's det gradient is det(A) * inv(A).T: inv raises LinAlgError "
                             "('Singular matrix') at a singular A, where the gradient (the cofactor matrix) "
                             "is finite")))
def det_singular(xp, a):
    """det(A) of an exactly singular matrix of rank 2: the gradient is the cofactor matrix, finite and
    nonzero (formulas through A^-1 break down)."""
    return xp.linalg.det(a)


def _inv_jacobian(a):
    b = np.linalg.inv(a)
    return -np.einsum("ik,lj->ijkl", b, b)


@case(id="op.inv", tags={"op", "linalg"}, inputs=lambda rng: (_well_conditioned(rng),), row_independent=True,
      analytic=_inv_jacobian)
def inv(xp, a):
    """inv(A) of a well-conditioned 3x3 matrix."""
    return xp.linalg.inv(a)


def _solve_jacobian(a, b):
    a_inv = np.linalg.inv(a)
    x = a_inv @ b
    return -np.einsum("ik,l->ikl", a_inv, x), a_inv


@case(id="op.solve", tags={"op", "linalg"}, inputs=lambda rng: (_well_conditioned(rng), rng.standard_normal(3)),
      analytic=_solve_jacobian,
      divergences=torch_jvp_not_differentiable("linalg.solve", "pytorch/pytorch#196695", **_LINALG_JVP_FIXED_IN_215))
def solve(xp, a, b):
    """solve(A, b) for a vector b, with respect to A and b."""
    return xp.linalg.solve(a, b[:, None])[:, 0]


def _slogdet_jacobian(a):
    return np.linalg.inv(a).T


@case(id="op.slogdet", tags={"op", "linalg"}, inputs=lambda rng: (rng.standard_normal((3, 3)),),
      row_independent=True, analytic=_slogdet_jacobian,
      divergences=torch_jvp_not_differentiable("linalg.slogdet", "pytorch/pytorch#196697", **_LINALG_JVP_FIXED_IN_215))
def slogdet(xp, a):
    """log|det(A)| from slogdet (gradient A^-T)."""
    return xp.linalg.slogdet(a)[1]


def _eigh_jacobian(a):
    _, v = np.linalg.eigh((a + a.T) / 2.0)
    return np.einsum("ik,jk->kij", v, v)


@case(id="op.eigh", tags={"op", "linalg"}, inputs=lambda rng: (rng.standard_normal((3, 3)),),
      row_independent=True, analytic=_eigh_jacobian)
def eigh(xp, a):
    """The eigenvalues of (A + A^T)/2 from eigh (eigenvectors have a sign freedom; eigenvalues do not)."""
    return xp.linalg.eigh((a + xp.swapaxes(a, -1, -2)) / 2.0)[0]


def _svd_jacobian(a):
    u, _, vt = np.linalg.svd(a, full_matrices=False)
    return np.einsum("ik,kj->kij", u, vt)


@case(id="op.svd-values", tags={"op", "linalg"}, inputs=lambda rng: (rng.standard_normal((3, 4)),),
      row_independent=True, analytic=_svd_jacobian)
def svd_values(xp, a):
    """The singular values of a 3x4 matrix (torch.linalg.svdvals in torch)."""
    return xp.linalg.svd(a, full_matrices=False)[1]


@svd_values.impl("torch")
def _svd_values_torch(a):
    import torch

    return torch.linalg.svdvals(a)


@case(id="op.cholesky", tags={"op", "linalg"}, inputs=lambda rng: (rng.standard_normal((3, 3)),),
      row_independent=True)
def cholesky(xp, a):
    """cholesky(A A^T + I): the input reaches the factorization only through a symmetric matrix, so
    the frameworks' different symmetrizations of the cholesky gradient cannot show (reference: consensus)."""
    return xp.linalg.cholesky(xp.matmul(a, xp.swapaxes(a, -1, -2)) + xp.eye(3, dtype=a.dtype))


@case(id="op.trace", tags={"op", "linalg"}, inputs=lambda rng: (rng.standard_normal((3, 3)),),
      analytic=lambda a: np.eye(3))
def trace(xp, a):
    """trace(A)."""
    return xp.trace(a)


def _kron_jacobian(a, b):
    return (_linear_map_jacobian(lambda t: np.kron(t, b), a.shape),
            _linear_map_jacobian(lambda t: np.kron(a, t), b.shape))


@case(id="op.kron", tags={"op", "linalg"},
      inputs=lambda rng: (rng.standard_normal((2, 2)), rng.standard_normal((2, 3))),
      analytic=_kron_jacobian)
def kron(xp, a, b):
    """The Kronecker product of a 2x2 and a 2x3 matrix, with respect to both."""
    return xp.kron(a, b)


def _skew(v):
    return np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])


@case(id="op.cross", tags={"op", "linalg"}, inputs=lambda rng: (rng.standard_normal(3), rng.standard_normal(3)),
      analytic=lambda u, v: (-_skew(v), _skew(u)))
def cross(xp, u, v):
    """The cross product u x v (torch.linalg.cross in torch), with respect to both."""
    return xp.cross(u, v)


@cross.impl("torch")
def _cross_torch(u, v):
    import torch

    return torch.linalg.cross(u, v)


# ========================================================================================================
# Ops without a forward-mode rule in PyTorch: the torch implementation calls the op itself.

_NO_FORWARD = "torch implements {op} without a forward-mode (jvp) rule"


def _distances(xp, a, b):
    d = a[:, None, :] - b[None, :, :]
    return xp.sqrt(xp.sum(d * d, axis=-1))


def _cdist_jacobian(a, b):
    d = a[:, None, :] - b[None, :, :]
    unit = d / np.sqrt((d * d).sum(-1, keepdims=True))                 # (n, m, k)
    n, m, k = unit.shape
    d_a = np.einsum("ip,ijq->ijpq", np.eye(n), unit)
    d_b = -np.einsum("jp,ijq->ijpq", np.eye(m), unit)
    return d_a, d_b


@case(id="op.cdist", tags={"op", "linalg", "no-forward-rule"},
      inputs=lambda rng: (rng.standard_normal((3, 2)), rng.standard_normal((2, 2))),
      analytic=_cdist_jacobian,
      divergences=diverging(["torch.func.jacrev", "torch.compile[jacrev]"], kind="bug",
                            reason="torch.func.vmap over the vjp of torch.cdist gives wrong finite values "
                                   "(the batching of cdist's backward mixes up the batched cotangents); one vjp "
                                   "per output (torch.autograd.grad, autograd.functional.jacobian, vectorize=True) "
                                   "is right. Repro (torch 2.13.0): a, b = torch.randn(2, 2, dtype=torch.float64), "
                                   "torch.randn(2, 2, dtype=torch.float64); _, vjp = torch.func.vjp(torch.cdist, "
                                   "a, b); E = torch.eye(4, dtype=torch.float64).reshape(4, 2, 2); "
                                   "torch.func.vmap(vjp)(E)[0] differs from torch.stack([vjp(e)[0] for e in E])"))
def cdist(xp, a, b):
    """Euclidean distances between the rows of a and b: torch.cdist in torch (no forward-mode rule), a
    broadcast difference elsewhere."""
    return _distances(xp, a, b)


@cdist.impl("torch")
def _cdist_torch(a, b):
    import torch

    return torch.cdist(a, b)


_PAIRS = np.triu_indices(4, k=1)


def _pdist_jacobian(a):
    i, j = _PAIRS
    d = a[i] - a[j]
    unit = d / np.linalg.norm(d, axis=-1, keepdims=True)
    eye = np.eye(a.shape[0])
    return np.einsum("pr,pq->prq", eye[i] - eye[j], unit).transpose(0, 1, 2)


@case(id="op.pdist", tags={"op", "linalg", "no-forward-rule"}, inputs=lambda rng: (rng.standard_normal((4, 2)),),
      analytic=_pdist_jacobian)
def pdist(xp, a):
    """Distances between all pairs of rows of a 4x2 matrix: torch.nn.functional.pdist in torch (no
    forward-mode rule), an indexed difference elsewhere."""
    i, j = _PAIRS
    d = a[i] - a[j]
    return xp.sqrt(xp.sum(d * d, axis=-1))


@pdist.impl("torch")
def _pdist_torch(a):
    import torch

    return torch.nn.functional.pdist(a)


_BAG_INDEX = np.array([4, 0, 2, 2, 1, 4])
_BAG_OFFSETS = np.array([0, 2, 4])


@case(id="op.embedding-bag", tags={"op", "indexing", "no-forward-rule"}, wrt=(0,),
      inputs=lambda rng: (rng.standard_normal((5, 2)), _BAG_INDEX.copy(), _BAG_OFFSETS.copy()),
      analytic=lambda w, index, offsets: _linear_map_jacobian(
          lambda t: t[index].reshape(3, 2, 2).sum(axis=1), w.shape))
def embedding_bag(xp, weight, index, offsets):
    """Sums of bags of 2 embedding rows (a repeated row inside a bag): torch.nn.functional.embedding_bag in
    torch (no forward-mode rule), take and sum elsewhere."""
    return xp.sum(xp.reshape(weight[index], (3, 2, 2)), axis=1)


@embedding_bag.impl("torch")
def _embedding_bag_torch(weight, index, offsets):
    import torch

    return torch.nn.functional.embedding_bag(index, weight, offsets, mode="sum")


_REDUCE_INDEX = np.array([0, 2, 0])


def _index_mean_matrix():
    """out = M @ concat(x, src): row i averages x[i] and the source rows sent to i (include_self)."""
    m = np.zeros((4, 7))
    for i in range(4):
        members = [i] + [4 + j for j in np.flatnonzero(_REDUCE_INDEX == i)]
        m[i, members] = 1.0 / len(members)
    return m


def _index_reduce_jacobian(x, src):
    m = _index_mean_matrix()
    eye = np.eye(x.shape[1])
    return np.einsum("ik,jl->ijkl", m[:, :4], eye), np.einsum("ik,jl->ijkl", m[:, 4:], eye)


@case(id="op.index-reduce", tags={"op", "indexing", "no-forward-rule"}, wrt=(0, 1),
      inputs=lambda rng: (rng.standard_normal((4, 2)), rng.standard_normal((3, 2)), _REDUCE_INDEX.copy()),
      analytic=lambda x, src, index: _index_reduce_jacobian(x, src))
def index_reduce(xp, x, src, index):
    """Row means of x with source rows added at a repeated index: Tensor.index_reduce(0, index, src,
    "mean") in torch (no forward-mode rule), a constant averaging matrix elsewhere."""
    m = xp.asarray(_index_mean_matrix(), dtype=x.dtype)
    return xp.matmul(m, xp.concatenate((x, src), axis=0))


@index_reduce.impl("torch")
def _index_reduce_torch(x, src, index):
    return x.index_reduce(0, index, src, "mean", include_self=True)


# ========================================================================================================
# A user's own derivative rules: a torch.autograd.Function with backward, jvp and vmap rules, all correct.

_AUTOGRAD_FUNCTION_FWD_FWD = (
    "nested forward mode through a torch.autograd.Function loses the Function's second derivative: "
    "jvp of jvp (forward over forward) gives 0 for its part although its jvp rule is written in torch ops and "
    "saved with save_for_forward; the other three compositions are right. Repro: python "
    "benchmarks/repros/second_order_autograd_function.py")


def _sin_times_x_jacobian(x):
    return diag_jacobian(np.cos(x) * x + np.sin(x))


@case(id="op.autograd-function", tags={"op", "elementwise", "custom-rule"}, inputs=_normal(5),
      row_independent=True, analytic=_sin_times_x_jacobian,
      divergences=diverging(["torch.second-order[fwd-fwd]"], kind="bug", issue="pytorch/pytorch#197867",
                            checked=SECOND_ORDER_CHECKED, reason=_AUTOGRAD_FUNCTION_FWD_FWD))
def autograd_function(xp, x):
    """sin(x) * x, with sin a torch.autograd.Function (setup_context style) in torch: a user's own backward,
    jvp and vmap rules, the way custom kernels enter torch."""
    return xp.sin(x) * x


@autograd_function.impl("torch")
def _autograd_function_torch(x):
    return _torch_sin_function().apply(x) * x


@functools.lru_cache(maxsize=1)
def _torch_sin_function():
    """One class for the whole process (a class made per call would be a new function to torch.compile)."""
    import torch

    class Sin(torch.autograd.Function):
        @staticmethod
        def forward(x):
            return torch.sin(x)

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])
            ctx.save_for_forward(inputs[0])

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * torch.cos(x)

        @staticmethod
        def jvp(ctx, tangent):
            (x,) = ctx.saved_tensors
            return tangent * torch.cos(x)

        @staticmethod
        def vmap(info, in_dims, x):
            return Sin.apply(x), in_dims[0]

    return Sin
