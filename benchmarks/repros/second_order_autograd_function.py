"""Standalone repro (no harness): nested forward mode through a torch.autograd.Function loses the second
derivative (pytorch/pytorch#197867).

The Function is sin with correct backward and jvp rules (setup_context style, save_for_forward). Printed:
d2/dt ds of w . sin(x + t u + s v) at 0 by the formula, by plain torch.sin under all four compositions, and
by the Function. Seen on torch 2.13.0, 2.14.1 and 2.15.0: the Function's forward-over-forward is 0, the other
three compositions are right.
"""

import torch


class Sin(torch.autograd.Function):
    @staticmethod
    def forward(x):
        return torch.sin(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])
        ctx.save_for_forward(inputs[0])

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * torch.cos(x)

    @staticmethod
    def jvp(ctx, tangent):
        (x,) = ctx.saved_tensors
        return tangent * torch.cos(x)

    @staticmethod
    def vmap(info, in_dims, x):
        return Sin.apply(x), in_dims[0]


def compositions(f, x, u, v, w):
    inner = {"fwd": lambda y: (w * torch.func.jvp(f, (y,), (v,))[1]).sum(),
             "rev": lambda y: (torch.func.vjp(f, y)[1](w)[0] * v).sum()}
    out = {}
    for name, g in inner.items():
        out["fwd-" + name] = f"{torch.func.jvp(g, (x,), (u,))[1].item():.10g}"
        out["rev-" + name] = f"{(torch.func.grad(g)(x) * u).sum().item():.10g}"
    return out


generator = torch.Generator().manual_seed(0)
x, u, v, w = (torch.randn(4, dtype=torch.float64, generator=generator) for _ in range(4))
print("torch", torch.__version__)
print(f"formula {(w * -torch.sin(x) * u * v).sum().item():.10g}")
print("torch.sin     ", compositions(torch.sin, x, u, v, w))
print("Function Sin  ", compositions(Sin.apply, x, u, v, w))
