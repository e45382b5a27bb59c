"""Linear algebra of 3x3 matrices (op.*): det (also of an exactly singular matrix), inv, solve, slogdet, eigh,
singular values, cholesky, trace, kron, cross. torch's second-order checks of det, slogdet and solve meet the
forward-mode rules fixed in 2.15; the singular det meets torch's and autograd's known bugs, each declared."""

from __future__ import annotations

import numpy as np

from jacobian_harness.casedef import case
from jacobian_harness.cases._common import (SECOND_ORDER_CHECKED, TORCH_REVERSE, cofactor_matrix, diverging,
                                            linear_map_jacobian, methods_of, torch_jvp_not_differentiable)

# det, slogdet and solve: fixed in torch 2.15.0 (pytorch/pytorch#192540, closed by #192667): the repro gives the
# formula's value under all four compositions there.
_LINALG_JVP_FIXED_IN_215 = dict(versions="<2.15", repro="Fixed in 2.15.0 (pytorch/pytorch#192540). Repro: python "
                                "benchmarks/repros/second_order_linalg.py (torch vs jax vs the formula)")


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
      row_independent=True, analytic=_svd_jacobian, impls={"torch": "torch.linalg.svdvals"})
def svd_values(xp, a):
    """The singular values of a 3x4 matrix (torch.linalg.svdvals in torch)."""
    return xp.linalg.svd(a, full_matrices=False)[1]


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
    return (linear_map_jacobian(lambda t: np.kron(t, b), a.shape),
            linear_map_jacobian(lambda t: np.kron(a, t), b.shape))


@case(id="op.kron", tags={"op", "linalg"},
      inputs=lambda rng: (rng.standard_normal((2, 2)), rng.standard_normal((2, 3))),
      analytic=_kron_jacobian)
def kron(xp, a, b):
    """The Kronecker product of a 2x2 and a 2x3 matrix, with respect to both."""
    return xp.kron(a, b)


def _skew(v):
    return np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])


@case(id="op.cross", tags={"op", "linalg"}, inputs=lambda rng: (rng.standard_normal(3), rng.standard_normal(3)),
      analytic=lambda u, v: (-_skew(v), _skew(u)), impls={"torch": "torch.linalg.cross"})
def cross(xp, u, v):
    """The cross product u x v (torch.linalg.cross in torch), with respect to both."""
    return xp.cross(u, v)
