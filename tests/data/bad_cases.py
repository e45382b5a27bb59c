"""A user's case file with every kind of mistake a function can make (tests/test_cli.py)."""
import numpy as np

from jacobian_harness import case


@case(id="bad.raises", inputs=(np.ones(3),))
def raises(xp, x):
    raise RuntimeError("my function is broken")


@case(id="bad.nan-output", inputs=(np.ones(3),))
def nan_output(xp, x):
    return x * float("nan")


@case(id="bad.int-output", inputs=(np.ones(3),))
def int_output(xp, x):
    return xp.astype(x > 0, xp.int64)


@case(id="bad.complex-output", inputs=(np.ones(3),))
def complex_output(xp, x):
    return x * 1j


@case(id="bad.scalar-input", inputs=(np.array(2.0),), analytic=lambda x: np.array(3 * 2.0**2))
def scalar_input(xp, x):
    return x**3


@case(id="bad.empty-input", inputs=(np.ones(0),))
def empty_input(xp, x):
    return xp.sin(x)


@case(id="bad.shape-per-backend", inputs=(np.ones(3),))
def shape_per_backend(xp, x):
    # A backend-dependent shape: NumPy's namespace (finite differences) sees one element fewer.
    return x[:-1] if xp is np else x


@case(id="bad.not-differentiable", inputs=(np.ones(3),))
def not_differentiable(xp, x):
    return xp.nextafter(x, x + 1)  # no derivative rule in torch, JAX or autograd
