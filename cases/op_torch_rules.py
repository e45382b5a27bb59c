"""Ops whose torch derivative rules are out of the ordinary (op.*): ops that torch implements without a
forward-mode rule (cdist, pdist, embedding_bag, index_reduce), which run through that op in the torch
implementation so that its forward-mode methods come out `unsupported`, with the reason; and a user's own rules,
a torch.autograd.Function with backward, jvp and vmap rules."""

from __future__ import annotations

import functools

import numpy as np

from jacobian_harness.casedef import case
from jacobian_harness.cases._common import SECOND_ORDER_CHECKED, diag_jacobian, diverging, linear_map_jacobian, normal


_NO_FORWARD = "torch implements {op} without a forward-mode (jvp) rule"


def _distances(xp, a, b):
    d = a[:, None, :] - b[None, :, :]
    return xp.sqrt(xp.sum(d * d, axis=-1))


def _cdist_jacobian(a, b):
    d = a[:, None, :] - b[None, :, :]
    unit = d / np.sqrt((d * d).sum(-1, keepdims=True))                 # (n, m, k)
    n, m, k = unit.shape
    d_a = np.einsum("ip,ijq->ijpq", np.eye(n), unit)
    d_b = -np.einsum("jp,ijq->ijpq", np.eye(m), unit)
    return d_a, d_b


@case(id="op.cdist", tags={"op", "linalg", "no-forward-rule"},
      inputs=lambda rng: (rng.standard_normal((3, 2)), rng.standard_normal((2, 2))),
      analytic=_cdist_jacobian,
      divergences=diverging(["torch.func.jacrev", "torch.compile[jacrev]"], kind="bug",
                            reason="torch.func.vmap over the vjp of torch.cdist gives wrong finite values "
                                   "(the batching of cdist's backward mixes up the batched cotangents); one vjp "
                                   "per output (torch.autograd.grad, autograd.functional.jacobian, vectorize=True) "
                                   "is right. Repro (torch 2.13.0): a, b = torch.randn(2, 2, dtype=torch.float64), "
                                   "torch.randn(2, 2, dtype=torch.float64); _, vjp = torch.func.vjp(torch.cdist, "
                                   "a, b); E = torch.eye(4, dtype=torch.float64).reshape(4, 2, 2); "
                                   "torch.func.vmap(vjp)(E)[0] differs from torch.stack([vjp(e)[0] for e in E])"),
      impls={"torch": "torch.cdist"})
def cdist(xp, a, b):
    """Euclidean distances between the rows of a and b: torch.cdist in torch (no forward-mode rule), a
    broadcast difference elsewhere."""
    return _distances(xp, a, b)


_PAIRS = np.triu_indices(4, k=1)


def _pdist_jacobian(a):
    i, j = _PAIRS
    d = a[i] - a[j]
    unit = d / np.linalg.norm(d, axis=-1, keepdims=True)
    eye = np.eye(a.shape[0])
    return np.einsum("pr,pq->prq", eye[i] - eye[j], unit).transpose(0, 1, 2)


@case(id="op.pdist", tags={"op", "linalg", "no-forward-rule"}, inputs=lambda rng: (rng.standard_normal((4, 2)),),
      analytic=_pdist_jacobian, impls={"torch": "torch.nn.functional.pdist"})
def pdist(xp, a):
    """Distances between all pairs of rows of a 4x2 matrix: torch.nn.functional.pdist in torch (no
    forward-mode rule), an indexed difference elsewhere."""
    i, j = _PAIRS
    d = a[i] - a[j]
    return xp.sqrt(xp.sum(d * d, axis=-1))


_BAG_INDEX = np.array([4, 0, 2, 2, 1, 4])
_BAG_OFFSETS = np.array([0, 2, 4])


def _embedding_bag_torch(weight, index, offsets):
    import torch

    return torch.nn.functional.embedding_bag(index, weight, offsets, mode="sum")


