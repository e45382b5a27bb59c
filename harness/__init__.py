"""jacobian-harness: check and time every Jacobian method of PyTorch, JAX, HIPS autograd and finite differences."""

from harness.api import check
from harness.casedef import Case, Divergence, case

__version__ = "0.1.0"
__all__ = ["Case", "Divergence", "case", "check"]
