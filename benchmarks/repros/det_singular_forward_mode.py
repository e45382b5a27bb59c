"""Standalone repro (no harness): the first-order Jacobian of det at an exactly singular matrix (rank 2), by
torch's forward-mode methods under vmap and by its reverse methods, beside the analytic value.

det is a polynomial: its gradient at any A is the cofactor matrix, here [[-5, 5, -5], [0, 0, 0], [5, -5, 5]]
(finite, non-zero). Seen on torch 2.13.0 and 2.14.1: torch.func.jacfwd and
functional.jacobian(strategy="forward-mode") return zeros, like autograd.grad; torch.func.jacrev is right.
On 2.15.0 the two forward-mode methods raise "the input matrix is singular" instead; the rest is unchanged.
"""

import numpy as np
import torch

A = torch.tensor([[2.0, 1.0, -1.0], [1.0, 3.0, 2.0], [2.0, 1.0, -1.0]], dtype=torch.float64)  # row 3 = row 1
COFACTOR = np.array([[np.linalg.det(np.delete(np.delete(A.numpy(), i, 0), j, 1)) * (-1) ** (i + j)
                      for j in range(3)] for i in range(3)])


def _grad():
    a = A.clone().requires_grad_()
    return torch.autograd.grad(torch.linalg.det(a), a)[0]


METHODS = {
    "torch.func.jacfwd": lambda: torch.func.jacfwd(torch.linalg.det)(A),
    "functional.jacobian(forward-mode)": lambda: torch.autograd.functional.jacobian(
        torch.linalg.det, A, vectorize=True, strategy="forward-mode"),
    "torch.func.jacrev": lambda: torch.func.jacrev(torch.linalg.det)(A),
    "torch.autograd.grad": _grad,
}


print("torch", torch.__version__)
print(f"{'analytic (cofactor matrix)':36} {np.round(COFACTOR, 10).tolist()}")
for name, jacobian in METHODS.items():
    try:
        print(f"{name:36} {np.round(jacobian().numpy(), 10).tolist()}")
    except Exception as exc:  # what torch raises is the finding
        print(f"{name:36} {type(exc).__name__}: {str(exc).splitlines()[0][:90]}")
