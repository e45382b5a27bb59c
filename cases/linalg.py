"""Matrix products, with several differentiated inputs (one Jacobian block per input)."""

from __future__ import annotations

import numpy as np

from jacobian_harness.casedef import case


def _matmul_jacobian(a, b):
    n, k = a.shape
    m = b.shape[1]
    d_a = np.einsum("ik,jl->ijkl", np.eye(n), b.T)            # dC_ij/dA_kl = delta_ik B_lj
    d_b = np.einsum("ik,jl->ijkl", a, np.eye(m))              # dC_ij/dB_kl = A_ik delta_jl
    assert d_a.shape == (n, m, n, k) and d_b.shape == (n, m, k, m)
    return d_a, d_b


def _matvec_jacobian(a, v):
    n, k = a.shape
    return np.einsum("ik,l->ikl", np.eye(n), v), a            # dy_i/dA_kl = delta_ik v_l; dy/dv = A


@case(id="linalg.matmul", tags={"linalg"}, row_independent=True,
      inputs=lambda rng: (rng.standard_normal((3, 4)), rng.standard_normal((4, 2))),
      analytic=_matmul_jacobian)
def matmul(xp, a, b):
    """A @ B, with respect to both A and B."""
    return xp.matmul(a, b)


@case(id="linalg.matvec", tags={"linalg"}, row_independent=True,
      inputs=lambda rng: (rng.standard_normal((3, 4)), rng.standard_normal(4)),
      analytic=_matvec_jacobian)
def matvec(xp, a, v):
    """A v, with respect to both A and v (v as a column, so that it maps over leading axes)."""
    return xp.matmul(a, v[..., None])[..., 0]


@case(id="linalg.quadratic-form", tags={"linalg"}, row_independent=True, wrt=(0,),
      inputs=lambda rng: (rng.standard_normal(4), rng.standard_normal((4, 4))),
      analytic=lambda x, a: (a + a.T) @ x)
def quadratic_form(xp, x, a):
    """x^T A x for a fixed non-symmetric A, with respect to x (gradient (A + A^T) x)."""
    return xp.sum(x * xp.matmul(a, x[..., None])[..., 0], axis=-1)


@case(id="linalg.outer", tags={"linalg"}, row_independent=True,
      inputs=lambda rng: (rng.standard_normal(3), rng.standard_normal(4)),
      analytic=lambda u, v: (np.einsum("ik,j->ijk", np.eye(len(u)), v), np.einsum("i,jl->ijl", u, np.eye(len(v)))))
def outer(xp, u, v):
    """The outer product u v^T, with respect to both u and v."""
    return u[..., :, None] * v[..., None, :]
