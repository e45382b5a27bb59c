import numpy as np
import pytest

from jacobian_harness.casedef import Case, CaseError, Divergence
from jacobian_harness.tolerances import TOLERANCES, diff, tolerance
from jacobian_harness.verdicts import choose_reference, verdict
from jacobian_harness.evaluate import Evaluation

J = np.array([[1.0, 2.0], [3.0, 4.0]])
WRONG = J * np.array([[1.0, 1.0], [1.0, -1.0]])


def make_case(**fields) -> Case:
    return Case(id="c", fn=lambda xp, x: x, inputs=(np.ones(2),), **fields)


def ev(method, backend, blocks, mode="reverse", status="ok", dtype="float64", value=None, version="1.0"):
    record = {"case": "c", "method": method, "backend": backend, "mode": mode, "dtype": dtype,
              "status": status, "message": "", "backend_version": version}
    return Evaluation(record, None if blocks is None else [np.asarray(b, dtype=float) for b in blocks],
                      np.ones(2) if value is None else value, (np.ones(2),))


def test_diff_reports_worst_element_with_block_and_index():
    got = [J, J.copy()]
    got[1][1, 0] += 1.0
    result = diff(got, [J, J], rtol=1e-7, atol=1e-7)
    assert not result.ok
    assert result.worst_index == [1, 1, 0]
    assert (result.got, result.expected) == (4.0, 3.0)
    assert result.max_abs_err == pytest.approx(1.0)
    assert result.max_rel_err == pytest.approx(1 / 3)


def test_diff_within_tolerance_is_ok():
    assert diff([J + 5e-8], [J], rtol=1e-7, atol=1e-7).ok
    assert not diff([J + 1e-6], [J], rtol=1e-7, atol=1e-7).ok


@pytest.mark.parametrize("got, expected, equal_nan, ok", [
    ([np.nan, 1.0], [np.nan, 1.0], True, True),
    ([np.nan, 1.0], [np.nan, 1.0], False, False),
    ([np.nan, 1.0], [0.0, 1.0], True, False),
    ([0.0, 1.0], [np.nan, 1.0], True, False),
    ([np.inf, 1.0], [np.inf, 1.0], True, True),
    ([np.inf, 1.0], [-np.inf, 1.0], True, False),
    ([np.inf, 1.0], [1e300, 1.0], True, False),
])
def test_nan_and_inf_patterns_are_compared_explicitly(got, expected, equal_nan, ok):
    result = diff([np.array(got)], [np.array(expected)], rtol=1e-7, atol=1e-7, equal_nan=equal_nan)
    assert result.ok is ok
    if not ok:
        assert result.worst_index == [0, 0]


def test_shape_mismatch_is_a_disagreement():
    assert "shape" in diff([J], [J.T[:1]], rtol=1, atol=1).reason


def test_tolerance_table_merges_case_override():
    assert tolerance(None, "float64") == TOLERANCES["float64"]
    case = make_case(tolerances={"float32": {"rtol": 0.5}})
    assert tolerance(case, "float32") == {"rtol": 0.5, "atol": TOLERANCES["float32"]["atol"]}


def test_shared_bug_in_many_methods_of_one_framework_does_not_outvote_others():
    # Every torch reverse method shares a wrong formula; torch forward, JAX and autograd are right.
    case = make_case()
    torch_reverse = [ev(f"torch.r{i}", "torch", [WRONG]) for i in range(8)]
    others = [ev("torch.fwd", "torch", [J], mode="forward"), ev("jax.jacrev", "jax", [J]),
              ev("autograd.jacobian", "autograd", [J])]
    reference = choose_reference(case, torch_reverse + others)
    np.testing.assert_array_equal(reference.blocks[0], J)
    assert "autograd, jax, torch" in reference.source
    verdicts = {e.record["method"]: verdict(case, e, reference)["status"] for e in torch_reverse + others}
    assert verdicts["torch.r0"] == "disagree" and verdicts["jax.jacrev"] == "agree"


def test_finite_differences_break_a_tie_between_frameworks():
    case = make_case()
    evaluations = [ev("torch.func.jacrev", "torch", [WRONG]), ev("jax.jacrev", "jax", [J]),
                   ev("fd.central", "fd", [J + 1e-7], mode="fd")]
    reference = choose_reference(case, evaluations)
    np.testing.assert_array_equal(reference.blocks[0], J)
    assert "finite differences" in reference.source


