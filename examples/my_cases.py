"""Example case file: `jacobian-harness run --case-file examples/my_cases.py --cases wavy`."""

import numpy as np

from jacobian_harness import Divergence, case


@case(inputs=lambda rng: (rng.standard_normal(5),), tags={"mine"},
      analytic=lambda x: np.diag(np.cos(x) * x + np.sin(x)))
def wavy(xp, x):
    """sin(x) * x, elementwise: one definition for every backend."""
    return xp.sin(x) * x


@wavy.impl("torch")
def _(x):
    return _my_sin().apply(x) * x


def _my_sin():
    # Imported here, not at the top: the file must load where torch is not installed.
    import torch

    class MySin(torch.autograd.Function):
        """sin with hand-written derivatives; setup_context lets torch.func transforms use it."""

        generate_vmap_rule = True  # lets jacrev/jacfwd batch it

        @staticmethod
        def forward(x):
            return torch.sin(x)

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])
            ctx.save_for_forward(inputs[0])

        @staticmethod
        def backward(ctx, grad):
            return grad * torch.cos(ctx.saved_tensors[0])

        @staticmethod
        def jvp(ctx, tangent):
            return tangent * torch.cos(ctx.saved_tensors[0])

    return MySin


@case(inputs=(np.array([-1.0, 0.0, 2.0]),),
      divergences=(Divergence("jax.*", reason="JAX takes d|x|/dx = 1 at 0; torch and autograd take 0"),))
def my_abs(xp, x):
    """|x| at a kink: a documented convention, not a bug."""
    return xp.abs(x)
