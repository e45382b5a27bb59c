"""The built-in case library: seed ids, deterministic inputs, sizes, declarations, analytic Jacobians."""

from __future__ import annotations


import numpy as np
import pytest

import jacobian_harness.casedef as hc
from jacobian_harness.adapters import METHODS, load_adapters
# Imported at collection, before any test's `registry` fixture swaps the registry: a module first imported
# while that fixture is active keeps the throwaway registry for the rest of the session.
from jacobian_harness.verdicts import choose_reference, verdict
from jacobian_harness.evaluate import Options, evaluate
from jacobian_harness.runner import run_case
from jacobian_harness.timing import ONCE

hc.load_library()
load_adapters()

LIBRARY = sorted(case_id for case_id, c in hc.CASES.items() if c.source == "library")
ANALYTIC = [case_id for case_id in LIBRARY if hc.CASES[case_id].analytic is not None]
SEED_IDS = ["seed.linear", "seed.classifier", "seed.vae-decoder", "seed.divergence", "seed.laplacian"]
JUDGED_OK = {"agree", "expected-divergence", "unsupported"}


def test_seed_ids_exist():
    missing = [case_id for case_id in SEED_IDS if case_id not in hc.CASES]
    assert not missing, f"seed cases missing from the library: {missing}"


def test_library_is_not_trivial():
    assert len(LIBRARY) >= 20
    for prefix in ("seed.", "elementwise.", "reduction.", "linalg.", "kink."):
        assert any(case_id.startswith(prefix) for case_id in LIBRARY), prefix


@pytest.mark.parametrize("case_id", LIBRARY)
def test_inputs_are_bit_identical_across_calls(case_id):
    case = hc.CASES[case_id]
    first, second = case.make_inputs(), case.make_inputs()
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("case_id", LIBRARY)
def test_case_is_small(case_id):
    # The whole library must run every method quickly: fd.richardson and the per-element loops scale badly.
    case = hc.CASES[case_id]
    inputs = case.make_inputs()
    assert sum(inputs[k].size for k in case.wrt_indices(inputs)) <= 300   # differentiated inputs
    out = np.asarray(case.impl_for("fd")(*inputs) if "fd" in case.impls else case.fn(np, *inputs))
    assert out.dtype.kind == "f" and out.size <= 800


@pytest.mark.parametrize("case_id", LIBRARY)
def test_every_divergence_matches_a_method(case_id):
    # A declaration that matches no method (a typo, a renamed id) would be silently inert.
    for divergence in hc.CASES[case_id].divergences:
        assert any(divergence.applies_to(m, None) for m in METHODS), divergence.methods
        assert divergence.reason.strip()


@pytest.mark.parametrize("case_id", ANALYTIC)
def test_analytic_agrees_with_fd_and_jacrev(case_id):
    methods = {1: ["fd.central", "torch.func.jacrev"], 2: ["fd.hessian", "torch.func.hessian"]}[hc.CASES[case_id].order]
    # The analytic Jacobian is the reference: no need for the run's reference pass over every backend.
    evaluations = [evaluate(case_id, m, Options(timing=ONCE)) for m in methods]
    reference = choose_reference(hc.CASES[case_id], evaluations)
    assert reference.source == "analytic"
    verdicts = {e.record["method"]: (r["status"], r["message"])
                for e, r in ((e, verdict(hc.CASES[case_id], e, reference)) for e in evaluations)}
    for method, (status, message) in verdicts.items():
        assert status in {"agree", "expected-divergence"}, f"{case_id} / {method}: {status}: {message}"
    if not hc.CASES[case_id].divergences:
        assert all(status == "agree" for status, _ in verdicts.values()), verdicts


def test_analytic_shapes_match_the_jacobian_layout():
    for case_id in ANALYTIC:
        case = hc.CASES[case_id]
        inputs = case.make_inputs()
        out = np.asarray(case.fn(np, *inputs))
        blocks = case.analytic(*inputs)
        blocks = blocks if isinstance(blocks, (tuple, list)) else (blocks,)
        wrt = case.wrt_indices(inputs)
        assert len(blocks) == len(wrt), case_id
        for block, k in zip(blocks, wrt, strict=True):
            shape = inputs[k].shape
            if case.order == 2:
                expected = shape + shape
            else:
                expected = out.shape + shape[1:] if case.per_sample else out.shape + shape
            assert np.shape(block) == expected, (case_id, np.shape(block), expected)


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case_id", LIBRARY)
def test_every_method_is_judged_ok(case_id, dtype, frameworks):
    result = run_case(case_id, list(METHODS), Options(dtype=dtype, timing=ONCE))
    bad = [(r["method"], r["status"], r["message"][:200]) for r in frameworks.available(result.records)
           if r["status"] not in JUDGED_OK]
    assert not bad, bad


DECLARED = [case_id for case_id in LIBRARY if hc.CASES[case_id].divergences]


@pytest.mark.parametrize("case_id", DECLARED)
def test_every_declared_divergence_is_observed(case_id, frameworks):
    """Each convention or bug a case declares holds on the installed versions. Where a declaration applies
    (its `versions` include the installed one), a method it covers comes out expected-divergence (or
    unsupported): agree or unexpected-agree means it is stale. Where its `versions` exclude the installed
    one, it does not apply, and the methods it covers must agree: otherwise its version range is wrong."""
    case = hc.CASES[case_id]
    # A check of a projection inherits its backend's declarations; a second-order check does not run where f
    # is not twice differentiable (skipped, with the reason): neither can observe a declaration.
    covered = [m for m in METHODS if METHODS[m].order == case.order and METHODS[m].quantity != "projection"
               and not (METHODS[m].quantity == "second-order" and case.not_twice_differentiable)
               and case.divergence_for(m, None) is not None]
    assert covered, f"{case_id}: a declaration matches no method"
    result = run_case(case_id, frameworks.methods(covered), Options(timing=ONCE))  # those installed here
    wrong = []
    for record in result.records:
        if record["status"] == "unsupported":
            continue
        declared = case.divergence_for(record["method"], record["backend_version"])
        if declared is not None and record["status"] != "expected-divergence":
            wrong.append((record["method"], record["backend_version"], "applies, but", record["status"],
                          record["message"][:300]))
        elif declared is None and record["status"] != "agree":
            wrong.append((record["method"], record["backend_version"], "does not apply to this version, but",
                          record["status"], record["message"][:300]))
    assert not wrong, (case_id, wrong)


@pytest.mark.parametrize("case_id", DECLARED)
def test_every_declaration_records_where_it_was_checked(case_id):
    for divergence in hc.CASES[case_id].divergences:
        assert divergence.checked, (case_id, divergence.methods, "no `checked` versions")
