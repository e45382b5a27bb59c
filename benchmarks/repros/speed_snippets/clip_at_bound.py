"""kink.clip-at-bound's Jacobian (clamp to [-1, 1] of 6 entries, two of them on a bound) by four of torch's
methods in one call: ab called the case 0.863x [0.804, 0.927] on 2.15.0 against 2.14.1."""
import torch

x = torch.tensor([-1.0, -0.375, 1.0, 0.25, 2.0, -1.75], dtype=torch.float64)


def f(t):
    return torch.clamp(t, -1.0, 1.0)


def jacobian():
    torch.func.jacrev(f)(x)
    torch.func.jacfwd(f)(x)
    torch.autograd.functional.jacobian(f, x)
    return torch.autograd.functional.jacobian(f, x, vectorize=True)
