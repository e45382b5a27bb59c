"""The built-in case library: importing this package registers every built-in case.

Modules, one theme each:

* `seed`        the forum thread "How to compute Jacobian matrix in PyTorch?": its linear example, a small
                conv classifier, a VAE decoder, and its `divergence` / `laplace` helpers (second-order AD)
* `elementwise` unary functions at ordinary random points (diagonal Jacobians)
* `reductions`  sum, logsumexp, softmax, norm along the last axis
* `linalg`      matmul, matvec, quadratic form, outer product (several differentiated inputs)
* `kinks`       points where frameworks legitimately differ, each difference declared with its reason
"""

from cases import elementwise, kinks, linalg, reductions, seed  # noqa: F401  (imported for registration)
