"""A backend with one method: forward differences in NumPy. A real adapter wraps a framework the same way:
a Backend subclass (how to import it, convert arrays, wait for results) and one function per method."""

import numpy as np

from jacobian_harness.adapters import Backend


class ForwardDifferences(Backend):
    name = "fwd"
    import_name = "numpy"  # imported by load(), never at module level

    def namespace(self, numpy):
        return numpy  # the `xp` that xp-style cases receive

    def asarray(self, numpy, array, dtype):
        return np.array(array, dtype=dtype, copy=True)


backend = ForwardDifferences()


@backend.method("fwd.forward", mode="fd", dtypes=("float64",))
def forward(numpy, p):
    """Forward differences, step sqrt(eps) * max(1, |x|): cheap, about 1e-8 accurate at best."""

    def jacobian():
        blocks = []
        base = np.asarray(p.fn(*p.args)).reshape(-1)
        for k, arg in enumerate(p.args):
            flat = arg.reshape(-1)
            columns = np.empty((base.size, flat.size))
            for j in range(flat.size):
                moved = flat.copy()
                moved[j] += np.sqrt(np.finfo(np.float64).eps) * max(1.0, abs(flat[j]))
                args = list(p.args)
                args[k] = moved.reshape(arg.shape)
                columns[:, j] = (np.asarray(p.fn(*args)).reshape(-1) - base) / (moved[j] - flat[j])
            blocks.append(columns.reshape(tuple(p.out_shape) + arg.shape))
        return tuple(blocks)

    return jacobian
