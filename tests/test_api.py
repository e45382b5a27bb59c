"""jacobian_harness.check and harness.testing.assert_jacobians_agree on users' own functions."""

import json

import numpy as np
import pytest

import jacobian_harness as harness
from jacobian_harness.document import load as load_results
from jacobian_harness.results import write_json
from jacobian_harness.testing import assert_jacobians_agree

X = np.linspace(-1.0, 1.0, 4)
FEW = ["fd.central", "torch.func.*", "torch.grad-loop", "jax.jacrev", "autograd.jacobian"]


def test_an_xp_function_runs_in_every_framework_and_agrees():
    result = harness.check(lambda xp, x: xp.sin(x) * xp.sum(x), X, methods=FEW)
    assert result.ok and {r["backend"] for r in result.records} == {"fd", "torch", "jax", "autograd"}
    assert result.fastest.record["status"] == "agree"
    text = str(result)
    assert "torch.func.jacrev" in text and "agree" in text and result.reference in text


def test_a_torch_function_is_checked_in_torch_against_finite_differences(tmp_path):
    import torch

    result = harness.check(lambda x: torch.tanh(x) @ torch.ones(4, 2, dtype=x.dtype), X, methods=FEW)
    assert result.ok and {r["backend"] for r in result.records} == {"fd", "torch"}
    write_json(tmp_path / "results.json", result.to_results())
    assert [r["method"] for r in load_results(tmp_path)["results"]] == [r["method"] for r in result.records]


@pytest.mark.requires("jax")
def test_a_jax_function_by_kind():
    import jax.numpy as jnp

    result = harness.check(lambda x: jnp.exp(x) * x, X, kind="jax", methods=["jax.*", "fd.central"])
    assert result.ok and {r["backend"] for r in result.records} == {"fd", "jax"}


