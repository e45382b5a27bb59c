"""PyTorch: every way the forum thread and today's API give a Jacobian.

Each builder receives the `torch` module and a Problem; it returns the zero-argument call that is timed.
All calls include the forward pass, as a user's call would.
"""

from __future__ import annotations

import numpy as np

from jacobian_harness.adapters.base import (COMPOSITIONS, Backend, Unsupported, project_reference, projection_vectors,
                                   second_order_directions)


# What torch says when a transform or a formula does not exist (as opposed to a wrong or a crashing one): an
# autograd.Function unfit for torch.func, an op without a batching rule under vmap, randomness under vmap, a
# derivative of a derivative that torch does not implement.
UNSUPPORTED_BY_TORCH_FUNC = ("must override the setup_context staticmethod", "does not have vmap support",
                             "Batching rule not implemented for", "does not yet have a batching rule",
                             "support calling random operations inside of vmap",
                             "called random operation while in randomness error mode", "is not implemented")


class TorchBackend(Backend):
    name = "torch"
    import_name = "torch"
    packages = ("torch", "array-api-compat")
    extra = "torch"
    checked = ("2.13.0", "2.14.1", "2.15.0")
    colour = "#e65100"

    def namespace(self, torch):
        import array_api_compat.torch

        return array_api_compat.torch

    def asarray(self, torch, array, dtype):
        tensor = torch.from_numpy(np.array(array, copy=True))
        return tensor.to(getattr(torch, dtype)) if tensor.is_floating_point() else tensor

    def to_numpy(self, torch, value):
        value = value.detach().cpu().resolve_conj().resolve_neg()
        if value._is_zerotensor():  # a structural zero (some backward formulas return one): no storage to read
            value = torch.zeros(value.shape, dtype=value.dtype)
        return value.numpy()

    def set_threads(self, torch, threads):
        torch.set_num_threads(threads)

    def classify(self, exc):
        # Ops without a forward-mode rule raise NotImplementedError ("Trying to use forward AD with ...");
        # an autograd.Function written without setup_context or a vmap rule cannot enter torch.func.
        if isinstance(exc, (Unsupported, NotImplementedError)):
            return "unsupported"
        if isinstance(exc, RuntimeError) and any(text in str(exc) for text in UNSUPPORTED_BY_TORCH_FUNC):
            return "unsupported"
        return "error"

    def hint(self, exc):
        text = str(exc)
        # An nn.Module's parameters are float32 unless converted: in a float64 run they meet float64 inputs.
        if isinstance(exc, RuntimeError) and any(clue in text for clue in DTYPE_MISMATCH) and (
                "Float" in text or "float" in text):
            return ("float32 parameters (an nn.Module is float32 until converted) met float64 inputs: call "
                    "module.double() for this float64 run, or run it with --dtype float32")
        return ""


# How torch says that two operands of one op have different dtypes.
DTYPE_MISMATCH = ("must have the same dtype", "expected scalar type", "should be the same", "found dtype")

torch_backend = TorchBackend()
method = torch_backend.method


def _leaves(torch, args):
    return [a.detach().clone().requires_grad_(True) for a in args]


def _row_jacobian(torch, problem, rows):
    """Assemble per-output-element gradient rows into blocks of shape out.shape + in.shape."""
    return tuple(torch.stack(block).reshape(problem.out_shape + tuple(a.shape))
                 for block, a in zip(zip(*rows, strict=True), problem.args, strict=True))


@method("torch.grad-loop", mode="reverse")
def _grad_loop(torch, p):
    """The thread's helper: one torch.autograd.grad call per output element, one-hot grad_outputs."""

    def jacobian():
        xs = _leaves(torch, p.args)
        y = p.fn(*xs)
        flat = y.reshape(-1)
        rows = []
        for i in range(flat.numel()):
            onehot = torch.zeros_like(flat)
            onehot[i] = 1
            grads = torch.autograd.grad(flat, xs, grad_outputs=onehot, retain_graph=True, allow_unused=True)
            rows.append([torch.zeros_like(x) if g is None else g for g, x in zip(grads, xs, strict=True)])
        return _row_jacobian(torch, p, rows)

    return jacobian


