"""Helpers shared by the case modules, one copy each: how a divergence is declared (`diverging`), the method lists
the declarations name, input factories, and the NumPy formulas of Jacobians several cases share. NumPy only at
import; a framework is imported only inside the implementation that calls it (`clamp_unit_torch`)."""

from __future__ import annotations

import numpy as np

from jacobian_harness.adapters.base import BACKENDS, METHODS, load_adapters
from jacobian_harness.casedef import Divergence


def diag_jacobian(d: np.ndarray) -> np.ndarray:
    """The Jacobian of an elementwise map with derivative `d`: shape d.shape + d.shape, zero off the diagonal."""
    d = np.asarray(d, dtype=np.float64)
    return np.diag(d.reshape(-1)).reshape(d.shape + d.shape)


def checked_versions(backend: str) -> tuple[str, ...]:
    """The versions of `backend` on which the whole library was last run and every declaration confirmed
    (Backend.checked); none for a backend not registered here."""
    load_adapters()
    return BACKENDS[backend].checked if backend in BACKENDS else ()


def diverging(methods, reason: str, **fields) -> tuple[Divergence, ...]:
    """The one way a divergence is declared: one Divergence per method glob of `methods` (a glob or a list of
    them), all sharing `reason` and the other Divergence fields (kind, issue, versions, expected, raises,
    checked). `checked` defaults to each glob's backend's checked versions (Backend.checked).

    A Python case passes it to @case(divergences=...), where a declaration needs code (an `expected` value) or
    belongs beside its case; a generated pack's findings (the opinfo pack) are written as data instead, in its
    known.toml, whose entries have these same field names and are built by this same function
    (cases/opinfo/known.py), with `checked` as the entry gives it."""
    globs = [methods] if isinstance(methods, str) else list(methods)
    return tuple(Divergence(pattern, reason=reason,
                            **{"checked": checked_versions(pattern.split(".")[0]), **fields})
                 for pattern in globs)


def methods_of(mode: str, *, backends: tuple[str, ...] | None = None, order: int = 1,
               quantity: str = "jacobian") -> tuple[str, ...]:
    """The registered method ids of one mode, order and quantity (harness.adapters.base.Method), optionally
    of some backends only, in registry order: what a method is belongs to the adapter that registers it,
    never to a hand list here."""
    load_adapters()
    return tuple(m.id for m in METHODS.values()
                 if m.mode == mode and m.order == order and m.quantity == quantity
                 and (backends is None or m.backend in backends))


# The reverse-mode methods of torch, jax and autograd: these multiply a structural zero cotangent by an
# infinite local derivative (sqrt'(0)) and declare so. TensorFlow's reverse methods are left out because they
# do not: the library run judges them agree on op.sqrt-at-zero and kink.where-sqrt (TF 2.21.0).
REVERSE_METHODS = methods_of("reverse", backends=("torch", "jax", "autograd"))
# Finite differences of f (first order); fd.hessian is the second-order one.
FD_METHODS = methods_of("fd")


def cofactor_matrix(a: np.ndarray) -> np.ndarray:
    """The gradient of det(a): C_ij = (-1)^(i+j) det(a without row i and column j); finite where a is singular."""
    n = a.shape[0]
    cofactors = np.empty_like(a)
    for i in range(n):
        for j in range(n):
            minor = np.delete(np.delete(a, i, axis=0), j, axis=1)
            cofactors[i, j] = (-1) ** (i + j) * (np.linalg.det(minor) if n > 1 else 1.0)
    return cofactors


# --------------------------------------------------------------------------------------------------------
# torch's methods, as the op cases' declarations name them

TORCH_REVERSE = methods_of("reverse", backends=("torch",))
TORCH_FORWARD = methods_of("forward", backends=("torch",))
# The second-order checks that differentiate torch's forward-mode (JVP) rules: the inner derivative is a jvp.
TORCH_SECOND_ORDER_OF_JVP = tuple(m for mode in ("forward-over-forward", "reverse-over-forward")
                                  for m in methods_of(mode, backends=("torch",), quantity="second-order"))
# Checked by hand, with the standalone repros named in each reason, on these torch versions.
SECOND_ORDER_CHECKED = ("2.13.0", "2.14.1", "2.15.0")


def torch_jvp_not_differentiable(op: str, issue: str, repro: str, **fields) -> tuple[Divergence, ...]:
    """The declaration of a torch forward-mode rule that is right at first order and wrong once it is itself
    differentiated (forward-over-forward, reverse-over-forward); torch's own gradgradcheck tests only
    reverse-over-reverse and forward-over-reverse, so these pass upstream."""
    return diverging(TORCH_SECOND_ORDER_OF_JVP, kind="bug", issue=issue, checked=SECOND_ORDER_CHECKED,
                     reason=f"torch's forward-mode rule of {op} is right at first order but wrong when it is "
                            f"differentiated again (jvp of jvp, grad of jvp); forward-over-reverse and "
                            f"reverse-over-reverse agree with jax and finite differences. {repro}", **fields)


def clamp_unit_torch(x):
    """clip(x, -1, 1) as torch users write it, torch.clamp (op.clamp and kink.clip-at-bound run through it)."""
    import torch

    return torch.clamp(x, -1.0, 1.0)


# --------------------------------------------------------------------------------------------------------
# Input factories


def normal(shape):
    """Standard normal entries of this shape."""
    return lambda rng: (rng.standard_normal(shape),)


def uniform(low, high, shape):
    return lambda rng: (rng.uniform(low, high, shape),)


def away_from(points, n, margin=0.1):
    """Standard normal entries at least `margin` away from each of `points` (kinks the case avoids)."""
    def inputs(rng):
        x = rng.standard_normal(n)
        for p in points:
            close = np.abs(x - p) < margin
            x[close] = p + np.where(x[close] >= p, margin, -margin) * 2
        return (x,)
    return inputs


# --------------------------------------------------------------------------------------------------------
# Jacobians in closed form


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def row_blocks(rows):
    """(R, C) per-row gradients -> the Jacobian (R, R, C) of a row-wise reduction."""
    return np.eye(rows.shape[0])[:, :, None] * rows[None, :, :]


def rows_nan(base, rows, pattern):
    """The Jacobian (R, R, C) of a row-wise reduction with NaN for the rows r in `rows(x)`, where a method
    computes 0/0: which entries get it depends on how the method seeds and propagates.

    "reverse": every output's cotangent (0 for the other rows) reaches row r: NaN in r's columns, J[:, r, :];
    "forward": every input's tangent reaches output r: NaN in r's row, J[r, :, :];
    "own":     only r's own block, J[r, r, :] (jax.jit: XLA keeps the zero cotangents of the other rows out)."""
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


def nan_where_singular(base, singular, pattern, blocks=None):
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


def selection(index, size):
    """The Jacobian of x -> x.reshape(-1)[index] (one-hot rows), shape index.shape + (size,)."""
    index = np.asarray(index)
    return np.eye(size)[index.reshape(-1)].reshape(index.shape + (size,))


def linear_map_jacobian(fn, shape):
    """The Jacobian of a linear NumPy map (indexing, reshaping): apply it to every basis array."""
    size = int(np.prod(shape))
    columns = [np.asarray(fn(np.eye(size)[j].reshape(shape)), dtype=np.float64) for j in range(size)]
    return np.stack(columns, axis=-1).reshape(columns[0].shape + tuple(shape))
