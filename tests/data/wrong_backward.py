"""A case whose torch implementation has a deliberately wrong custom backward (and forward-mode rule)."""

import numpy as np

from jacobian_harness import case


@case(id="user.wrong-backward", inputs=lambda rng: (rng.standard_normal(4),),
      analytic=lambda x: np.diag(np.cos(x)))
def wrong_backward(xp, x):
    return xp.sin(x)


@wrong_backward.impl("torch")
def _(x):
    import torch

    class BadSin(torch.autograd.Function):
        @staticmethod
        def forward(x):
            return torch.sin(x)

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 2 * torch.cos(x)  # deliberately wrong: the factor 2

        @staticmethod
        def jvp(ctx, tangent):
            return tangent * 2 * torch.cos(ctx.saved_tensors[0]) if ctx.saved_tensors else tangent

    return BadSin.apply(x)
