"""Hessians (order=2): a scalar f of one differentiated input, checked by every Hessian method.

Forward-over-reverse (torch.func.hessian, jax.hessian, autograd.hessian, the written-out jacfwd(jacrev)),
reverse-over-reverse (torch.autograd.functional.hessian, jacrev(jacrev)) and second finite differences
(numdifftools) must all give the same symmetric matrix. Most cases have the Hessian written out by hand,
so that the reference is exact; each block has shape in.shape + in.shape.
"""

from __future__ import annotations

import numpy as np

from jacobian_harness.cases.seed import potential
from jacobian_harness.casedef import case


# --------------------------------------------------------------------------------------------------------
# hessian.rosenbrock: the classic banana valley, a banded Hessian with large and small entries.

def _rosenbrock_inputs(rng, n=4):
    return (rng.uniform(-1.5, 1.5, n),)


def _rosenbrock_hessian(x):
    """f = sum_i 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2: tridiagonal Hessian."""
    n = x.shape[0]
    hessian = np.zeros((n, n))
    for i in range(n - 1):
        hessian[i, i] += 1200.0 * x[i] ** 2 - 400.0 * x[i + 1] + 2.0
        hessian[i + 1, i + 1] += 200.0
        hessian[i, i + 1] = hessian[i + 1, i] = -400.0 * x[i]
    return hessian


@case(id="hessian.rosenbrock", tags={"hessian", "optimization"}, inputs=_rosenbrock_inputs, order=2,
      sizes={"small": {"n": 4}, "medium": {"n": 16}, "large": {"n": 48}}, analytic=_rosenbrock_hessian)
def rosenbrock(xp, x):
    """The Rosenbrock function of n variables (n = 4; 16 and 48 with --size medium / large)."""
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


# --------------------------------------------------------------------------------------------------------
# hessian.quadratic: 0.5 x^T A x with a non-symmetric constant A: the Hessian is the symmetric part of A.

def _quadratic_inputs(rng):
    return rng.standard_normal(5), rng.standard_normal((5, 5))


@case(id="hessian.quadratic", tags={"hessian", "linalg"}, inputs=_quadratic_inputs, wrt=(0,), order=2,
      analytic=lambda x, a: 0.5 * (a + a.T))
def quadratic(xp, x, a):
    """0.5 x^T A x with A (5, 5) constant and not symmetric: Hessian (A + A^T) / 2, constant in x."""
    return 0.5 * xp.sum(x * xp.matmul(a, x))


# --------------------------------------------------------------------------------------------------------
# hessian.logsumexp: the softmax's Jacobian in disguise.

def _logsumexp_hessian(x):
    p = np.exp(x - x.max())
    p /= p.sum()
    return np.diag(p) - np.outer(p, p)


def _logsumexp_torch(x):
    import torch

    return torch.logsumexp(x, dim=0)


@case(id="hessian.logsumexp", tags={"hessian", "reduction"}, inputs=lambda rng: (rng.standard_normal(6),),
      order=2, analytic=_logsumexp_hessian,
      impls={"torch": _logsumexp_torch})
def logsumexp(xp, x):
    """log(sum(exp(x))) of 6 values: Hessian diag(p) - p p^T with p = softmax(x) (singular: rows sum to 0)."""
    return xp.log(xp.sum(xp.exp(x)))


# --------------------------------------------------------------------------------------------------------
# hessian.mlp-loss: the squared error of a tiny MLP, differentiated twice with respect to its input.

def _mlp_loss_inputs(rng):
    x = rng.standard_normal(4)
    w1 = rng.standard_normal((4, 6)) / 2.0
    b1 = 0.1 * rng.standard_normal(6)
    w2 = rng.standard_normal((6, 3)) / np.sqrt(6)
    b2 = 0.1 * rng.standard_normal(3)
    target = rng.standard_normal(3)
    return x, w1, b1, w2, b2, target


