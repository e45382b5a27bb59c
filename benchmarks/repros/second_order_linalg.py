"""Standalone repro (no harness): torch's forward-mode rules of linalg.det, slogdet and solve are right at
first order and wrong once differentiated again.

Prints w^T f''(A)[U, V] = d/dt d/ds f(A + tU + sV) at t = s = 0 by torch's four compositions of jvp/vjp
(outer-inner: fwd-rev is what torch.func.hessian does), by jax's four, and by the closed-form formula.
Expected on a buggy torch: fwd-fwd and rev-fwd differ from the formula; fwd-rev, rev-rev and jax match it.
pytorch/pytorch#196696 (det), #196697 (slogdet), #196695 (solve); umbrella #198017.
"""

import numpy as np
import torch

import jax
import jax.numpy as jnp

jax.config.update("jax_enable_x64", True)
rng = np.random.default_rng(0)
A = rng.standard_normal((3, 3)) + np.eye(3)
U, V = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
b = rng.standard_normal(3)
Ai, d = np.linalg.inv(A), np.linalg.det(A)
FORMULA = {
    "det": d * (np.trace(Ai @ U) * np.trace(Ai @ V) - np.trace(Ai @ U @ Ai @ V)),
    "slogdet": -np.trace(Ai @ U @ Ai @ V),
    "sum(solve(A, b))": float(np.sum(Ai @ U @ Ai @ V @ Ai @ b + Ai @ V @ Ai @ U @ Ai @ b)),
}
TORCH = {"det": torch.linalg.det, "slogdet": lambda a: torch.linalg.slogdet(a)[1],
         "sum(solve(A, b))": lambda a: torch.linalg.solve(a, torch.as_tensor(b)).sum()}
JAX = {"det": jnp.linalg.det, "slogdet": lambda a: jnp.linalg.slogdet(a)[1],
       "sum(solve(A, b))": lambda a: jnp.linalg.solve(a, b).sum()}


def compositions(jvp, grad, f, a, u, v):
    inner = {"fwd": lambda x: jvp(f, (x,), (v,))[1], "rev": lambda x: (grad(f)(x) * v).sum()}
    out = {}
    for name, g in inner.items():
        out["fwd-" + name] = float(jvp(g, (a,), (u,))[1])
        out["rev-" + name] = float((grad(g)(a) * u).sum())
    return out


print("torch", torch.__version__, "jax", jax.__version__)
for name, formula in FORMULA.items():
    t = compositions(torch.func.jvp, torch.func.grad, TORCH[name], *(torch.as_tensor(m) for m in (A, U, V)))
    j = compositions(jax.jvp, jax.grad, JAX[name], A, U, V)
    print(f"{name}: formula {formula:.10g}")
    print("  torch", {k: f"{x:.10g}" for k, x in t.items()})
    print("  jax  ", {k: f"{x:.10g}" for k, x in j.items()})
