"""The det family's second-order compositions, written out without the harness (w^T f''(A)[U, V] for fixed
random directions, as the harness's torch.second-order[...] methods compute it, and the full Hessian by
jacfwd(jacfwd)) on a 3x3 matrix, with jacrev as the control: torch 2.15.0 fixed the forward-mode rules of det
and slogdet (pytorch#192540), and the fix costs time in the compositions that use them twice."""
import torch

generator = torch.Generator().manual_seed(0)
a = torch.randn(3, 3, generator=generator, dtype=torch.float64)
u = torch.randn(3, 3, generator=generator, dtype=torch.float64)
v = torch.randn(3, 3, generator=generator, dtype=torch.float64)


def slogdet(t):
    return torch.linalg.slogdet(t)[1]


def det(t):
    return torch.linalg.det(t)


def fwd_fwd(f):
    def directional(t):  # J(t) v, by forward mode
        return torch.func.jvp(f, (t,), (v,))[1]

    return lambda: torch.func.jvp(directional, (a,), (u,))[1]


def rev_fwd(f):
    def directional(t):
        return torch.func.jvp(f, (t,), (v,))[1]

    gradient = torch.func.grad(directional)
    return lambda: (gradient(a) * u).sum()


def rev_rev(f):
    def directional(t):  # w^T J(t) v, by reverse mode (w = 1: f is a scalar)
        _, pullback = torch.func.vjp(f, t)
        return (pullback(torch.ones(()))[0] * v).sum()

    gradient = torch.func.grad(directional)
    return lambda: (gradient(a) * u).sum()


JACOBIANS = {
    "slogdet second-order[fwd-fwd]": fwd_fwd(slogdet),
    "slogdet second-order[rev-fwd]": rev_fwd(slogdet),
    "slogdet jacfwd(jacfwd)": lambda: torch.func.jacfwd(torch.func.jacfwd(slogdet))(a),
    "det second-order[fwd-fwd]": fwd_fwd(det),
    "det second-order[rev-rev]": rev_rev(det),
    "slogdet jacrev (control)": lambda: torch.func.jacrev(slogdet)(a),
}
