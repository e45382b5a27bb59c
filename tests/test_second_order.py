"""The second-order checks (w^T f''(x)[u, v] by each composition of jvp and vjp) and their reference."""

import numpy as np
import pytest

from jacobian_harness.adapters import METHODS, Problem, load_adapters
from jacobian_harness.adapters.base import COMPOSITIONS, second_order_directions
from jacobian_harness.casedef import case
from jacobian_harness.verdicts import choose_reference
from jacobian_harness.evaluate import Options, evaluate
from jacobian_harness.runner import run_case
from jacobian_harness.timing import ONCE

load_adapters()
SECOND_ORDER = [m for m, spec in METHODS.items() if spec.quantity == "second-order"]
FAST = Options(timing=ONCE)


def test_every_composition_of_torch_and_jax_and_autograds_reverse_over_reverse_is_registered():
    expected = {f"{backend}.second-order[{c}]" for backend in ("torch", "jax") for c in COMPOSITIONS}
    expected |= {"autograd.second-order[rev-rev]", "fd.second-order"}
    assert set(SECOND_ORDER) == expected
    assert all(METHODS[m].order == 1 for m in SECOND_ORDER)  # they check order-1 cases
    assert {METHODS[m].mode for m in SECOND_ORDER if m.startswith("torch.")} == set(COMPOSITIONS.values())


def _mixed_second_derivative(x, y, problem_shape):
    """w . d/dt d/ds [(x + t ux + s vx) sin(y + t uy + s vy)] at 0, by hand."""
    w, (ux, uy), (vx, vy) = second_order_directions(Problem(fn=None, args=(x, y), out_shape=problem_shape))
    return float(np.sum(w * (ux * np.cos(y) * vy + vx * np.cos(y) * uy - x * np.sin(y) * uy * vy)))


@pytest.fixture
def product_case(registry):
    @case(id="t.product", inputs=lambda rng: (rng.standard_normal((2, 3)), rng.standard_normal((2, 3))))
    def product(xp, x, y):
        return x * xp.sin(y)

    return registry["t.product"]


@pytest.mark.parametrize("method_id", SECOND_ORDER)
def test_each_composition_gives_the_analytic_mixed_second_derivative(product_case, method_id):
    evaluation = evaluate("t.product", method_id, FAST)
    assert evaluation.ok, evaluation.record["message"]
    x, y = evaluation.inputs
    expected = _mixed_second_derivative(x, y, (2, 3))
    (got,) = evaluation.jacobian
    assert got.shape == (1,)
    tolerance = 1e-7 if method_id.startswith("fd.") else 1e-12
    assert got[0] == pytest.approx(expected, rel=tolerance, abs=tolerance)


@pytest.fixture
def linear_case(registry):
    a = np.random.default_rng(3).standard_normal((4, 5))

    @case(id="t.linear", inputs=lambda rng: (rng.standard_normal(5),))
    def linear(xp, x):
        return xp.sum(xp.asarray(a) * x, axis=-1) + 2.0

    return registry["t.linear"]


def test_a_linear_function_has_second_derivative_zero_under_every_composition(linear_case, frameworks):
    methods = frameworks.methods(SECOND_ORDER, at_least=2)
    result = run_case("t.linear", methods, FAST)
    for record in result.records:
        assert record["status"] == "agree", (record["method"], record["message"])
    for (method_id, _), (value,) in result.jacobians.items():
        assert abs(value[0]) <= (1e-8 if method_id.startswith("fd.") else 1e-12), method_id


def test_a_case_not_twice_differentiable_at_its_point_is_skipped_with_the_reason(registry):
    @case(id="t.relu", inputs=lambda rng: (np.array([0.0, 1.0, -1.0]),),
          not_twice_differentiable="relu has a corner at 0")
    def relu(xp, x):
        return xp.maximum(x, 0.0)

    record = evaluate("t.relu", "fd.second-order", FAST).record
    assert record["status"] == "skipped"
    assert "not twice differentiable here (relu has a corner at 0)" in record["message"]


# -- a user's torch.autograd.Function with one wrong rule: only the compositions that use it disagree --------

