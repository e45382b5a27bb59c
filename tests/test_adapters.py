"""Every method against analytic Jacobians: several inputs, matrix outputs, per-sample and row-independent cases."""

from pathlib import Path

import numpy as np
import pytest

from jacobian_harness.adapters import METHODS, Backend, load_adapters
from jacobian_harness.adapters.base import BACKENDS
from jacobian_harness.casedef import case
from jacobian_harness.evaluate import Options, evaluate
from jacobian_harness.timing import TimingPolicy

load_adapters()
FAST = Options(timing=TimingPolicy(budget_s=0.0, min_repeats=2, warmup=0))
SLOW_METHODS = {"torch.compile[jacrev]", "torch.compile[jacfwd]"}
ALL = [pytest.param(m, marks=pytest.mark.slow) if m in SLOW_METHODS else m
       for m, spec in METHODS.items() if spec.order == 1 and spec.quantity == "jacobian"]
CHECKS = [m for m, spec in METHODS.items() if spec.project is not None]


@pytest.fixture
def cases(registry):
    @case(id="t.two-inputs", inputs=lambda rng: (rng.standard_normal((2, 3)), rng.standard_normal((3, 2))),
          analytic=lambda a, b: (np.einsum("ik,jl->ijkl", np.eye(2), b.T), np.einsum("ik,lj->ijkl", a, np.eye(2))))
    def two_inputs(xp, a, b):
        return a @ b

    @case(id="t.row-independent", row_independent=True,
          inputs=lambda rng: (rng.standard_normal(3), rng.standard_normal((2, 3))), wrt=(0,),
          analytic=lambda x, w: np.cos(x @ w.T)[:, None] * w)
    def row_independent(xp, x, w):
        # Not x @ w.T: torch 2.13's forward-mode functional.jacobian fails on a 1-D matmul (see seed.linear).
        return xp.sin(xp.sum(w * x[..., None, :], axis=-1))

    @case(id="t.per-sample", per_sample=True, inputs=lambda rng: (rng.standard_normal((4, 3)),),
          analytic=lambda x: np.stack([np.diag(1 - np.tanh(r) ** 2) for r in x]))
    def per_sample(xp, x):
        return xp.tanh(x)

    return registry


@pytest.mark.parametrize("method_id", ALL)
@pytest.mark.parametrize("case_id", ["t.two-inputs", "t.row-independent", "t.per-sample"])
def test_method_matches_analytic_jacobian(cases, case_id, method_id):
    evaluation = evaluate(case_id, method_id, FAST)
    record = evaluation.record
    if method_id == "torch.batched-backward" and case_id == "t.two-inputs":
        assert record["status"] == "unsupported" and "row-independent" in record["message"]
        return
    if method_id == "tensorflow.batch_jacobian" and case_id != "t.per-sample":
        assert record["status"] == "unsupported" and "per-sample" in record["message"]
        return
    assert record["status"] == "ok", record["message"]
    expected = cases[case_id].analytic(*evaluation.inputs)
    expected = expected if isinstance(expected, tuple) else (expected,)
    tol = 1e-5 if record["mode"] == "fd" else 1e-12
    for got, want in zip(evaluation.jacobian, expected, strict=True):
        np.testing.assert_allclose(got, want, atol=tol, rtol=tol)


