"""Finite differences in NumPy float64: the reference that shares no code with any AD framework."""

from __future__ import annotations

import numpy as np

from jacobian_harness.adapters.base import Backend, Unsupported, second_order_directions


class NumpyBackend(Backend):
    name = "fd"
    import_name = "numpy"
    packages = ("numpy", "numdifftools")
    checked = ("2.4.6",)  # NumPy's version
    colour = "#616161"

    def namespace(self, numpy):
        return numpy

    def asarray(self, numpy, array, dtype):
        return np.array(array, copy=True)


fd_backend = NumpyBackend()


def _with_input(p, k, value):
    args = list(p.args)
    args[k] = value
    return args


def _at_step(fn):
    """f at a finite-difference step: f ran at the point itself, so a failure here means a step left f's
    domain (a matrix no longer positive definite, a probability outside [0, 1]): no verdict for the scheme."""
    def stepped(*args):
        try:
            return fn(*args)
        except Exception as exc:  # noqa: BLE001  (whatever f raises off its domain; said, not hidden)
            raise Unsupported(f"f fails at a finite-difference step, outside its domain near this point: "
                              f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc
    return stepped


@fd_backend.method("fd.central", mode="fd", reference=True, dtypes=("float64",))
def _central(numpy, p):
    """Central differences, step eps**(1/3) * max(1, |x|) per element (error ~1e-8 relative)."""
    fn = _at_step(p.fn)

    def jacobian():
        blocks = []
        for k, arg in enumerate(p.args):
            flat = arg.reshape(-1)
            columns = np.empty((int(np.prod(p.out_shape)), flat.size))
            for j in range(flat.size):
                step = np.finfo(np.float64).eps ** (1 / 3) * max(1.0, abs(flat[j]))
                up, down = flat.copy(), flat.copy()
                up[j] += step
                down[j] -= step
                f_up = np.asarray(fn(*_with_input(p, k, up.reshape(arg.shape)))).reshape(-1)
                f_down = np.asarray(fn(*_with_input(p, k, down.reshape(arg.shape)))).reshape(-1)
                # Divide by the step actually taken, which rounding may have changed.
                columns[:, j] = (f_up - f_down) / (up[j] - down[j])
            blocks.append(columns.reshape(p.out_shape + arg.shape))
        return tuple(blocks)

    return jacobian


@fd_backend.method("fd.richardson", mode="fd", reference=True, requires=("numdifftools",), dtypes=("float64",))
def _richardson(numpy, p):
    """numdifftools.Jacobian: central differences with Richardson extrapolation over adaptive steps."""
    import numdifftools

    fn = _at_step(p.fn)

    def flat_in(k, arg):
        return lambda v: np.asarray(fn(*_with_input(p, k, v.reshape(arg.shape)))).reshape(-1)

    jacobians = [numdifftools.Jacobian(flat_in(k, arg)) for k, arg in enumerate(p.args)]

    def jacobian():
        return tuple(np.reshape(jac(arg.reshape(-1)), p.out_shape + arg.shape)
                     for jac, arg in zip(jacobians, p.args, strict=True))

    return jacobian


@fd_backend.method("fd.hessian", mode="fd", order=2, reference=True, requires=("numdifftools",),
                   dtypes=("float64",))
def _hessian(numpy, p):
    """numdifftools.Hessian: second differences of f with Richardson extrapolation (no gradient needed)."""
    import numdifftools

    (arg,) = p.args
    fn = _at_step(p.fn)
    hessian = numdifftools.Hessian(lambda v: float(np.asarray(fn(v.reshape(arg.shape)))))
    return lambda: (np.reshape(hessian(arg.reshape(-1)), arg.shape + arg.shape),)


@fd_backend.method("fd.second-order", mode="fd", quantity="second-order", reference=True,
                   requires=("numdifftools",), dtypes=("float64",))
def _second_order(numpy, p):
    """w^T f''(x)[u, v] as the mixed second difference of g(t, s) = w^T f(x + t u + s v), with Richardson
    extrapolation (numdifftools.Hessian of g at 0): finite differences along u of the derivative along v."""
    import numdifftools

    w, us, vs = second_order_directions(p)
    fn = _at_step(p.fn)

    def restricted(ts):
        t, s = ts
        moved = [a + t * u + s * v for a, u, v in zip(p.args, us, vs, strict=True)]
        return float(np.sum(w * np.asarray(fn(*moved))))

    # Steps from 1e-2 down: numdifftools' default first step (about 2) can cross a singularity near the point
    # (op.slogdet: log|det| of a matrix with det 0.09 came out 0.90 instead of 227.4).
    hessian = numdifftools.Hessian(restricted, step=numdifftools.MaxStepGenerator(base_step=1e-2))
    return lambda: (np.reshape(hessian(np.zeros(2))[0, 1], (1,)),)