@method("torch.backward-onehot", mode="reverse")
def _backward_onehot(torch, p):
    """Tensor.backward with one-hot grad_tensors per output element and retain_graph=True."""

    def jacobian():
        xs = _leaves(torch, p.args)
        y = p.fn(*xs)
        rows = []
        for i in range(y.numel()):
            for x in xs:
                x.grad = None
            onehot = torch.zeros_like(y).reshape(-1)
            onehot[i] = 1
            y.backward(onehot.reshape(y.shape), retain_graph=True)
            rows.append([torch.zeros_like(x) if x.grad is None else x.grad.clone() for x in xs])
        return _row_jacobian(torch, p, rows)

    return jacobian


@method("torch.batched-backward", mode="reverse", batch="out")
def _batched_backward(torch, p):
    """One backward over a batch of copies of the input (the thread's trick); row-independent cases only."""
    if p.per_sample:
        return _per_sample_batched(torch, p)
    if not p.row_independent:
        raise Unsupported("needs a row-independent case (f must map over an extra leading axis of its inputs)")
    n_out = int(np.prod(p.out_shape))

    def jacobian():
        xs = [a.detach().unsqueeze(0).repeat((n_out,) + (1,) * a.ndim).requires_grad_(True) for a in p.args]
        y = p.fn(*xs).reshape(n_out, n_out)
        y.backward(torch.eye(n_out, dtype=y.dtype))
        return tuple(x.grad.reshape(p.out_shape + tuple(a.shape)) for x, a in zip(xs, p.args, strict=True))

    return jacobian


def _per_sample_batched(torch, p):
    # Axis 0 is a batch of independent samples: tile each sample once per output feature, so one
    # backward yields every sample's Jacobian (batch, *out[1:], *in[1:]).
    batch = p.out_shape[0]
    n_feat = int(np.prod(p.out_shape[1:]))

    def jacobian():
        xs = [a.detach().repeat((n_feat,) + (1,) * (a.ndim - 1)).requires_grad_(True) for a in p.args]
        y = p.fn(*xs).reshape(n_feat, batch, n_feat)
        seed = torch.eye(n_feat, dtype=y.dtype).unsqueeze(1).expand(n_feat, batch, n_feat)
        y.backward(seed)
        return tuple(
            x.grad.reshape((n_feat, batch) + tuple(a.shape[1:])).movedim(0, 1)
            .reshape((batch,) + tuple(p.out_shape[1:]) + tuple(a.shape[1:]))
            for x, a in zip(xs, p.args, strict=True))

    return jacobian


def _functional(torch, p, **options):
    jacobian = torch.autograd.functional.jacobian
    return lambda: _as_blocks(jacobian(p.fn, p.args, **options))


def _as_blocks(result):
    return tuple(result) if isinstance(result, (tuple, list)) else (result,)


@method("torch.autograd.functional.jacobian", mode="reverse")
def _af_jacobian(torch, p):
    """torch.autograd.functional.jacobian, default (one backward per output element)."""
    return _functional(torch, p)


@method("torch.autograd.functional.jacobian[vectorize]", mode="reverse", batch="out")
def _af_jacobian_vectorized(torch, p):
    """torch.autograd.functional.jacobian(vectorize=True): batched backward through vmap."""
    return _functional(torch, p, vectorize=True)


@method("torch.autograd.functional.jacobian[forward-mode]", mode="forward", batch="in")
def _af_jacobian_forward(torch, p):
    """torch.autograd.functional.jacobian(vectorize=True, strategy="forward-mode")."""
    return _functional(torch, p, vectorize=True, strategy="forward-mode")


def _argnums(p):
    return tuple(range(len(p.args)))


