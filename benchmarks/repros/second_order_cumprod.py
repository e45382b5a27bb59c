"""Standalone repro (no harness): torch's forward-mode rule of cumprod at a zero entry is right at first
order and wrong once differentiated again (pytorch/pytorch#196701).

cumprod is a polynomial, so w . d/dt d/ds cumprod(x + t u + s v) at 0 is finite; it is computed here by
torch's four compositions (outer-inner), by jax, and by expanding the products. Expected on a buggy torch:
fwd-fwd wrong, rev-fwd NaN, fwd-rev and rev-rev equal to the formula.
"""

import itertools

import numpy as np
import torch

import jax
import jax.numpy as jnp

jax.config.update("jax_enable_x64", True)
x = np.array([1.2, 0.0, 0.7, 1.1, 0.0, 0.9])
rng = np.random.default_rng(1)
u, v, w = rng.standard_normal(6), rng.standard_normal(6), rng.standard_normal(6)
# cumprod_i = prod_{j <= i} x_j; its mixed second derivative along u, v:
# sum over ordered pairs j != k <= i of u_j v_k prod_{l <= i, l not in {j, k}} x_l.
formula = sum(w[i] * u[j] * v[k] * np.prod([x[m] for m in range(i + 1) if m not in (j, k)])
              for i in range(6) for j, k in itertools.permutations(range(i + 1), 2))

tx, tu, tv, tw = (torch.as_tensor(m) for m in (x, u, v, w))
f = lambda z: torch.cumprod(z, 0)  # noqa: E731
inner = {"fwd": lambda z: (tw * torch.func.jvp(f, (z,), (tv,))[1]).sum(),
         "rev": lambda z: (torch.func.vjp(f, z)[1](tw)[0] * tv).sum()}
results = {}
for name, g in inner.items():
    results["fwd-" + name] = torch.func.jvp(g, (tx,), (tu,))[1].item()
    results["rev-" + name] = (torch.func.grad(g)(tx) * tu).sum().item()
jax_inner = lambda z: (w * jax.jvp(jnp.cumprod, (z,), (v,))[1]).sum()  # noqa: E731
print("torch", torch.__version__, "jax", jax.__version__)
print(f"formula {formula:.12g}; jax fwd-fwd {float(jax.jvp(jax_inner, (x,), (u,))[1]):.12g}")
print("torch", {k: f"{r:.12g}" for k, r in results.items()})
