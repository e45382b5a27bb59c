"""Small helpers shared by the case modules (NumPy only; no framework is imported here)."""

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


def diverging(patterns, reason: str, **kwargs) -> tuple[Divergence, ...]:
    """One Divergence per method glob, all sharing the same reason (and kind, expected, ...); `checked`
    defaults to the checked versions of the glob's backend (Backend.checked)."""
    return tuple(Divergence(pattern, reason=reason,
                            **{"checked": checked_versions(pattern.split(".")[0]), **kwargs})
                 for pattern in patterns)


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