@method("torch.func.jacrev", mode="reverse", reference=True, batch="out", chunks=True)
def _func_jacrev(torch, p):
    """torch.func.jacrev over every input (vmap of vjp)."""
    jacobian = torch.func.jacrev(p.fn, argnums=_argnums(p), chunk_size=p.chunk_size)
    return lambda: jacobian(*p.args)


@method("torch.func.jacfwd", mode="forward", reference=True, batch="in")
def _func_jacfwd(torch, p):
    """torch.func.jacfwd over every input (vmap of jvp)."""
    jacobian = torch.func.jacfwd(p.fn, argnums=_argnums(p))  # no chunk_size: only jacrev has one
    return lambda: jacobian(*p.args)


@method("torch.forward_ad", mode="forward")
def _forward_ad(torch, p):
    """Dual numbers from torch.autograd.forward_ad: one forward pass per input element (column)."""
    fwad = torch.autograd.forward_ad

    def jacobian():
        blocks = []
        for k, arg in enumerate(p.args):
            columns = []
            for j in range(arg.numel()):
                tangent = torch.zeros_like(arg).reshape(-1)
                tangent[j] = 1
                with fwad.dual_level():
                    duals = [fwad.make_dual(a, tangent.reshape(a.shape)) if i == k else a
                             for i, a in enumerate(p.args)]
                    out_tangent = fwad.unpack_dual(p.fn(*duals)).tangent
                columns.append(torch.zeros(p.out_shape, dtype=arg.dtype) if out_tangent is None else out_tangent)
            blocks.append(torch.stack(columns, dim=-1).reshape(p.out_shape + tuple(arg.shape)))
        return tuple(blocks)

    return jacobian


def _compiled(torch, transform, p):
    # Every case wraps the same torch.func code object: without a reset, dynamo's per-code cache
    # fills after a few cases and later cases silently fall back to eager, which would falsify timings.
    torch._dynamo.reset()
    jacobian = torch.compile(transform(p.fn, argnums=_argnums(p)))
    return lambda: jacobian(*p.args)


def _compile(torch, fn):
    return torch.compile(fn)


@method("torch.compile[jacrev]", mode="reverse", batch="out", baseline=_compile)
def _compile_jacrev(torch, p):
    """torch.compile(torch.func.jacrev(f)); the first (compiling) call counts as preparation."""
    return _compiled(torch, torch.func.jacrev, p)


@method("torch.compile[jacfwd]", mode="forward", batch="in", baseline=_compile)
def _compile_jacfwd(torch, p):
    """torch.compile(torch.func.jacfwd(f)); the first (compiling) call counts as preparation."""
    return _compiled(torch, torch.func.jacfwd, p)


# -- Hessians of a scalar f of one input (order-2 cases) ---------------------------------------------------

@method("torch.func.hessian", mode="forward-over-reverse", batch="in", order=2, reference=True)
def _func_hessian(torch, p):
    """torch.func.hessian (jacfwd of jacrev)."""
    hessian = torch.func.hessian(p.fn)
    return lambda: hessian(*p.args)


@method("torch.autograd.functional.hessian", mode="reverse-over-reverse", order=2)
def _af_hessian(torch, p):
    """torch.autograd.functional.hessian, default (one double-backward per gradient element)."""
    hessian = torch.autograd.functional.hessian
    return lambda: hessian(p.fn, p.args[0])


@method("torch.func.jacfwd(jacrev)", mode="forward-over-reverse", batch="in", order=2)
def _func_jacfwd_jacrev(torch, p):
    """torch.func.jacfwd(torch.func.jacrev(f)), written out."""
    hessian = torch.func.jacfwd(torch.func.jacrev(p.fn))
    return lambda: hessian(*p.args)


@method("torch.func.jacrev(jacrev)", mode="reverse-over-reverse", batch="out", order=2)
def _func_jacrev_jacrev(torch, p):
    """torch.func.jacrev(torch.func.jacrev(f))."""
    hessian = torch.func.jacrev(torch.func.jacrev(p.fn))
    return lambda: hessian(*p.args)