def _custom_sin(jvp_factor: float, backward_factor: float):
    import torch

    class Sin(torch.autograd.Function):
        @staticmethod
        def forward(x):
            return torch.sin(x)

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])
            ctx.save_for_forward(inputs[0])

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * torch.cos(x) * backward_factor

        @staticmethod
        def jvp(ctx, tangent):
            (x,) = ctx.saved_tensors
            return tangent * torch.cos(x) * jvp_factor

        @staticmethod
        def vmap(info, in_dims, x):
            return Sin.apply(x), in_dims[0]

    return Sin.apply


def _custom_case(jvp_factor, backward_factor):
    @case(id="t.custom-sin", inputs=lambda rng: (rng.standard_normal(4),))
    def custom_sin(xp, x):
        return xp.sin(x) + x * x

    # The Function's output enters f linearly: no other op's derivative needs its tangent or its value, so that
    # a composition meets the wrong rule only where that rule is its inner derivative (in x * Sin(x), the
    # product's backward would use Sin's output, whose tangent comes from the jvp rule).
    @custom_sin.impl("torch")
    def _(x):
        return _custom_sin(jvp_factor, backward_factor)(x) + x * x

    return custom_sin


def _verdicts(frameworks):
    methods = frameworks.methods(["torch.second-order[fwd-rev]", "jax.second-order[fwd-rev]",
                                  "autograd.second-order[rev-rev]"], at_least=3)
    methods = [m for m in SECOND_ORDER if m.startswith("torch.")] + methods[1:] + ["fd.second-order"]
    result = run_case("t.custom-sin", methods, FAST)
    return {r["method"]: r["status"] for r in result.records}


# torch.second-order[fwd-fwd] through any autograd.Function loses the second derivative of the Function's
# output in the torch versions tested (2.13.0, 2.15.0: pytorch/pytorch#197867), whichever rule is wrong, so it
# is asserted only where its verdict follows from the wrong rule alone.

@pytest.mark.requires("torch")
def test_a_wrong_jvp_is_seen_by_the_compositions_whose_inner_derivative_is_forward(registry, frameworks):
    _custom_case(jvp_factor=1.5, backward_factor=1.0)
    verdicts = _verdicts(frameworks)
    assert verdicts["torch.second-order[fwd-fwd]"] == verdicts["torch.second-order[rev-fwd]"] == "disagree"
    assert verdicts["torch.second-order[fwd-rev]"] == verdicts["torch.second-order[rev-rev]"] == "agree"
    assert verdicts["jax.second-order[fwd-rev]"] == verdicts["fd.second-order"] == "agree"


@pytest.mark.requires("torch")
def test_a_wrong_backward_is_seen_by_the_compositions_whose_inner_derivative_is_reverse(registry, frameworks):
    _custom_case(jvp_factor=1.0, backward_factor=1.5)
    verdicts = _verdicts(frameworks)
    assert verdicts["torch.second-order[fwd-rev]"] == verdicts["torch.second-order[rev-rev]"] == "disagree"
    assert verdicts["torch.second-order[rev-fwd]"] == "agree"
    assert verdicts["jax.second-order[fwd-rev]"] == verdicts["fd.second-order"] == "agree"


# -- the reference: one vote per framework, and only methods of the same quantity vote -----------------------

def test_the_second_order_reference_is_chosen_among_second_order_results_only(product_case, frameworks):
    methods = frameworks.methods(["torch.second-order[fwd-rev]", "jax.second-order[fwd-rev]",
                                  "autograd.second-order[rev-rev]"], at_least=2)
    evaluations = [evaluate("t.product", m, FAST) for m in methods + ["fd.second-order", "fd.central"]]
    reference = choose_reference(product_case, evaluations, quantity="second-order")
    assert reference.blocks is not None and reference.blocks[0].shape == (1,)
    assert "fd.central" not in reference.members and reference.source.startswith("consensus of")
    jacobian_reference = choose_reference(product_case, evaluations)
    assert jacobian_reference.blocks[0].shape == (2, 3, 2, 3)  # fd.central's, the only Jacobian here


def test_a_projection_check_never_votes_for_the_jacobian_reference(product_case, frameworks):
    checks = frameworks.methods(["torch.jvp-vjp", "jax.jvp-vjp", "autograd.jvp-vjp"], at_least=2)
    evaluations = [evaluate("t.product", m, FAST) for m in checks + ["fd.central"]]
    reference = choose_reference(product_case, evaluations)
    assert reference.source.startswith("finite differences"), reference.source  # no AD Jacobian ran