def test_unbroken_tie_gives_no_reference_and_flags_both():
    case = make_case()
    evaluations = [ev("torch.func.jacrev", "torch", [WRONG]), ev("jax.jacrev", "jax", [J])]
    reference = choose_reference(case, evaluations)
    assert reference.blocks is None
    assert all(verdict(case, e, reference)["status"] == "disagree" for e in evaluations)


def test_analytic_reference_wins_over_any_consensus():
    case = make_case(analytic=lambda x: J)
    evaluations = [ev("torch.func.jacrev", "torch", [WRONG]), ev("jax.jacrev", "jax", [WRONG])]
    reference = choose_reference(case, evaluations)
    assert reference.source == "analytic"
    record = verdict(case, evaluations[0], reference)
    assert record["status"] == "disagree" and record["worst_index"] == [0, 1, 1]
    assert "got -4.0, expected 4.0" in record["message"]


def test_declared_convention_is_expected_divergence_and_does_not_vote():
    case = make_case(divergences=(Divergence("jax.*", reason="jax splits ties"),))
    evaluations = [ev("torch.func.jacrev", "torch", [J]), ev("jax.jacrev", "jax", [WRONG]),
                   ev("jax.jacfwd", "jax", [WRONG]), ev("autograd.jacobian", "autograd", [WRONG])]
    reference = choose_reference(case, evaluations)
    # autograd and torch tie on one vote each without jax: fd absent, so no consensus...
    assert reference.blocks is None
    case = make_case(divergences=(Divergence("jax.*", reason="jax splits ties"),
                                  Divergence("autograd.*", reason="autograd too")))
    reference = choose_reference(case, evaluations)
    np.testing.assert_array_equal(reference.blocks[0], J)
    record = verdict(case, evaluations[1], reference)
    assert record["status"] == "expected-divergence" and "jax splits ties" in record["message"]


def test_declared_divergence_that_no_longer_occurs_is_reported():
    case = make_case(analytic=lambda x: J, divergences=(Divergence("jax.*", reason="old convention"),))
    evaluation = ev("jax.jacrev", "jax", [J])
    record = verdict(case, evaluation, choose_reference(case, [evaluation]))
    assert record["status"] == "unexpected-agree" and "old convention" in record["message"]


def test_declared_divergence_with_expected_value_catches_a_changed_convention():
    half = J * 0.5
    case = make_case(analytic=lambda x: J,
                     divergences=(Divergence("jax.*", reason="halves", expected=lambda x: half),))
    assert verdict(case, ev("jax.a", "jax", [half]), choose_reference(case, [ev("t", "torch", [J])]))["status"] \
        == "expected-divergence"
    assert verdict(case, ev("jax.a", "jax", [WRONG]), choose_reference(case, [ev("t", "torch", [J])]))["status"] \
        == "disagree"


def test_version_bounded_bug_applies_only_to_affected_versions():
    case = make_case(analytic=lambda x: J, divergences=(
        Divergence("torch.*", reason="bug", kind="bug", issue="pytorch#1", versions="<2.14"),))
    reference = choose_reference(case, [ev("jax.jacrev", "jax", [J])])
    assert verdict(case, ev("torch.a", "torch", [WRONG], version="2.13.0+cpu"), reference)["status"] \
        == "expected-divergence"
    assert verdict(case, ev("torch.a", "torch", [WRONG], version="2.14.1"), reference)["status"] == "disagree"


def test_error_under_a_declared_bug_is_expected_but_other_errors_stay_errors():
    case = make_case(analytic=lambda x: J, divergences=(Divergence("torch.a", reason="crashes", kind="bug"),))
    reference = choose_reference(case, [ev("jax.jacrev", "jax", [J])])
    assert verdict(case, ev("torch.a", "torch", None, status="error"), reference)["status"] == "expected-divergence"
    assert verdict(case, ev("torch.b", "torch", None, status="error"), reference)["status"] == "error"


def _error(method, message, version="1.0"):
    evaluation = ev(method, "torch", None, status="error", version=version)
    evaluation.record["message"] = message
    return evaluation