def _mlp_loss_hessian(x, w1, b1, w2, b2, target):
    """Gauss-Newton term J^T J plus the residual-weighted curvature of the network.

    With h = tanh(x W1 + b1), y = h W2 + b2, r = y - target, J = dy/dx = W2^T diag(1 - h^2) W1^T:
    H = J^T J + W1 diag((W2 r) * tanh''(z)) W1^T, where tanh''(z) = -2 h (1 - h^2).
    """
    h = np.tanh(x @ w1 + b1)
    residual = h @ w2 + b2 - target
    jacobian = (w2.T * (1.0 - h ** 2)[None, :]) @ w1.T
    curvature = (w2 @ residual) * (-2.0 * h * (1.0 - h ** 2))
    return jacobian.T @ jacobian + (w1 * curvature[None, :]) @ w1.T


def _mlp_loss_torch(x, w1, b1, w2, b2, target):
    # The way users write it: torch.nn.functional layers and loss (linear takes weights as (out, in)).
    import torch

    F = torch.nn.functional
    hidden = torch.tanh(F.linear(x, w1.T, b1))
    return 0.5 * F.mse_loss(F.linear(hidden, w2.T, b2), target, reduction="sum")


@case(id="hessian.mlp-loss", tags={"hessian", "network"}, inputs=_mlp_loss_inputs, wrt=(0,), order=2,
      analytic=_mlp_loss_hessian,
      impls={"torch": _mlp_loss_torch})
def mlp_loss(xp, x, w1, b1, w2, b2, target):
    """0.5 * ||MLP(x) - target||^2 for an MLP 4 -> 6 -> 3 (tanh), Hessian (4, 4) with respect to x."""
    hidden = xp.tanh(xp.matmul(x, w1) + b1)
    residual = xp.matmul(hidden, w2) + b2 - target
    return 0.5 * xp.sum(residual * residual)


# --------------------------------------------------------------------------------------------------------
# hessian.softplus-sum: a diagonal Hessian of a 2-D input, which checks the in.shape + in.shape layout.

def _softplus_hessian(x):
    s = 1.0 / (1.0 + np.exp(-x))
    d = s * (1.0 - s)
    return np.diag(d.reshape(-1)).reshape(x.shape + x.shape)


def _softplus_sum_torch(x):
    import torch

    return torch.nn.functional.softplus(x).sum()


@case(id="hessian.softplus-sum", tags={"hessian", "elementwise"}, inputs=lambda rng: (rng.standard_normal((2, 3)),),
      order=2, analytic=_softplus_hessian,
      impls={"torch": _softplus_sum_torch})
def softplus_sum(xp, x):
    """sum(softplus(x)) over x of shape (2, 3): Hessian (2, 3, 2, 3), diagonal sigmoid(x) (1 - sigmoid(x))."""
    return xp.sum(xp.log1p(xp.exp(x)))


# --------------------------------------------------------------------------------------------------------
# hessian.seed-potential: the seed thread's potential u, whose Laplacian seed.laplacian takes by nested
# torch.autograd.grad calls; here its whole Hessian (trace: that Laplacian) under every Hessian method.

def _seed_potential_hessian(x):
    x0, x1, x2 = x
    e = np.exp(x1 * x2)
    return np.array([[-np.sin(x0) * x1 * x1, 2.0 * x1 * np.cos(x0), 3.0 * x2 * x2],
                     [2.0 * x1 * np.cos(x0), 2.0 * np.sin(x0) + x2 * x2 * e, e * (1.0 + x1 * x2)],
                     [3.0 * x2 * x2, e * (1.0 + x1 * x2), x1 * x1 * e + 6.0 * x0 * x2]])


@case(id="hessian.seed-potential", tags={"hessian", "seed", "higher-order"}, order=2,
      inputs=lambda rng: (rng.uniform(-1.0, 1.0, 3),), analytic=_seed_potential_hessian)
def seed_potential(xp, x):
    """The seed thread's potential u(x) = sin(x0) x1^2 + exp(x1 x2) + x0 x2^3 at one point: its Hessian,
    whose trace is the Laplacian that seed.laplacian differentiates."""
    return potential(xp, x)