@method("torch.func.jacfwd(jacfwd)", mode="forward-over-forward", batch="in", order=2)
def _func_jacfwd_jacfwd(torch, p):
    """torch.func.jacfwd(torch.func.jacfwd(f)): both derivatives by the forward-mode rules."""
    hessian = torch.func.jacfwd(torch.func.jacfwd(p.fn))
    return lambda: hessian(*p.args)


@method("torch.func.jacrev(jacfwd)", mode="reverse-over-forward", batch="out", order=2)
def _func_jacrev_jacfwd(torch, p):
    """torch.func.jacrev(torch.func.jacfwd(f)): the forward-mode rules, differentiated in reverse."""
    hessian = torch.func.jacrev(torch.func.jacfwd(p.fn))
    return lambda: hessian(*p.args)


@method("torch.compile[hessian]", mode="forward-over-reverse", batch="in", order=2, baseline=_compile)
def _compile_hessian(torch, p):
    """torch.compile(torch.func.hessian(f)); the first (compiling) call counts as preparation."""
    torch._dynamo.reset()  # see _compiled
    hessian = torch.compile(torch.func.hessian(p.fn))
    return lambda: hessian(*p.args)


# -- the second-order check: w^T f''(x)[u, v] by each composition of torch.func.jvp and torch.func.vjp --------

def _second_order(torch, p, composition):
    outer, inner = composition.split("-")
    w, us, vs = second_order_directions(p)
    dtype = p.args[0].dtype
    w = torch.as_tensor(w, dtype=dtype)
    us = tuple(torch.as_tensor(u, dtype=a.dtype) for u, a in zip(us, p.args, strict=True))
    vs = tuple(torch.as_tensor(v, dtype=a.dtype) for v, a in zip(vs, p.args, strict=True))

    def directional(*xs):  # w^T J(x) v
        if inner == "fwd":
            return (w * torch.func.jvp(p.fn, xs, vs)[1]).sum()
        _, pullback = torch.func.vjp(p.fn, *xs)
        return sum((g * v).sum() for g, v in zip(pullback(w), vs, strict=True))

    if outer == "fwd":
        return lambda: (torch.func.jvp(directional, p.args, us)[1].reshape(1),)
    gradient = torch.func.grad(directional, argnums=_argnums(p))
    return lambda: (sum((g * u).sum() for g, u in zip(gradient(*p.args), us, strict=True)).reshape(1),)


def _register_second_order(composition: str, mode: str) -> None:
    def build(torch, p):
        return _second_order(torch, p, composition)

    build.__doc__ = (f"w^T f''(x)[u, v] for fixed random u, v, w, {mode}: torch.func."
                     + ("jvp" if composition[:3] == "fwd" else "grad") + " of w^T J v by torch.func."
                     + ("jvp" if composition[4:] == "fwd" else "vjp") + ".")
    method(f"torch.second-order[{composition}]", mode=mode, quantity="second-order",
           reference=composition == "fwd-rev")(build)


for _composition, _mode in COMPOSITIONS.items():
    _register_second_order(_composition, _mode)


# -- the jvp/vjp consistency check (gradcheck's fast mode, across torch's two modes) -----------------------

@method("torch.jvp-vjp", mode="check", project=project_reference)
def _jvp_vjp(torch, p):
    """v^T (J u) by torch.func.jvp and (v^T J) u by torch.func.vjp, for fixed random u, v."""
    v, us = projection_vectors(p)
    v = torch.as_tensor(v, dtype=p.args[0].dtype)
    us = tuple(torch.as_tensor(u, dtype=a.dtype) for u, a in zip(us, p.args, strict=True))

    def check():
        _, ju = torch.func.jvp(p.fn, p.args, us)
        _, pullback = torch.func.vjp(p.fn, *p.args)
        vj = pullback(v)
        return (torch.stack([(v * ju).sum(), sum((g * u).sum() for g, u in zip(vj, us, strict=True))]),)

    return check