def test_a_bug_declared_to_raise_must_raise_that_error():
    case = make_case(analytic=lambda x: J, divergences=(
        Divergence("torch.a", reason="raises at a singular matrix", kind="bug", raises="LinAlgError"),))
    reference = choose_reference(case, [ev("jax.jacrev", "jax", [J])])
    assert verdict(case, _error("torch.a", "LinAlgError: singular"), reference)["status"] == "expected-divergence"
    other = verdict(case, _error("torch.a", "RuntimeError: shape"), reference)
    assert other["status"] == "error" and "declared to raise 'LinAlgError'" in other["message"]
    wrong_value = verdict(case, ev("torch.a", "torch", [WRONG]), reference)
    assert wrong_value["status"] == "disagree" and "declared to raise" in wrong_value["message"]
    assert verdict(case, ev("torch.a", "torch", [J]), reference)["status"] == "unexpected-agree"


def test_a_bug_declared_as_a_wrong_value_that_now_raises_is_an_error():
    # torch 2.15.0's forward-mode det at a singular matrix: 2.14.1 returned zeros, 2.15.0 raises.
    case = make_case(analytic=lambda x: J, divergences=(
        Divergence("torch.a", reason="zeros", kind="bug", expected=lambda x: np.zeros_like(J)),))
    reference = choose_reference(case, [ev("jax.jacrev", "jax", [J])])
    record = verdict(case, _error("torch.a", "LinAlgError: singular"), reference)
    assert record["status"] == "error" and "failed instead" in record["message"]
    with pytest.raises(CaseError, match="not both"):
        Divergence("torch.a", reason="r", expected=lambda x: J, raises="LinAlgError")


def test_a_declaration_says_when_it_was_not_checked_on_the_installed_version():
    case = make_case(analytic=lambda x: J, divergences=(
        Divergence("torch.a", reason="bug", kind="bug", checked=("2.13.0", "2.14.1")),))
    reference = choose_reference(case, [ev("jax.jacrev", "jax", [J])])
    checked = verdict(case, ev("torch.a", "torch", [WRONG], version="2.14.1+cu130"), reference)
    assert checked["status"] == "expected-divergence" and "not yet checked" not in checked["message"]
    unchecked = verdict(case, ev("torch.a", "torch", [WRONG], version="2.16.0"), reference)
    assert unchecked["status"] == "expected-divergence"
    assert "not yet checked on 2.16.0" in unchecked["message"] and "2.13.0, 2.14.1" in unchecked["message"]
    # The record names the declaration itself, without the note: a comparison of the two sees the same one.
    assert checked["declaration"] == unchecked["declaration"] == "bug: bug"
    with pytest.raises(CaseError, match="not a version"):
        Divergence("torch.a", reason="r", checked=("two-fifteen",))


def test_function_value_mismatch_is_flagged_before_the_jacobian():
    case = make_case()
    numpy_side = ev("fd.central", "fd", [J], mode="fd", value=np.array([1.0, 2.0]))
    torch_side = ev("torch.func.jacrev", "torch", [J], value=np.array([1.0, 2.5]))
    reference = choose_reference(case, [numpy_side, torch_side, ev("jax.jacrev", "jax", [J])])
    record = verdict(case, torch_side, reference)
    assert record["status"] == "disagree" and "f itself differs" in record["message"]


def test_fd_is_judged_with_its_own_looser_tolerance():
    case = make_case(analytic=lambda x: J)
    reference = choose_reference(case, [ev("jax.jacrev", "jax", [J])])
    assert verdict(case, ev("fd.central", "fd", [J + 1e-6], mode="fd"), reference)["status"] == "agree"
    assert verdict(case, ev("torch.x", "torch", [J + 1e-6]), reference)["status"] == "disagree"


def test_failing_analytic_jacobian_is_reported_not_raised():
    def broken(x):
        raise ZeroDivisionError("oops")

    case = make_case(analytic=broken)
    evaluation = ev("jax.jacrev", "jax", [J])
    record = verdict(case, evaluation, choose_reference(case, [evaluation]))
    assert record["status"] == "disagree" and "analytic Jacobian failed: ZeroDivisionError: oops" in record["message"]


def check_evaluation(value):
    from jacobian_harness.adapters import Problem, load_adapters

    load_adapters()
    evaluation = ev("jax.jvp-vjp", "jax", [np.asarray(value)], mode="check")
    evaluation.problem = Problem(fn=None, args=(np.ones(2),), out_shape=(2,))
    return evaluation


