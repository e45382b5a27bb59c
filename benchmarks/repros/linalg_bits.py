"""Standalone repro (no harness): do det's and slogdet's first-order Jacobians change bit for bit between two
torch versions? Run it with each and compare the digests: the upgrade check found 13 such Jacobians, all
within float64 tolerance, of op.det, op.slogdet and op.det-singular (torch 2.15.0 rewrote the forward-mode
rules of det, slogdet and solve, pytorch/pytorch#192540).

Prints, per (function, method), a digest of the Jacobian's bytes and its [0, 0] entry to 17 digits.
"""

import hashlib

import numpy as np
import torch

A = torch.tensor(np.random.default_rng(0).standard_normal((3, 3)), dtype=torch.float64)
FUNCTIONS = {"det": torch.linalg.det, "slogdet": lambda a: torch.linalg.slogdet(a)[1]}
METHODS = {"torch.func.jacrev": torch.func.jacrev, "torch.func.jacfwd": torch.func.jacfwd}

print("torch", torch.__version__)
for fname, f in FUNCTIONS.items():
    for mname, method in METHODS.items():
        jacobian = method(f)(A).numpy()
        digest = hashlib.sha256(np.ascontiguousarray(jacobian).tobytes()).hexdigest()[:16]
        print(f"{fname:8} {mname:18} digest {digest}  J[0, 0] = {float(jacobian[0, 0])!r}")
