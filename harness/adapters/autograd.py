"""HIPS autograd: NumPy only, one argnum at a time, one reverse pass per output element."""

from __future__ import annotations

import numpy as np

from harness.adapters.base import Backend, project_reference, projection_vectors


class AutogradBackend(Backend):
    name = "autograd"
    import_name = "autograd"

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