def test_check_is_compared_with_the_same_projection_of_the_reference():
    from jacobian_harness.adapters.base import project_reference

    case = make_case(analytic=lambda x: J)
    good = check_evaluation(project_reference([J], check_evaluation(0).problem))
    reference = choose_reference(case, [ev("torch.a", "torch", [J])])
    assert verdict(case, good, reference)["status"] == "agree"
    assert verdict(case, check_evaluation([1.0, 2.0]), reference)["status"] == "disagree"


def test_check_inherits_a_convention_declared_for_its_backend():
    case = make_case(analytic=lambda x: J, divergences=(Divergence("jax.jacrev", reason="kink"),))
    reference = choose_reference(case, [ev("torch.a", "torch", [J])])
    record = verdict(case, check_evaluation([1.0, 2.0]), reference)
    assert record["status"] == "expected-divergence" and "inherited" in record["message"]


def test_check_inherits_a_declared_error_of_its_backend_only_when_it_raises_that_error():
    case = make_case(analytic=lambda x: J, divergences=(
        Divergence("jax.jacfwd", reason="singular", kind="bug", raises="matrix is singular"),))
    reference = choose_reference(case, [ev("torch.a", "torch", [J])])
    failing = check_evaluation([1.0, 2.0])
    failing.record.update(status="error", message="LinAlgError: the input matrix is singular")
    assert verdict(case, failing, reference)["status"] == "expected-divergence"
    failing.record.update(status="error", message="TypeError: something else")
    assert verdict(case, failing, reference)["status"] == "error"


# -- properties of the tolerance logic (hypothesis) -------------------------------------------------------
from hypothesis import given, settings, strategies as st  # noqa: E402
from hypothesis.extra.numpy import array_shapes, arrays  # noqa: E402

FINITE = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
ANY = st.floats(allow_nan=True, allow_infinity=True, width=64)
TOL = st.sampled_from(list(TOLERANCES.values()))


@given(arrays(np.float64, array_shapes(max_dims=3, max_side=4), elements=ANY))
def test_an_array_agrees_with_itself_nan_and_inf_included(block):
    result = diff([block], [block.copy()], rtol=1e-7, atol=1e-7, equal_nan=True)
    assert result.ok and (result.max_abs_err in (0.0, None))


@given(arrays(np.float64, array_shapes(max_dims=3, max_side=4), elements=FINITE), TOL, st.data())
def test_errors_inside_the_tolerance_agree_and_one_outside_is_found_where_it_is(expected, tol, data):
    allowed = tol["atol"] + tol["rtol"] * np.abs(expected)
    fraction = data.draw(arrays(np.float64, expected.shape, elements=st.floats(-0.9, 0.9)))
    assert diff([expected + fraction * allowed], [expected], **tol).ok
    position = data.draw(st.tuples(*(st.integers(0, n - 1) for n in expected.shape)))
    wrong = expected.copy()
    wrong[position] += 3 * allowed[position]
    result = diff([wrong], [expected], **tol)
    assert not result.ok and result.worst_index == [0, *position]
    assert result.got == wrong[position] and result.expected == expected[position]


@given(arrays(np.float64, array_shapes(min_side=1, max_dims=2, max_side=4), elements=FINITE), st.data(),
       st.sampled_from([np.nan, np.inf, -np.inf]), st.booleans())
def test_a_nan_or_inf_where_the_other_side_has_none_is_a_pattern_mismatch(expected, data, special, on_got):
    position = data.draw(st.tuples(*(st.integers(0, n - 1) for n in expected.shape)))
    other = expected.copy()
    other[position] = special
    got, reference = (other, expected) if on_got else (expected, other)
    result = diff([got], [reference], rtol=1e-3, atol=1e-3)
    assert not result.ok and result.reason == "NaN/inf pattern differs" and result.worst_index == [0, *position]


@given(arrays(np.float64, array_shapes(min_side=1, max_dims=2, max_side=4), elements=FINITE))
def test_equal_nan_false_rejects_even_matching_nans(block):
    block = block.copy()
    block.flat[0] = np.nan
    assert diff([block], [block], rtol=1, atol=1, equal_nan=True).ok
    assert not diff([block], [block], rtol=1, atol=1, equal_nan=False).ok


