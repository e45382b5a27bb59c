"""JAX, with float64 enabled before any array is made. Results are asynchronous: `sync` blocks on them."""

from __future__ import annotations

import numpy as np

from jacobian_harness.adapters.base import (COMPOSITIONS, Backend, project_reference, projection_vectors,
                                   second_order_directions)


class JaxBackend(Backend):
    name = "jax"
    import_name = "jax"
    packages = ("jax", "jaxlib")
    extra = "jax"
    checked = ("0.10.2",)
    colour = "#1565c0"

    def setup(self, jax):
        # Without this, JAX silently computes in float32 whatever dtype the inputs had.
        jax.config.update("jax_enable_x64", True)
        return jax

    def namespace(self, jax):
        return jax.numpy

    def asarray(self, jax, array, dtype):
        array = np.asarray(array)
        return jax.numpy.asarray(array.astype(dtype) if array.dtype.kind == "f" else array)

    def sync(self, jax, value):
        jax.block_until_ready(value)


jax_backend = JaxBackend()
method = jax_backend.method


def _transform(jax, transform, p, jit):
    jacobian = transform(p.fn, argnums=tuple(range(len(p.args))))
    if jit:
        jacobian = jax.jit(jacobian)
    return lambda: jacobian(*p.args)


@method("jax.jacrev", mode="reverse", batch="out", reference=True)
def _jacrev(jax, p):
    """jax.jacrev (vmap of vjp), traced again on every call."""
    return _transform(jax, jax.jacrev, p, jit=False)


@method("jax.jacfwd", mode="forward", batch="in", reference=True)
def _jacfwd(jax, p):
    """jax.jacfwd (vmap of jvp), traced again on every call."""
    return _transform(jax, jax.jacfwd, p, jit=False)


def _jit(jax, fn):
    return jax.jit(fn)


@method("jax.jit[jacrev]", mode="reverse", batch="out", baseline=_jit)
def _jit_jacrev(jax, p):
    """jax.jit(jax.jacrev(f)); the first (compiling) call counts as preparation."""
    return _transform(jax, jax.jacrev, p, jit=True)


@method("jax.jit[jacfwd]", mode="forward", batch="in", baseline=_jit)
def _jit_jacfwd(jax, p):
    """jax.jit(jax.jacfwd(f)); the first (compiling) call counts as preparation."""
    return _transform(jax, jax.jacfwd, p, jit=True)


# -- Hessians of a scalar f of one input (order-2 cases) ---------------------------------------------------

@method("jax.hessian", mode="forward-over-reverse", batch="in", order=2, reference=True)
def _hessian(jax, p):
    """jax.hessian (jacfwd of jacrev), traced again on every call."""
    hessian = jax.hessian(p.fn)
    return lambda: hessian(*p.args)


@method("jax.jit[hessian]", mode="forward-over-reverse", batch="in", order=2, baseline=_jit)
def _jit_hessian(jax, p):
    """jax.jit(jax.hessian(f)); the first (compiling) call counts as preparation."""
    hessian = jax.jit(jax.hessian(p.fn))
    return lambda: hessian(*p.args)


@method("jax.jacfwd(jacrev)", mode="forward-over-reverse", batch="in", order=2)
def _jacfwd_jacrev(jax, p):
    """jax.jacfwd(jax.jacrev(f)), written out."""
    hessian = jax.jacfwd(jax.jacrev(p.fn))
    return lambda: hessian(*p.args)


@method("jax.jacrev(jacrev)", mode="reverse-over-reverse", batch="out", order=2)
def _jacrev_jacrev(jax, p):
    """jax.jacrev(jax.jacrev(f))."""
    hessian = jax.jacrev(jax.jacrev(p.fn))
    return lambda: hessian(*p.args)


@method("jax.jacfwd(jacfwd)", mode="forward-over-forward", batch="in", order=2)
def _jacfwd_jacfwd(jax, p):
    """jax.jacfwd(jax.jacfwd(f)): both derivatives by the forward-mode (JVP) rules."""
    hessian = jax.jacfwd(jax.jacfwd(p.fn))
    return lambda: hessian(*p.args)


@method("jax.jacrev(jacfwd)", mode="reverse-over-forward", batch="out", order=2)
def _jacrev_jacfwd(jax, p):
    """jax.jacrev(jax.jacfwd(f)): the JVP rules, transposed."""
    hessian = jax.jacrev(jax.jacfwd(p.fn))
    return lambda: hessian(*p.args)


# -- the second-order check: w^T f''(x)[u, v] by each composition of jax.jvp and jax.vjp ----------------------

def _second_order(jax, p, composition):
    jnp = jax.numpy
    outer, inner = composition.split("-")
    w, us, vs = second_order_directions(p)
    w = jnp.asarray(w, dtype=p.args[0].dtype)
    us = tuple(jnp.asarray(u, dtype=a.dtype) for u, a in zip(us, p.args, strict=True))
    vs = tuple(jnp.asarray(v, dtype=a.dtype) for v, a in zip(vs, p.args, strict=True))

    def directional(*xs):  # w^T J(x) v
        if inner == "fwd":
            return (w * jax.jvp(p.fn, xs, vs)[1]).sum()
        _, pullback = jax.vjp(p.fn, *xs)
        return sum((g * v).sum() for g, v in zip(pullback(w), vs, strict=True))

    if outer == "fwd":
        def check(*xs):
            return jax.jvp(directional, xs, us)[1].reshape(1)
    else:
        gradient = jax.grad(directional, argnums=tuple(range(len(p.args))))

        def check(*xs):
            return sum((g * u).sum() for g, u in zip(gradient(*xs), us, strict=True)).reshape(1)
    # Under jax.jit, as jax.jvp-vjp: one XLA compilation instead of one dispatch per primitive.
    compiled = jax.jit(check)
    return lambda: (compiled(*p.args),)


def _register_second_order(composition: str, mode: str) -> None:
    def build(jax, p):
        return _second_order(jax, p, composition)

    build.__doc__ = (f"w^T f''(x)[u, v] for fixed random u, v, w, {mode}: jax."
                     + ("jvp" if composition[:3] == "fwd" else "grad") + " of w^T J v by jax."
                     + ("jvp" if composition[4:] == "fwd" else "vjp") + ", under jax.jit.")
    # Not a reference method: a run that leaves them out would still pay a jit compilation per case (minutes on
    # the medium workloads); the reference then has torch's, autograd's and finite differences' votes.
    method(f"jax.second-order[{composition}]", mode=mode, quantity="second-order", baseline=_jit)(build)


for _composition, _mode in COMPOSITIONS.items():
    _register_second_order(_composition, _mode)


@method("jax.jvp-vjp", mode="check", project=project_reference, baseline=_jit)
def _jvp_vjp(jax, p):
    """v^T (J u) by jax.jvp and (v^T J) u by jax.vjp, for fixed random u, v; under jax.jit (one XLA
    compilation instead of one per primitive: a check, not a method to recommend)."""
    jnp = jax.numpy
    v, us = projection_vectors(p)
    v = jnp.asarray(v, dtype=p.args[0].dtype)
    us = tuple(jnp.asarray(u, dtype=a.dtype) for u, a in zip(us, p.args, strict=True))

    def check():
        _, ju = jax.jvp(p.fn, p.args, us)
        _, pullback = jax.vjp(p.fn, *p.args)
        vj = pullback(v)
        return (jnp.stack([(v * ju).sum(), sum((g * u).sum() for g, u in zip(vj, us, strict=True))]),)

    return jax.jit(check)
