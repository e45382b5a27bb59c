"""Standalone repro (no harness): second derivatives of det at an exactly singular matrix (rank 2), where det
is a polynomial and its second derivative is finite.

Prints w^T det''(A)[U, V] by torch's four compositions (outer-inner) and by jax. Seen on torch 2.13.0:
fwd-fwd 0 and rev-fwd about 2e16 (the forward-mode rule divides by a zero pivot), fwd-rev and rev-rev right;
on 2.15.0: fwd-fwd, fwd-rev and rev-fwd raise "the input matrix is singular", rev-rev right.
"""

import numpy as np
import torch

import jax
import jax.numpy as jnp

jax.config.update("jax_enable_x64", True)
A = np.array([[2.0, 1.0, -1.0], [1.0, 3.0, 2.0], [2.0, 1.0, -1.0]])  # row 3 = row 1: det exactly 0
rng = np.random.default_rng(0)
U, V = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))


def compositions(jvp, grad, f, a, u, v):
    inner = {"fwd": lambda x: jvp(f, (x,), (v,))[1], "rev": lambda x: (grad(f)(x) * v).sum()}
    out = {}
    for name, g in inner.items():
        for outer in ("fwd", "rev"):
            try:
                value = jvp(g, (a,), (u,))[1] if outer == "fwd" else (grad(g)(a) * u).sum()
                out[f"{outer}-{name}"] = f"{float(value):.10g}"
            except Exception as exc:  # what torch raises is the finding
                out[f"{outer}-{name}"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:70]}"
    return out


print("torch", torch.__version__, "jax", jax.__version__)
print("jax  ", compositions(jax.jvp, jax.grad, jnp.linalg.det, A, U, V))
print("torch", compositions(torch.func.jvp, torch.func.grad, torch.linalg.det,
                            *(torch.as_tensor(m) for m in (A, U, V))))
