"""Shared fixtures: a private case registry per test, so test cases never leak into other tests."""

import pytest

# Imported before any fixture swaps the registry, so that their module-level CASES is the real one
# (monkeypatch restores what it found, which would otherwise be the throwaway dict).
import harness.evaluate  # noqa: F401
import harness.runner  # noqa: F401
from harness import casedef as case_module


@pytest.fixture
def registry(monkeypatch):
    """An empty case registry for the duration of one test."""
    fresh: dict = {}
    monkeypatch.setattr(case_module, "CASES", fresh)
    for module in ("harness.evaluate", "harness.runner"):
        monkeypatch.setattr(f"{module}.CASES", fresh)
    return fresh