@pytest.mark.parametrize("method_id", ["torch.func.jacrev", "jax.jacfwd", "autograd.jacobian"])
def test_float32_runs_in_float32(cases, method_id):
    evaluation = evaluate("t.per-sample", method_id, Options(dtype="float32", timing=FAST.timing))
    assert evaluation.ok, evaluation.record["message"]
    assert evaluation.value.dtype == np.float32
    expected = cases["t.per-sample"].analytic(*evaluation.inputs)
    np.testing.assert_allclose(evaluation.jacobian[0], expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(evaluation.jacobian[0], expected, rtol=1e-12, atol=0)


def test_finite_differences_refuse_float32(cases):
    record = evaluate("t.per-sample", "fd.central", Options(dtype="float32", timing=FAST.timing)).record
    assert record["status"] == "unsupported" and "float64" in record["message"]


def test_timing_record_keeps_every_sample(cases):
    record = evaluate("t.per-sample", "torch.func.jacrev", FAST).record
    time = record["time"]
    assert time["repeats"] == len(time["samples_s"]) >= 2
    assert time["median_s"] > 0 and time["prepare_s"] > 0
    assert record["ratio"] == pytest.approx(time["median_s"] / record["f_time_s"])


def test_missing_framework_is_unavailable_not_an_import_error(cases, monkeypatch):
    class Ghost(Backend):
        name = "ghost"
        import_name = "no_such_framework_anywhere"

    ghost = Ghost()
    ghost.method("ghost.jac", mode="reverse")(lambda lib, p: (lambda: None))
    try:
        assert ghost.availability() == (False, "ghost: No module named 'no_such_framework_anywhere'")
        record = evaluate("t.per-sample", "ghost.jac", FAST).record
        assert record["status"] == "unavailable" and "no_such_framework_anywhere" in record["message"]
    finally:
        METHODS.pop("ghost.jac")
        BACKENDS.pop("ghost")


@pytest.mark.requires("jax")
def test_failing_function_is_an_error_naming_f(registry):
    @case(id="t.raises", inputs=(np.ones(2),))
    def raises(xp, x):
        raise ValueError("bad input to f")

    record = evaluate("t.raises", "jax.jacrev", FAST).record
    assert record["status"] == "error"
    assert record["message"] == "f itself failed: ValueError: bad input to f"
    assert "Traceback" in record["traceback"]


def test_integer_output_is_an_error(registry):
    @case(id="t.int", inputs=(np.ones(2),))
    def integer(xp, x):
        return xp.astype(x, xp.int64) if hasattr(xp, "astype") else x.astype(int)

    record = evaluate("t.int", "fd.central", FAST).record
    assert record["status"] == "error" and "real floating output" in record["message"]


def test_forward_mode_without_rule_is_unsupported(registry):
    @case(id="t.cdist", inputs=lambda rng: (rng.standard_normal((3, 2)),))
    def cdist(xp, x):
        return x

    @cdist.impl("torch")
    def _(x):
        import torch

        return torch.cdist(x, x + 1.0)

    assert evaluate("t.cdist", "torch.func.jacrev", FAST).record["status"] == "ok"
    record = evaluate("t.cdist", "torch.func.jacfwd", FAST).record
    assert record["status"] == "unsupported", record["message"]


def test_broken_input_factory_is_an_error_naming_the_case(registry):
    @case(id="t.bad-inputs", inputs=lambda rng: rng.standard_normal(3))
    def bad(xp, x):
        return x

    record = evaluate("t.bad-inputs", "fd.central", FAST).record
    assert record["status"] == "error"
    assert record["message"].startswith("inputs failed: CaseError: case 't.bad-inputs': inputs must be a tuple")


@pytest.fixture
def hessian_case(registry):
    # f(x) = sum(sin(x) * x^2) + x0 * x1: Hessian diag(2 sin x + 4 x cos x - x^2 sin x), plus the coupling.
    def analytic(x):
        h = np.diag(2 * np.sin(x) + 4 * x * np.cos(x) - x**2 * np.sin(x))
        h[0, 1] += 1.0
        h[1, 0] += 1.0
        return h

    @case(id="t.hessian", order=2, inputs=lambda rng: (rng.standard_normal(4),), analytic=analytic)
    def scalar(xp, x):
        return xp.sum(xp.sin(x) * x**2) + x[0] * x[1]

    return registry


@pytest.mark.parametrize("method_id", [m for m, spec in METHODS.items() if spec.order == 2])
def test_hessian_method_matches_analytic(hessian_case, method_id):
    evaluation = evaluate("t.hessian", method_id, FAST)
    assert evaluation.ok, evaluation.record["message"]
    tol = 1e-6 if evaluation.record["mode"] == "fd" else 1e-12
    np.testing.assert_allclose(evaluation.jacobian[0], hessian_case["t.hessian"].analytic(*evaluation.inputs),
                               rtol=tol, atol=tol)


def test_jacobian_method_on_hessian_case_is_unsupported(hessian_case):
    record = evaluate("t.hessian", "torch.func.jacrev", FAST).record
    assert record["status"] == "unsupported" and "asks for a Hessian" in record["message"]


def test_runner_pairs_hessian_cases_with_hessian_methods_only(hessian_case, frameworks):
    from jacobian_harness.runner import run_case

    result = run_case("t.hessian", list(METHODS), FAST)
    assert {r["method"] for r in result.records} == {m for m, spec in METHODS.items() if spec.order == 2}
    assert {r["status"] for r in frameworks.available(result.records)} == {"agree"}


def test_size_presets_reach_the_input_factory(registry):
    @case(id="t.sized", inputs=lambda rng, n: (rng.standard_normal(n),),
          sizes={"small": {"n": 3}, "medium": {"n": 7}})
    def sized(xp, x):
        return xp.exp(x)

    assert evaluate("t.sized", "fd.central", FAST).jacobian[0].shape == (3, 3)
    medium = Options(timing=FAST.timing, size="medium")
    assert evaluate("t.sized", "fd.central", medium).jacobian[0].shape == (7, 7)
    record = evaluate("t.sized", "fd.central", Options(timing=FAST.timing, size="large")).record
    assert record["status"] == "error" and "has no size 'large' (it has small, medium)" in record["message"]


@pytest.mark.parametrize("method_id", CHECKS)
@pytest.mark.parametrize("case_id", ["t.two-inputs", "t.per-sample"])
def test_jvp_vjp_check_returns_both_projections_of_the_jacobian(cases, case_id, method_id):
    from jacobian_harness.adapters.base import project_reference

    evaluation = evaluate(case_id, method_id, FAST)
    assert evaluation.ok, evaluation.record["message"]
    analytic = cases[case_id].analytic(*evaluation.inputs)
    expected = project_reference(list(analytic) if isinstance(analytic, tuple) else [analytic], evaluation.problem)
    assert expected[0] != 0
    np.testing.assert_allclose(evaluation.jacobian[0], expected, rtol=1e-12)


# -- random compositions of elementwise ops, every framework against the chain rule (hypothesis) ------------
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from jacobian_harness import casedef  # noqa: E402
from jacobian_harness.casedef import Case  # noqa: E402
from jacobian_harness.runner import run_case  # noqa: E402

# name -> (f(xp, x), f'(x) in NumPy); each keeps values of [-2, 2] in a range where nothing overflows.
ELEMENTWISE = {
    "sin": (lambda xp, x: xp.sin(x), np.cos),
    "cos": (lambda xp, x: xp.cos(x), lambda x: -np.sin(x)),
    "tanh": (lambda xp, x: xp.tanh(x), lambda x: 1 - np.tanh(x) ** 2),
    "exp-tanh": (lambda xp, x: xp.exp(xp.tanh(x)), lambda x: np.exp(np.tanh(x)) * (1 - np.tanh(x) ** 2)),
    "log1p-square": (lambda xp, x: xp.log(1 + x * x), lambda x: 2 * x / (1 + x * x)),
    "hypot1": (lambda xp, x: xp.sqrt(1 + x * x), lambda x: x / np.sqrt(1 + x * x)),
    "sigmoid": (lambda xp, x: 1 / (1 + xp.exp(-x)), lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2),
    "affine": (lambda xp, x: 2.5 * x + 1, lambda x: np.full_like(x, 2.5)),
}
CROSS_BACKEND = ["torch.func.jacrev", "torch.func.jacfwd", "torch.grad-loop", "torch.forward_ad", "jax.jacrev",
                 "jax.jacfwd", "autograd.jacobian", "fd.central"]


def _composition(names):
    def f(xp, x):
        for name in names:
            x = ELEMENTWISE[name][0](xp, x)
        return x

    def jacobian(x):
        derivative = np.ones_like(x)
        for name in names:
            derivative = derivative * ELEMENTWISE[name][1](x)
            x = ELEMENTWISE[name][0](np, x)
        return np.diag(derivative)

    return f, jacobian


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(sorted(ELEMENTWISE)), min_size=1, max_size=5),
       st.lists(st.floats(-2, 2, allow_nan=False), min_size=1, max_size=4))