def _wrong_backward():
    import torch

    class Square(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 3 * x * grad  # should be 2 * x

    return Square.apply


def test_assert_jacobians_agree_names_the_methods_the_element_and_both_values():
    square = _wrong_backward()
    with pytest.raises(AssertionError) as raised:
        assert_jacobians_agree(lambda x: square(x), np.array([1.0, 2.0]), methods=["fd.central", "torch.func.jacrev",
                                                                                 "torch.grad-loop"])
    message = str(raised.value)
    # torch is the only framework here: finite differences, the independent witness, are the reference.
    assert "reference: finite differences (fd.central)" in message
    assert "torch.grad-loop: disagree at (0, 1, 1): got 6.0, reference 3.99999" in message
    assert "fd.central" not in message.split("\n", 1)[1]


def test_assert_jacobians_agree_is_silent_when_all_agree():
    assert_jacobians_agree(lambda xp, x: x**3, X, methods=FEW)


def test_bad_arguments_say_what_is_wrong():
    with pytest.raises(ValueError, match="unknown backend 'mxnet'"):
        harness.check(lambda xp, x: x, X, backends=["mxnet"])
    with pytest.raises(ValueError, match="kind must be 'xp' or a backend"):
        harness.check(lambda x: x, X, kind="numpy-ish")


def test_check_leaves_no_case_behind():
    from jacobian_harness.casedef import CASES

    before = set(CASES)
    harness.check(lambda xp, x: x * 2, X, methods=["fd.central"])
    assert set(CASES) == before
    assert json.dumps(harness.check(lambda xp, x: x * 2, X, methods=["fd.central"]).to_results())


@pytest.mark.requires("jax")  # the reference is the consensus of two frameworks, jax and torch
def test_a_graph_break_blames_the_ad_methods_not_finite_differences():
    # `.item()` turns s into a constant in torch and in eager JAX alike: they agree with each other, and
    # only finite differences see the true Jacobian s*I + 2 x x^T.
    x = np.array([0.3, -0.7, 1.1])
    result = harness.check(lambda xp, x: x * xp.sum(x * x).item(), x,
                           methods=["fd.*", "torch.func.jacrev", "torch.autograd.functional.jacobian", "jax.jacrev"])
    by_method = {r["method"]: r for r in result.records}
    assert by_method["fd.central"]["status"] == by_method["fd.richardson"]["status"] == "agree"
    assert "over the consensus of jax, torch" in result.reference
    for method in ("torch.func.jacrev", "jax.jacrev"):
        assert by_method[method]["status"] == "disagree" and "graph break" in by_method[method]["message"]
    truth = np.sum(x * x) * np.eye(3) + 2 * np.outer(x, x)
    assert np.allclose(result.jacobians["fd.richardson"][0], truth, rtol=1e-8)


@pytest.mark.requires("jax")  # the reference is the consensus of two frameworks, jax and torch
def test_a_kink_at_the_point_is_not_called_a_graph_break():
    # A step at 0 is a kink: AD says 0 there, central differences average the two sides (0.5); moved, the
    # differences jump to one side, so the AD methods keep the reference and finite differences disagree.
    result = harness.check(lambda xp, x: xp.where(x > 0, x, 0 * x), np.array([0.0, 0.5]),
                           methods=["fd.*", "torch.func.jacrev", "jax.jacrev"])
    by_method = {r["method"]: r for r in result.records}
    assert result.reference.startswith("consensus of") and "finite differences" not in result.reference
    assert by_method["torch.func.jacrev"]["status"] == by_method["jax.jacrev"]["status"] == "agree"
    assert by_method["fd.central"]["status"] == "disagree"


def test_fastest_is_a_readable_answer_and_fastest_for_counts_preparation():
    result = harness.check(lambda xp, x: xp.sin(x) * xp.sum(x), X, methods=FEW)
    choice = result.fastest
    assert choice.record["status"] == "agree" and choice.calls is None
    assert choice.cost_s == choice.median_s == choice.record["time"]["median_s"]
    assert str(choice).startswith(f"{choice.method}: ") and "per call" in str(choice)
    assert "samples_s" not in repr(choice)  # printing the answer does not dump every timing sample
    once = result.fastest_for(1)
    assert once.cost_s == pytest.approx(once.record["time"]["prepare_s"])
    assert all(once.cost_s <= r["time"]["prepare_s"] for r in result.records
               if r["status"] == "agree" and r["mode"] not in ("fd", "check"))
    many = result.fastest_for(10**6)
    assert many.method == choice.method or many.median_s == pytest.approx(choice.median_s, rel=0.5)
    assert "fastest per call:" in str(result) and "fastest for one call:" in str(result)
    with pytest.raises(ValueError, match="calls must be at least 1"):
        result.fastest_for(0)


def test_per_sample_checks_the_per_sample_jacobians():
    batch = np.arange(6.0).reshape(3, 2) / 6
    result = harness.check(lambda xp, x: xp.tanh(x) * 2, batch, per_sample=True,
                           methods=["fd.central", "torch.func.jacrev", "jax.jit[jacrev]"])
    assert result.ok
    assert result.jacobians["torch.func.jacrev"][0].shape == (3, 2, 2)


def test_a_function_returning_a_python_float_says_to_return_the_tensor():
    import torch

    result = harness.check(lambda x: torch.sum(x * x).item(), X, methods=FEW)
    torch_records = [r for r in result.records if r["backend"] == "torch"]
    assert torch_records and all("returned a Python float" in r["message"] and "x.sum().item()" in r["message"]
                                 for r in torch_records)


def test_a_float32_module_in_a_float64_run_says_to_call_double():
    import torch

    torch.manual_seed(0)
    layer = torch.nn.Linear(4, 2)  # float32 parameters
    result = harness.check(lambda x: layer(x), X, methods=FEW)
    failing = [r for r in result.records if r["backend"] == "torch"]
    assert failing and all(r["status"] == "error" for r in failing)
    assert all("module.double()" in r["message"] and "--dtype float32" in r["message"] for r in failing)
    assert "module.double()" in str(result)  # the printed table says it in full, not cut at 80 characters
