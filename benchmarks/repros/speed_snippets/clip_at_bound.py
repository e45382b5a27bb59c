"""kink.clip-at-bound's Jacobian (clamp to [-1, 1] of 6 entries, two of them on a bound) by each of the 12
torch methods the harness timed in its rounds, written out without the harness: ab called the case 0.863x
[0.804, 0.927] on 2.15.0 against 2.14.1."""
import torch

x = torch.tensor([-1.0, -0.375, 1.0, 0.25, 2.0, -1.75], dtype=torch.float64)
n = x.numel()


def f(t):
    return torch.clamp(t, -1.0, 1.0)


def grad_loop():
    leaf = x.detach().clone().requires_grad_(True)
    y = f(leaf)
    rows = []
    for i in range(n):
        onehot = torch.zeros_like(y)
        onehot[i] = 1
        rows.append(torch.autograd.grad(y, leaf, grad_outputs=onehot, retain_graph=True)[0])
    return torch.stack(rows)


def backward_onehot():
    leaf = x.detach().clone().requires_grad_(True)
    y = f(leaf)
    rows = []
    for i in range(n):
        leaf.grad = None
        onehot = torch.zeros_like(y)
        onehot[i] = 1
        y.backward(onehot, retain_graph=True)
        rows.append(leaf.grad.clone())
    return torch.stack(rows)


def batched_backward():
    leaf = x.detach().unsqueeze(0).repeat(n, 1).requires_grad_(True)
    f(leaf).backward(torch.eye(n, dtype=x.dtype))
    return leaf.grad


def forward_ad():
    fwad = torch.autograd.forward_ad
    columns = []
    for j in range(n):
        tangent = torch.zeros_like(x)
        tangent[j] = 1
        with fwad.dual_level():
            columns.append(fwad.unpack_dual(f(fwad.make_dual(x, tangent))).tangent)
    return torch.stack(columns, dim=-1)


def jvp_vjp():
    generator = torch.Generator().manual_seed(0)
    u = torch.randn(n, dtype=x.dtype, generator=generator)
    v = torch.randn(n, dtype=x.dtype, generator=generator)
    _, ju = torch.func.jvp(f, (x,), (u,))
    _, pullback = torch.func.vjp(f, x)
    return (v * ju).sum(), (pullback(v)[0] * u).sum()


functional = torch.autograd.functional.jacobian
jacrev, jacfwd = torch.func.jacrev(f, argnums=(0,)), torch.func.jacfwd(f, argnums=(0,))
compiled_jacrev = torch.compile(torch.func.jacrev(f, argnums=(0,)))
compiled_jacrev(x)  # compiled before timing, as the harness's preparation does
torch._dynamo.reset()  # noqa: SLF001 - each compiled Jacobian gets its own dynamo cache, as in the harness
compiled_jacfwd = torch.compile(torch.func.jacfwd(f, argnums=(0,)))
compiled_jacfwd(x)

JACOBIANS = {
    "grad-loop": grad_loop,
    "backward-onehot": backward_onehot,
    "batched-backward": batched_backward,
    "autograd.functional.jacobian": lambda: functional(f, (x,)),
    "autograd.functional.jacobian[vectorize]": lambda: functional(f, (x,), vectorize=True),
    "autograd.functional.jacobian[forward-mode]": lambda: functional(f, (x,), vectorize=True,
                                                                     strategy="forward-mode"),
    "func.jacrev": lambda: jacrev(x),
    "func.jacfwd": lambda: jacfwd(x),
    "forward_ad": forward_ad,
    "compile[jacrev]": lambda: compiled_jacrev(x),
    "compile[jacfwd]": lambda: compiled_jacfwd(x),
    "jvp-vjp": jvp_vjp,
}
