"""The built-in case library: importing this package registers every built-in case.

Modules, one theme each:

* `seed`        the forum thread "How to compute Jacobian matrix in PyTorch?": its linear example, a small
                conv classifier, a VAE decoder, and its `divergence` / `laplace` helpers (second-order AD)
* `elementwise` unary functions at ordinary random points (diagonal Jacobians)
* `reductions`  sum, logsumexp, softmax, norm along the last axis
* `linalg`      matmul, matvec, quadratic form, outer product (several differentiated inputs)
* `kinks`       points where frameworks legitimately differ, each difference declared with its reason
* `op_*`        single operators (op.*) at ordinary points and at their kinks, ties, zeros and singular points:
  `op_elementwise` relu, clamp, maximum, minimum; `op_powers` pow and atan2; `op_special` log1p, erf,
  softplus, ..., sqrt at 0; `op_reductions` std, prod, cumprod, sort, top-k; `op_indexing` take, gather,
  slicing, flip, where; `op_linalg` det, inv, solve, eigh, svd, ...; `op_torch_rules` ops without a forward-mode
  rule in torch, and a torch.autograd.Function
* `networks`    MLPs of several widths; Jacobians with respect to every parameter of a model
* `hessians`    order-2 cases: Hessians of scalar functions, checked by the Hessian methods
* `adbench`     ADBench workloads: GMM, bundle adjustment, hand tracking, LSTM (size presets)
* `gradbench`   gradbench-style workloads: logsumexp, determinant by minors, RK4 ODE, least squares
* `sweeps`      sweep families for `jacobian-harness sweep` (not part of a run's library)
* `families`    the operator families (det, solve, norm, ...) of these cases and of the opinfo pack's ids
* `_common`     what the modules share: `diverging` (how a divergence is declared), method lists, input
                factories, Jacobian formulas

A case's place in a run follows the order of registration: the modules below, in this order (the op_ modules
in the order of the one module they were split from).
"""

from jacobian_harness.cases import (  # noqa: F401  (imported for their registrations)
    adbench,
    elementwise,
    families,
    gradbench,
    hessians,
    kinks,
    linalg,
    networks,
    op_elementwise,
    op_powers,
    op_special,
    op_reductions,
    op_indexing,
    op_linalg,
    op_torch_rules,
    reductions,
    seed,
)