def test_random_elementwise_compositions_agree_in_every_framework(frameworks, names, point):
    f, jacobian = _composition(names)
    case_id = "property." + "-".join(names)
    casedef.CASES[case_id] = Case(id=case_id, fn=f, inputs=(np.array(point),), analytic=jacobian)
    try:
        result = run_case(case_id, CROSS_BACKEND, FAST)
    finally:
        del casedef.CASES[case_id]
    status = {r["method"]: r["status"] for r in result.records}
    assert status == frameworks.expect(dict.fromkeys(CROSS_BACKEND, "agree")), [
        (r["method"], r["message"]) for r in result.records if r["status"] != "agree"]


def test_every_backend_sees_bit_identical_inputs_from_the_same_seed(cases, frameworks):
    from jacobian_harness.adapters.base import BACKENDS

    inputs = {}
    for method_id in frameworks.methods(("torch.func.jacrev", "jax.jacrev", "autograd.jacobian", "fd.central")):
        evaluation = evaluate("t.two-inputs", method_id, FAST)
        backend = BACKENDS[evaluation.record["backend"]]
        lib = backend.load()
        # What the backend computes on: the inputs converted to its arrays, read back bit for bit.
        inputs[method_id] = [np.asarray(backend.to_numpy(lib, backend.asarray(lib, a, "float64"))).tobytes()
                             for a in evaluation.inputs]
    assert len({tuple(v) for v in inputs.values()}) == 1
    again = evaluate("t.two-inputs", frameworks.methods(["jax.jacrev", "torch.func.jacrev"])[0], FAST).inputs
    assert [a.tobytes() for a in again] == [a.tobytes() for a in evaluate("t.two-inputs", "fd.central", FAST).inputs]