@given(arrays(np.float64, array_shapes(max_dims=3, max_side=4), elements=st.floats(-1e30, 1e30)))
def test_float32_rounding_of_a_float64_jacobian_is_within_the_float32_tolerance(expected):
    assert diff([expected.astype(np.float32)], [expected], **TOLERANCES["float32"]).ok


@given(array_shapes(max_dims=3, max_side=4), array_shapes(max_dims=3, max_side=4))
def test_shapes_that_differ_never_agree(shape_a, shape_b):
    result = diff([np.zeros(shape_a)], [np.zeros(shape_b)], rtol=1, atol=1)
    assert result.ok == (shape_a == shape_b)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 15), st.integers(1, 3), st.permutations(range(3)))
def test_one_framework_never_outvotes_two_whatever_its_method_count(torch_methods, autograd_methods, order):
    """Every torch method shares one wrong formula; jax and autograd agree: the reference is theirs,
    in whatever order the evaluations arrive."""
    groups = [[ev(f"torch.m{k}", "torch", [WRONG]) for k in range(torch_methods)], [ev("jax.jacrev", "jax", [J])],
              [ev(f"autograd.m{k}", "autograd", [J]) for k in range(autograd_methods)]]
    evaluations = [e for k in order for e in groups[k]]
    reference = choose_reference(make_case(), evaluations)
    assert np.array_equal(reference.blocks[0], J)
    assert {verdict(make_case(), e, reference)["status"] for e in groups[0]} == {"disagree"}


# -- finite differences over an AD consensus, where f is smooth (a graph break) --------------------------
TRUE = np.array([[3.0, 1.0], [1.0, 3.0]])      # what both finite-difference schemes see
DETACHED = np.array([[2.0, 0.0], [0.0, 2.0]])  # what every AD method sees when a factor is a constant


def _disputed():
    return [ev("torch.jacrev", "torch", [DETACHED]), ev("jax.jacrev", "jax", [DETACHED]),
            ev("fd.central", "fd", [TRUE], mode="fd"), ev("fd.richardson", "fd", [TRUE], mode="fd")]


def test_agreeing_finite_differences_at_a_smooth_point_overrule_an_ad_consensus():
    case = make_case()
    moves = []

    def smooth(method, move):
        moves.append((method, move))
        return [TRUE + 1e-4]

    evaluations = _disputed()
    reference = choose_reference(case, evaluations, smooth)
    assert reference.tolerance_key == "fd" and "over the consensus of jax, torch" in reference.source
    assert moves == [("fd.central", 1e-4), ("fd.central", -1e-4)]
    records = {e.record["method"]: verdict(case, e, reference) for e in evaluations}
    assert records["fd.central"]["status"] == records["fd.richardson"]["status"] == "agree"
    for method in ("torch.jacrev", "jax.jacrev"):
        assert records[method]["status"] == "disagree" and "graph break" in records[method]["message"]
        assert ".item()" in records[method]["message"]


def test_a_kink_at_the_point_keeps_the_ad_consensus():
    # Moved either way, the finite differences jump (a one-sided slope): the AD convention there is no bug.
    case = make_case()
    reference = choose_reference(case, _disputed(), lambda method, move: [TRUE + (1.0 if move > 0 else -1.0)])
    assert reference.source == "consensus of jax, torch" and np.array_equal(reference.blocks[0], DETACHED)


@pytest.mark.parametrize("evaluations", [
    _disputed()[:3],                                                      # one scheme only
    _disputed()[:3] + [ev("fd.richardson", "fd", [TRUE * 2], mode="fd")],  # schemes that disagree
], ids=["one-scheme", "schemes-disagree"])
def test_finite_differences_overrule_a_consensus_only_when_every_scheme_agrees(evaluations):
    reference = choose_reference(make_case(), evaluations, lambda method, move: [TRUE])
    assert reference.source.startswith("consensus of jax, torch")


def test_without_a_probe_or_where_the_moved_point_fails_the_consensus_stands():
    assert choose_reference(make_case(), _disputed()).source == "consensus of jax, torch"
    assert choose_reference(make_case(), _disputed(), lambda method, move: None).source == "consensus of jax, torch"
