"""jacobian-harness: check and time every Jacobian method of PyTorch, JAX, HIPS autograd and finite differences.

The public names load on first use (PEP 562), so that importing the package, as pytest does for the plugin
(`jacobian_harness.pytest_plugin`) in every test run of an environment, imports nothing else of ours."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jacobian_harness.api import check
    from jacobian_harness.casedef import Case, Divergence, case

__version__ = "0.1.0"
# Public name -> the module that defines it.
_PUBLIC = {"check": "jacobian_harness.api", "Case": "jacobian_harness.casedef",
           "Divergence": "jacobian_harness.casedef", "case": "jacobian_harness.casedef"}
__all__ = ["Case", "Divergence", "case", "check"]


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'jacobian_harness' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