@pytest.mark.parametrize("method_id", ["tensorflow.jacobian", "tensorflow.jacobian[while-loop]",
                                       "tensorflow.gradients-loop"])
def test_tensorflow_methods_trace_once_in_preparation_and_never_again(method_id):
    # Eager GradientTape.jacobian converted its pfor loop on every call (0.4 s a call on adbench.gmm, and a
    # retracing warning): each method builds one tf.function, traced by the first call only.
    tf = pytest.importorskip("tensorflow", reason="the tensorflow extra is not installed")
    from jacobian_harness.adapters.base import Problem

    backend = BACKENDS["tensorflow"]
    lib = backend.load()
    x = tf.constant(np.linspace(0.1, 1.0, 4))
    traced = []

    def fn(v):
        traced.append(1)  # Python runs only while TensorFlow traces
        return tf.sin(v) * tf.reduce_sum(v)

    call = METHODS[method_id].build(lib, Problem(fn=fn, args=(x,), out_shape=(4,)))
    first = call()
    prepared = len(traced)
    for _ in range(3):
        again = call()
    assert len(traced) == prepared  # no call after the first traces again
    # gradients-loop traces f once more while it is built, to count its graph's ops (GRADIENTS_LOOP_MAX_OPS)
    assert prepared == (2 if method_id == "tensorflow.gradients-loop" else 1)
    np.testing.assert_allclose(again[0].numpy(), first[0].numpy())
    expected = np.diag(np.cos(x.numpy()) * np.sum(x.numpy())) + np.sin(x.numpy())[:, None]
    np.testing.assert_allclose(first[0].numpy(), expected, rtol=1e-12)


# -- what a backend declares once ---------------------------------------------------------------------------

def _requirement_names(requirements: list[str]) -> set[str]:
    from packaging.requirements import Requirement

    return {Requirement(r).name for r in requirements}


def test_each_backends_extra_in_pyproject_installs_its_declared_packages():
    import tomllib

    from jacobian_harness.adapters import BACKENDS, load_adapters

    load_adapters()
    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    for backend in BACKENDS.values():
        installs = _requirement_names(extras[backend.extra] if backend.extra else project["dependencies"])
        assert set(backend.packages) <= installs, (backend.name, backend.packages, installs)
        assert backend.checked and backend.colour.startswith("#"), backend.name
    assert len({backend.colour for backend in BACKENDS.values()}) == len(BACKENDS)  # no two plots alike


def test_a_run_records_every_backends_packages():
    from jacobian_harness.environment import packages

    assert {"jacobian-harness", "torch", "array-api-compat", "jax", "jaxlib", "autograd", "tensorflow", "numpy",
            "numdifftools"} <= set(packages())


def test_a_method_with_an_unknown_mode_is_refused_naming_the_modes():
    from jacobian_harness.adapters.base import MODES
    from jacobian_harness.render.html import MODE_MARKERS

    class Toy(Backend):
        name = "toy-modes"

    try:
        with pytest.raises(ValueError, match="mode must be one of reverse, forward"):
            Toy().method("toy-modes.m", mode="sideways")
    finally:
        BACKENDS.pop("toy-modes")

    assert set(MODES) == set(MODE_MARKERS)  # every mode has its marker in the plots


def test_a_backends_colour_reaches_the_plots():
    from jacobian_harness.render.html import framework_colour, strip_legend

    assert framework_colour("torch") == "#e65100" and framework_colour("a-plugin-not-here") == "#000000"
    assert strip_legend([("jax", "reverse")])[0] == ("jax", "#1565c0", "o", "#1565c0")

