"""The `op.*` cases: enough of them, analytic Jacobians that fd and jacrev confirm, and ops without a
forward-mode rule in PyTorch reported `unsupported` for forward methods, with the reason."""

from __future__ import annotations

import pytest

import jacobian_harness.casedef as hc
from jacobian_harness.adapters import load_adapters
# Imported at collection, before any test's `registry` fixture swaps the registry (see tests/test_cases.py).
from jacobian_harness.evaluate import Options, evaluate
from jacobian_harness.timing import ONCE

hc.load_library()
load_adapters()

OPS = sorted(case_id for case_id, c in hc.CASES.items() if case_id.startswith("op.") and c.source == "library")
NO_FORWARD_RULE = ["op.cdist", "op.pdist", "op.embedding-bag", "op.index-reduce"]


def test_at_least_forty_op_cases():
    assert len(OPS) >= 40, OPS


def test_ops_cover_each_family():
    tags = set().union(*(hc.CASES[case_id].tags for case_id in OPS))
    for family in ("elementwise", "reduction", "scan", "sort", "indexing", "linalg", "kink", "no-forward-rule"):
        assert family in tags, family


@pytest.mark.parametrize("case_id", NO_FORWARD_RULE)
def test_ops_without_forward_rule_are_unsupported_in_forward_mode(case_id):
    # Analytic agreement of every op case is tested library-wide in tests/test_cases.py.
    forward = evaluate(case_id, "torch.func.jacfwd", Options(timing=ONCE)).record
    assert forward["status"] == "unsupported", forward
    assert "forward AD" in forward["message"] and "not" in forward["message"], forward["message"]
    # Reverse mode runs: the op itself is fine, only its forward rule is missing.
    assert evaluate(case_id, "torch.func.jacrev", Options(timing=ONCE)).ok