@case(id="op.embedding-bag", tags={"op", "indexing", "no-forward-rule"}, wrt=(0,),
      inputs=lambda rng: (rng.standard_normal((5, 2)), _BAG_INDEX.copy(), _BAG_OFFSETS.copy()),
      analytic=lambda w, index, offsets: linear_map_jacobian(
          lambda t: t[index].reshape(3, 2, 2).sum(axis=1), w.shape),
      impls={"torch": _embedding_bag_torch})
def embedding_bag(xp, weight, index, offsets):
    """Sums of bags of 2 embedding rows (a repeated row inside a bag): torch.nn.functional.embedding_bag in
    torch (no forward-mode rule), take and sum elsewhere."""
    return xp.sum(xp.reshape(weight[index], (3, 2, 2)), axis=1)


_REDUCE_INDEX = np.array([0, 2, 0])


def _index_mean_matrix():
    """out = M @ concat(x, src): row i averages x[i] and the source rows sent to i (include_self)."""
    m = np.zeros((4, 7))
    for i in range(4):
        members = [i] + [4 + j for j in np.flatnonzero(_REDUCE_INDEX == i)]
        m[i, members] = 1.0 / len(members)
    return m


def _index_reduce_jacobian(x, src):
    m = _index_mean_matrix()
    eye = np.eye(x.shape[1])
    return np.einsum("ik,jl->ijkl", m[:, :4], eye), np.einsum("ik,jl->ijkl", m[:, 4:], eye)


def _index_reduce_torch(x, src, index):
    return x.index_reduce(0, index, src, "mean", include_self=True)


@case(id="op.index-reduce", tags={"op", "indexing", "no-forward-rule"}, wrt=(0, 1),
      inputs=lambda rng: (rng.standard_normal((4, 2)), rng.standard_normal((3, 2)), _REDUCE_INDEX.copy()),
      analytic=lambda x, src, index: _index_reduce_jacobian(x, src),
      impls={"torch": _index_reduce_torch})
def index_reduce(xp, x, src, index):
    """Row means of x with source rows added at a repeated index: Tensor.index_reduce(0, index, src,
    "mean") in torch (no forward-mode rule), a constant averaging matrix elsewhere."""
    m = xp.asarray(_index_mean_matrix(), dtype=x.dtype)
    return xp.matmul(m, xp.concatenate((x, src), axis=0))


# --------------------------------------------------------------------------------------------------------
# A user's own derivative rules: a torch.autograd.Function with backward, jvp and vmap rules, all correct.

_AUTOGRAD_FUNCTION_FWD_FWD = (
    "nested forward mode through a torch.autograd.Function loses the Function's second derivative: "
    "jvp of jvp (forward over forward) gives 0 for its part although its jvp rule is written in torch ops and "
    "saved with save_for_forward; the other three compositions are right. Repro: python "
    "benchmarks/repros/second_order_autograd_function.py")


def _sin_times_x_jacobian(x):
    return diag_jacobian(np.cos(x) * x + np.sin(x))


def _autograd_function_torch(x):
    return _torch_sin_function().apply(x) * x


@case(id="op.autograd-function", tags={"op", "elementwise", "custom-rule"}, inputs=normal(5),
      row_independent=True, analytic=_sin_times_x_jacobian,
      divergences=diverging(["torch.second-order[fwd-fwd]"], kind="bug", issue="pytorch/pytorch#197867",
                            checked=SECOND_ORDER_CHECKED, reason=_AUTOGRAD_FUNCTION_FWD_FWD),
      impls={"torch": _autograd_function_torch})
def autograd_function(xp, x):
    """sin(x) * x, with sin a torch.autograd.Function (setup_context style) in torch: a user's own backward,
    jvp and vmap rules, the way custom kernels enter torch."""
    return xp.sin(x) * x


@functools.lru_cache(maxsize=1)
def _torch_sin_function():
    """One class for the whole process (a class made per call would be a new function to torch.compile)."""
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

    return Sin
