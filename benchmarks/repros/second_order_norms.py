"""Standalone repro: torch's layer_norm and batch_norm (training statistics) JVP rules, differentiated again.

w^T f''(x)[u, v] at a random point by torch's four compositions, by finite differences of torch's own forward
values (a mixed central second difference) and by jax (the formula written out). Forward-over-reverse and
reverse-over-reverse agree with finite differences and jax; forward-over-forward and reverse-over-forward do not
(pytorch/pytorch#196700, #196699). Run: python benchmarks/repros/second_order_norms.py
"""

import numpy as np
import torch

torch.manual_seed(0)
rng = np.random.default_rng(1)


def torch_layer_norm(x):
    return torch.nn.functional.layer_norm(x, (4,))


def torch_batch_norm(x):
    return torch.nn.functional.batch_norm(x, None, None, training=True, eps=1e-5)


def jax_norm(jnp, x, axis):
    mean = x.mean(axis, keepdims=True)
    var = ((x - mean) ** 2).mean(axis, keepdims=True)
    return (x - mean) / jnp.sqrt(var + 1e-5)


def check(name, f, axis):
    x = torch.randn(3, 4, dtype=torch.float64)
    w, u, v = (torch.tensor(rng.standard_normal((3, 4))) for _ in range(3))

    def inner_fwd(p):
        return (w * torch.func.jvp(f, (p,), (v,))[1]).sum()

    def inner_rev(p):
        return (torch.func.vjp(f, p)[1](w)[0] * v).sum()

    def g(t, s):
        with torch.no_grad():
            return float((w * f(x + t * u + s * v)).sum())

    h = 1e-4
    results = {
        "fwd-fwd": float(torch.func.jvp(inner_fwd, (x,), (u,))[1]),
        "rev-fwd": float((torch.func.grad(inner_fwd)(x) * u).sum()),
        "fwd-rev": float(torch.func.jvp(inner_rev, (x,), (u,))[1]),
        "rev-rev": float((torch.func.grad(inner_rev)(x) * u).sum()),
        "finite differences": (g(h, h) - g(h, -h) - g(-h, h) + g(-h, -h)) / (4 * h * h),
    }
    try:
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        xj, wj, uj, vj = (jnp.asarray(t.numpy()) for t in (x, w, u, v))

        def inner(p):
            return jnp.sum(wj * jax.jvp(lambda y: jax_norm(jnp, y, axis), (p,), (vj,))[1])

        results["jax"] = float(jax.jvp(inner, (xj,), (uj,))[1])
    except ImportError:
        pass
    print(f"{name} (torch {torch.__version__}):")
    for label, value in results.items():
        print(f"  {label:20} {value:.12g}")


check("layer_norm", torch_layer_norm, -1)
check("batch_norm", torch_batch_norm, 0)
