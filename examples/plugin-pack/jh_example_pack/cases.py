"""A case pack: cases defined with @case, like a case file, found through an entry point."""

import numpy as np

from jacobian_harness import case


@case(id="example.cubic", inputs=lambda rng: (rng.standard_normal(4),), analytic=lambda x: np.diag(3 * x**2 + 1))
def cubic(xp, x):
    return x**3 + x
