"""The network cases (`net.*`: Jacobians w.r.t. inputs and parameters) and the Hessian cases (`hessian.*`)."""

from __future__ import annotations

import numpy as np
import pytest

import jacobian_harness.casedef as hc
from jacobian_harness.adapters import METHODS, load_adapters
# Imported at collection, before any test's `registry` fixture swaps the registry (see tests/test_cases.py).
from jacobian_harness.evaluate import Options, evaluate
from jacobian_harness.runner import run_case
from jacobian_harness.timing import ONCE

hc.load_library()
load_adapters()

NETWORK_IDS = ["net.mlp-narrow", "net.mlp-wide", "net.mlp-deep", "net.mlp-params", "net.classifier-params"]
HESSIAN_IDS = ["hessian.rosenbrock", "hessian.quadratic", "hessian.logsumexp", "hessian.mlp-loss",
               "hessian.softplus-sum", "hessian.seed-potential"]
PARAMS = "net.mlp-params"


def _blocks(result, method, dtype="float64"):
    return result.jacobians[(method, dtype)]


def _as_blocks(analytic):
    return analytic if isinstance(analytic, (tuple, list)) else (analytic,)


def test_ids_exist():
    missing = [case_id for case_id in NETWORK_IDS + HESSIAN_IDS if case_id not in hc.CASES]
    assert not missing, f"cases missing from the library: {missing}"


def test_orders_and_analytic_references():
    for case_id in NETWORK_IDS:
        assert hc.CASES[case_id].order == 1, case_id
    for case_id in HESSIAN_IDS:
        assert hc.CASES[case_id].order == 2, case_id
    for case_id in NETWORK_IDS + HESSIAN_IDS:
        assert hc.CASES[case_id].analytic is not None, case_id


# Size limits, analytic block layout and analytic agreement of every case are tested library-wide in
# tests/test_cases.py; what is particular to these cases follows.

@pytest.mark.parametrize("case_id", HESSIAN_IDS)
def test_analytic_hessian_is_symmetric(case_id):
    case = hc.CASES[case_id]
    inputs = case.make_inputs()
    (block,) = _as_blocks(case.analytic(*inputs))
    n = inputs[case.wrt_indices(inputs)[0]].size
    np.testing.assert_allclose(np.reshape(block, (n, n)), np.reshape(block, (n, n)).T)


def test_parameter_jacobian_has_one_block_per_parameter(frameworks):
    case = hc.CASES[PARAMS]
    inputs = case.make_inputs()
    x, params = inputs[0], inputs[1:]
    assert case.wrt_indices(inputs) == (1, 2, 3, 4)
    out_shape = np.shape(case.fn(np, *inputs))
    assert out_shape == (x.shape[0], params[-1].shape[0])
    methods = frameworks.methods(["fd.central", "torch.func.jacrev", "autograd.jacobian"])
    result = run_case(PARAMS, methods, Options(timing=ONCE))
    for method in methods:
        blocks = _blocks(result, method)
        assert blocks is not None, result.records
        assert [b.shape for b in blocks] == [out_shape + p.shape for p in params], method
    assert all(r["status"] == "agree" for r in result.records), result.records


def test_parameter_jacobian_runs_a_real_module_in_the_inputs_dtype():
    # The torch override evaluates a torch.nn.Sequential through functional_call; it must compute the
    # same function as the array-namespace version, and in float32 runs the module must be float32 too.
    import torch

    from jacobian_harness.cases import networks

    for dtype in ("float64", "float32"):
        evaluation = evaluate(PARAMS, "torch.func.jacrev", Options(dtype=dtype, timing=ONCE))
        assert evaluation.ok, evaluation.record["message"]
        expected = hc.CASES[PARAMS].fn(np, *evaluation.inputs)
        tolerance = 1e-12 if dtype == "float64" else 1e-5
        np.testing.assert_allclose(evaluation.value, expected, rtol=tolerance, atol=tolerance)
        module = networks._TORCH_MODULES[(getattr(torch, dtype), networks._PARAM_WIDTHS)]
        assert isinstance(module, torch.nn.Sequential)
        assert all(p.dtype == getattr(torch, dtype) for p in module.parameters())


def test_hessian_cases_are_judged_by_hessian_methods_only():
    result = run_case("hessian.quadratic", ["fd.central", "torch.func.jacrev", "torch.func.hessian"],
                      Options(timing=ONCE))
    assert [r["method"] for r in result.records] == ["torch.func.hessian"]


# torch.compile compiles for seconds per case: judged here in the slow run (and by the library run).
COMPILED_HESSIANS = ("torch.compile[hessian]",)


def _every_method_agrees_outright(case_id, methods, frameworks):
    # None of these cases has a kink or a convention: "unsupported" or a declaration would hide a gap that
    # the library run (which accepts both) cannot see.
    result = run_case(case_id, methods, Options(timing=ONCE))
    assert {r["method"]: r["status"] for r in result.records} == frameworks.expect(dict.fromkeys(methods, "agree"))


@pytest.mark.parametrize("case_id", HESSIAN_IDS)
def test_every_hessian_method_agrees_outright(case_id, frameworks):
    _every_method_agrees_outright(
        case_id, [m for m in METHODS if METHODS[m].order == 2 and m not in COMPILED_HESSIANS], frameworks)


@pytest.mark.slow
@pytest.mark.parametrize("case_id", HESSIAN_IDS)
def test_compiled_hessians_agree_outright(case_id, frameworks):
    _every_method_agrees_outright(case_id, list(COMPILED_HESSIANS), frameworks)


@pytest.mark.slow
def test_rosenbrock_size_presets(frameworks):
    case = hc.CASES["hessian.rosenbrock"]
    for size, n in (("small", 4), ("medium", 16), ("large", 48)):
        (x,) = case.make_inputs(size=size)
        assert x.shape == (n,)
    result = run_case("hessian.rosenbrock", ["fd.hessian", "jax.hessian"], Options(timing=ONCE, size="medium"))
    assert all(r["status"] == "agree" for r in frameworks.available(result.records)), result.records
