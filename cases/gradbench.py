"""gradbench-style workloads, written once for every backend: logsumexp, determinant by minors, an RK4 ODE
solve, and a polynomial least-squares objective.

Each has `small` (default and --quick runs), `medium` and `large` (benchmark) presets; inputs come from
the case's seeded `numpy.random.Generator`, as each input factory says. The math is written here from
the problem statements, not taken from gradbench's code.
"""

from __future__ import annotations

import numpy as np

from jacobian_harness.cases._common import cofactor_matrix
from jacobian_harness.casedef import case


# --------------------------------------------------------------------------------------------------------
# gradbench.lse

def _softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


@case(id="gradbench.lse", tags={"gradbench", "workload", "reduction"},
      inputs=lambda rng, n=32: (rng.standard_normal(n),),          # x ~ N(0, 1)
      sizes={"small": {"n": 32}, "medium": {"n": 1000}, "large": {"n": 100_000}},
      analytic=_softmax)
def lse(xp, x):
    """logsumexp(x) of a vector, max-shifted for stability; its gradient is softmax(x) (analytic)."""
    top = xp.max(x)
    return xp.log(xp.sum(xp.exp(x - top))) + top


# --------------------------------------------------------------------------------------------------------
# gradbench.det

@case(id="gradbench.det", tags={"gradbench", "workload", "linalg"},
      inputs=lambda rng, n=4: (rng.standard_normal((n, n)),),      # A ~ N(0, 1), n x n
      sizes={"small": {"n": 4}, "medium": {"n": 7}, "large": {"n": 11}},
      analytic=cofactor_matrix)
def det(xp, a):
    """det(A) by Laplace expansion along the first row, recursively; its gradient is the cofactor matrix.

    The minor of rows r.. and a column subset S is expanded along row r: det = sum_{j in S} (-1)^pos(j)
    A[r, j] det(minor of rows r+1.. and S - {j}). Equal sub-minors are computed once (a memo keyed by S),
    so n = 11 costs 2^11 * 11 scalar products instead of 11!: the same sums, shared.
    """
    n = a.shape[0]
    memo = {}

    def minor(columns):
        row = n - len(columns)
        if len(columns) == 1:
            return a[row, columns[0]]
        if columns not in memo:
            total = 0.0
            for position, j in enumerate(columns):
                term = a[row, j] * minor(columns[:position] + columns[position + 1:])
                total = total - term if position % 2 else total + term
            memo[columns] = total
        return memo[columns]

    return minor(tuple(range(n)))


# --------------------------------------------------------------------------------------------------------
# gradbench.ode

ODE_HORIZON = 2.0


def _ode_inputs(rng, n=8, steps=4):
    """Rates x ~ U(0.5, 1.5) (n,); initial state y0 ~ N(0, 0.5^2) (n,); the step count as a constant input."""
    return rng.uniform(0.5, 1.5, n), 0.5 * rng.standard_normal(n), np.zeros(steps, dtype=np.int64)


def _ode_rhs(xp, x, y):
    """dy_0/dt = x_0 cos(y_0), dy_i/dt = x_i sin(y_{i-1}) for i >= 1: a nonlinear chain."""
    return x * xp.concatenate([xp.cos(y[:1]), xp.sin(y[:-1])])


@case(id="gradbench.ode", tags={"gradbench", "workload"}, inputs=_ode_inputs, wrt=(0, 1),
      sizes={"small": {"n": 8, "steps": 4},           # 16 inputs, 8 outputs
             "medium": {"n": 32, "steps": 25},        # 64 inputs, 32 outputs
             "large": {"n": 1000, "steps": 1000}})    # 2000 inputs, 1000 outputs
def ode(xp, x, y0, steps):
    """The final state of a fixed-step RK4 solve (t from 0 to 2) of a nonlinear chain ODE, w.r.t. rates and y0.

    dy_0/dt = x_0 cos(y_0), dy_i/dt = x_i sin(y_{i-1}); `steps` (its length is the step count; a constant
    input, so that a size preset can set it) RK4 steps of h = 2 / steps.
    """
    count = steps.shape[0]
    h = ODE_HORIZON / count
    y = y0
    for _ in range(count):
        k1 = _ode_rhs(xp, x, y)
        k2 = _ode_rhs(xp, x, y + (0.5 * h) * k1)
        k3 = _ode_rhs(xp, x, y + (0.5 * h) * k2)
        k4 = _ode_rhs(xp, x, y + h * k3)
        y = y + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return y


# --------------------------------------------------------------------------------------------------------
# gradbench.llsq

def _llsq_inputs(rng, n=8, m=20):
    """Coefficients x ~ N(0, 1) (n,); abscissae t_i = -1 + 2 i / (m - 1) (m,); targets y_i = sign(t_i) +
    N(0, 0.1^2) (a step fitted by a polynomial of degree n - 1)."""
    t = np.linspace(-1.0, 1.0, m)
    return rng.standard_normal(n), t, np.sign(t) + 0.1 * rng.standard_normal(m)


def _llsq_gradient(x, t, y):
    """-V^T (y - V x), V the Vandermonde matrix V_ij = t_i^j."""
    vandermonde = t[:, None] ** np.arange(x.shape[0])[None, :]
    return -vandermonde.T @ (y - vandermonde @ x)


@case(id="gradbench.llsq", tags={"gradbench", "workload"}, inputs=_llsq_inputs, wrt=(0,),
      sizes={"small": {"n": 8, "m": 20}, "medium": {"n": 32, "m": 1000}, "large": {"n": 64, "m": 100_000}},
      analytic=_llsq_gradient)
def llsq(xp, x, t, y):
    """Polynomial least squares: sum_i (y_i - sum_j x_j t_i^j)^2 / 2 w.r.t. the coefficients (gradient analytic).

    The polynomial is evaluated by Horner's rule, so that no power of an array is needed.
    """
    n = x.shape[0]
    fit = x[n - 1] + 0.0 * t
    for j in range(n - 2, -1, -1):
        fit = fit * t + x[j]
    residual = y - fit
    return 0.5 * xp.sum(residual * residual)
