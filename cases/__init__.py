"""The built-in case library: importing this package registers every built-in case.

Modules, one theme each:

* `seed`        the forum thread "How to compute Jacobian matrix in PyTorch?": its linear example, a small
                conv classifier, a VAE decoder, and its `divergence` / `laplace` helpers (second-order AD)
* `elementwise` unary functions at ordinary random points (diagonal Jacobians)
* `reductions`  sum, logsumexp, softmax, norm along the last axis
* `linalg`      matmul, matvec, quadratic form, outer product (several differentiated inputs)
* `kinks`       points where frameworks legitimately differ, each difference declared with its reason
* `ops`         53 operators (elementwise, scans, sorting, indexing, linear algebra) at ordinary points and
                at their kinks, ties, zeros and singular points; ops without a forward-mode rule in torch
* `networks`    MLPs of several widths; Jacobians with respect to every parameter of a model
* `hessians`    order-2 cases: Hessians of scalar functions, checked by the Hessian methods
* `adbench`     ADBench workloads: GMM, bundle adjustment, hand tracking, LSTM (size presets)
* `gradbench`   gradbench-style workloads: logsumexp, determinant by minors, RK4 ODE, least squares
* `sweeps`      sweep families for `jacobian-harness sweep` (not part of a run's library)
"""

from jacobian_harness.cases import (  # noqa: F401  (imported for their registrations)
    adbench,
    elementwise,
    gradbench,
    hessians,
    kinks,
    linalg,
    networks,
    ops,
    reductions,
    seed,
)
