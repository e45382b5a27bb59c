"""HIPS autograd: NumPy only, one argnum at a time, one reverse pass per output element."""

from __future__ import annotations

import numpy as np

from jacobian_harness.adapters.base import Backend, project_reference, projection_vectors, second_order_directions


class AutogradBackend(Backend):
    name = "autograd"
    import_name = "autograd"
    packages = ("autograd",)
    extra = "autograd"
    checked = ("1.9.1",)
    colour = "#2e7d32"

    def namespace(self, autograd):
        import autograd.numpy

        return autograd.numpy

    def classify(self, exc):
        # Ops with no forward-mode rule raise NotImplementedError ("JVP of erf wrt argnums (0,) not defined").
        return "unsupported" if isinstance(exc, NotImplementedError) else super().classify(exc)

    def asarray(self, autograd, array, dtype):
        array = np.array(array, copy=True)
        return array.astype(dtype) if array.dtype.kind == "f" else array


autograd_backend = AutogradBackend()


@autograd_backend.method("autograd.jacobian", mode="reverse", reference=True)
def _jacobian(autograd, p):
    """autograd.jacobian, called once per differentiated input (it takes one argnum at a time)."""
    jacobians = [autograd.jacobian(p.fn, argnum=k) for k in range(len(p.args))]
    return lambda: tuple(jacobian(*p.args) for jacobian in jacobians)


@autograd_backend.method("autograd.hessian", mode="forward-over-reverse", order=2, reference=True)
def _hessian(autograd, p):
    """autograd.hessian (jacobian of jacobian) of a scalar f of one input."""
    hessian = autograd.hessian(p.fn)
    return lambda: hessian(*p.args)


@autograd_backend.method("autograd.jvp-vjp", mode="check", project=project_reference)
def _jvp_vjp(autograd, p):
    """v^T (J u) by autograd.make_jvp and (v^T J) u by autograd.make_vjp, per input, for fixed random u, v."""
    v, us = projection_vectors(p)
    v = v.astype(p.args[0].dtype)
    us = [u.astype(a.dtype) for u, a in zip(us, p.args, strict=True)]
    arguments = range(len(p.args))

    def check():
        forward = sum(np.sum(v * autograd.make_jvp(p.fn, k)(*p.args)(us[k])[1]) for k in arguments)
        reverse = sum(np.sum(autograd.make_vjp(p.fn, k)(*p.args)[0](v) * us[k]) for k in arguments)
        return (np.array([forward, reverse]),)

    return check


@autograd_backend.method("autograd.second-order[rev-rev]", mode="reverse-over-reverse", quantity="second-order",
                         reference=True)
def _second_order(autograd, p):
    """w^T f''(x)[u, v] for fixed random u, v, w, reverse-over-reverse: autograd.grad of w^T J v by
    autograd.make_vjp (autograd has no forward-over-anything: its make_jvp is itself two vjps)."""
    w, us, vs = second_order_directions(p)
    w = w.astype(p.args[0].dtype)
    us = [u.astype(a.dtype) for u, a in zip(us, p.args, strict=True)]
    vs = [v.astype(a.dtype) for v, a in zip(vs, p.args, strict=True)]

    def directional(*xs):  # w^T J(x) v, one vjp per input (make_vjp takes one argnum)
        total = 0.0
        for k, v in enumerate(vs):
            total = total + autograd.numpy.sum(autograd.make_vjp(p.fn, k)(*xs)[0](w) * v)
        return total

    gradients = [autograd.grad(directional, k) for k in range(len(p.args))]

    def check():
        return (np.reshape(sum(np.sum(gradient(*p.args) * u) for gradient, u in zip(gradients, us, strict=True)),
                           (1,)),)

    return check
