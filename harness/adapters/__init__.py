"""Backends and their Jacobian methods, one module per framework; see base.py for the interface."""

from jacobian_harness.adapters.base import (BACKENDS, METHODS, Backend, BackendUnavailable, Method, Problem,
                                   Unsupported, get_method, load_adapters)

__all__ = ["BACKENDS", "METHODS", "Backend", "BackendUnavailable", "Method", "Problem", "Unsupported",
           "get_method", "load_adapters"]
