"""Sweep families: cases whose input factory takes n_in and n_out (`jacobian-harness sweep FAMILY`).

They are not part of the case library's runs: a sweep evaluates them over a grid of sizes.
"""

from __future__ import annotations

import numpy as np

from jacobian_harness.cases.seed import FORWARD_MODE_1D_MATMUL
from jacobian_harness.sweep import family

HIDDEN = 32


def _mlp_inputs(rng, n_in, n_out):
    # Weights scaled by 1/sqrt(fan-in) keep tanh out of saturation at every size.
    x = rng.standard_normal(n_in)
    w1 = rng.standard_normal((HIDDEN, n_in)) / np.sqrt(n_in)
    w2 = rng.standard_normal((n_out, HIDDEN)) / np.sqrt(HIDDEN)
    return x, w1, w2


@family(id="sweep.mlp", inputs=_mlp_inputs, wrt=(0,), row_independent=True, divergences=FORWARD_MODE_1D_MATMUL)
def mlp(xp, x, w1, w2):
    """tanh MLP n_in -> 32 -> n_out, Jacobian w.r.t. the input."""
    return xp.tanh(xp.matmul(xp.tanh(xp.matmul(x, w1.T)), w2.T))
