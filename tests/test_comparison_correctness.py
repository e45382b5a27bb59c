"""jacobian_harness.comparison.correctness: verdict changes between two runs (regressions, fixes,
declared changes, another sample behind the same id)."""

import copy

from jacobian_harness.render.compare_markdown import render_comparison
from synthetic_runs import compare, synthetic_run


def test_verdict_regression_and_fix():
    base, new = synthetic_run(1), copy.deepcopy(synthetic_run(1))
    new[0]["results"][0]["status"] = "disagree"
    base[0]["results"][1]["status"] = "error"
    result = compare(base, new)
    kinds = {(p["case"], p["method"]): p["correctness"] for p in result["pairs"] if p["correctness"] != "same"}
    assert kinds == {("case0", "torch.func.jacrev"): "regression", ("case0", "torch.func.jacfwd"): "fix"}
    assert result["summary"]["failed"]


def test_the_first_screen_says_what_blocks_the_upgrade_and_each_kind_of_verdict_change():
    base, new = synthetic_run(1), copy.deepcopy(synthetic_run(1))
    new[0]["results"][0]["status"] = "disagree"  # agree -> disagree: a regression
    base[0]["results"][1]["status"] = "error"  # error -> agree: a fix
    base[0]["results"][2]["status"] = "disagree"
    new[0]["results"][2]["status"] = "error"  # wrong value -> error: neither
    new[1]["case4|jax.jacfwd|float64|0"] = new[1]["case4|jax.jacfwd|float64|0"] + 1e-5
    result = compare(base, new)
    assert result["summary"]["verdict_changes"] == {"agree -> disagree": 1, "disagree -> error": 1,
                                                     "error -> agree": 1}
    text = render_comparison(result)
    first_screen = text[:text.index("## ")]
    assert "**Not safe to upgrade torch as it stands: 1 correctness regression(s), 1 Jacobian(s) beyond tolerance.**" \
        in first_screen
    assert "- correctness: 1 regressions, 1 fixes, 1 other verdict changes (1 `disagree -> error`); by kind: " \
           "1 `agree -> disagree`, 1 `error -> agree`" in first_screen
    assert "1 of them beyond tolerance" in first_screen


def test_another_sample_behind_the_same_id_is_said_so_not_called_drift():
    """A generated pack (opinfo) records each sample's digest: where the two runs' digests differ, the id names
    another input, and its changed Jacobian is no numerics drift."""
    base, new = synthetic_run(1), copy.deepcopy(synthetic_run(1))
    for document, digest in ((base[0], "aaa"), (new[0], "bbb")):
        document["cases"]["case4"]["meta"] = {"digest": digest}
        document["cases"]["case5"]["meta"] = {"digest": "same"}
    new[1]["case4|jax.jacfwd|float64|0"] = new[1]["case4|jax.jacfwd|float64|0"] + 1.0
    new[1]["case5|jax.jacfwd|float64|0"] = new[1]["case5|jax.jacfwd|float64|0"] + 1.0
    result = compare(base, new)
    assert [(p["case"], p["method"]) for p in result["pairs"] if p["drift"]] == [("case5", "jax.jacfwd")]
    assert {p["case"] for p in result["pairs"] if p["sample_changed"]} == {"case4"}
    assert result["summary"]["sample_changed_cases"] == 1
    new[0]["results"][[r["case"] for r in new[0]["results"]].index("case4")]["status"] = "disagree"
    flipped = compare(base, new)
    assert flipped["summary"]["regressions"] == 0 and flipped["summary"]["changed"] == 1  # another input
    assert "1 cases have another sample behind the same id" in render_comparison(result)


def test_an_ab_side_that_made_another_sample_says_so_in_its_records():
    """In an `ab`, each side's worker makes the pack's sample from its own torch: the records carry the digest."""
    base, new = synthetic_run(1), copy.deepcopy(synthetic_run(1))
    for record in base[0]["results"]:
        record["sample_digest"] = "aaa"
    for record in new[0]["results"]:
        record["sample_digest"] = "bbb" if record["case"] == "case7" else "aaa"
    new[1]["case7|jax.jacfwd|float64|0"] = new[1]["case7|jax.jacfwd|float64|0"] + 1.0
    result = compare(base, new)
    assert not [p for p in result["pairs"] if p["drift"]]
    assert {p["case"] for p in result["pairs"] if p["sample_changed"]} == {"case7"}


def test_an_expected_divergence_explained_by_another_declaration_is_a_declared_change_not_a_regression():
    """A known bug declared per version (zeros before 2.15, an error from 2.15 on) stays expected on both sides:
    no regression, but the first screen says that its form changed. The note naming the versions a declaration
    was checked on is not a change."""
    base, new = synthetic_run(1), copy.deepcopy(synthetic_run(1))
    for document, text in ((base[0], "bug: returns zeros (affects <2.15)"), (new[0], "bug: raises (affects >=2.15)")):
        document["results"][0].update(status="expected-divergence", declaration=text, message=text)
    for document, version in ((base[0], "2.14.1"), (new[0], "2.15.0")):  # a document without `declaration`
        document["results"][1].update(status="expected-divergence",
                                      message=f"convention: abs'(0) [declared from torch 2.13.0; not yet checked on "
                                              f"{version}]")
    failed = "bug: raises at a singular matrix; LinAlgError: singular"  # a declared failure, before and after
    base[0]["results"][2].update(status="expected-divergence", message=failed)  # written before `declaration`
    new[0]["results"][2].update(status="expected-divergence", message=failed, declaration="bug: raises at a "
                                "singular matrix")
    for document, note in ((base[0], " [declared from torch 2.13.0; not yet checked on 2.14.1]"), (new[0], "")):
        document["results"][3].update(status="expected-divergence",  # the note sits before a declared error's text
                                      message=f"bug: raises at a singular matrix{note}; LinAlgError: singular")
    result = compare(base, new)
    changed = [(p["case"], p["method"]) for p in result["pairs"] if p["declared_change"]]
    assert changed == [("case0", "torch.func.jacrev")]
    # Runs of two versions of the harness whose declarations of the case differ: the harness changed, not torch.
    base[0]["cases"]["case0"]["divergences"] = [{"methods": "torch.*", "reason": "zeros", "versions": "<2.15"}]
    redeclared = compare(base, new)
    assert not any(p["declared_change"] for p in redeclared["pairs"])
    assert any("declared divergences of 1 cases differ" in w for w in redeclared["environment_warnings"])
    assert result["summary"]["declared_changes"] == 1 and result["summary"]["regressions"] == 0
    assert not result["summary"]["failed"]
    text = render_comparison(result)
    first_screen = text[:text.index("## ")]
    assert "1 expected divergences changed form as declared per version" in first_screen
    section = text[text.index("## Changed as declared per version (1)"):]
    assert "bug: returns zeros (affects <2.15)" in section and "bug: raises (affects >=2.15)" in section


def test_a_bug_declared_for_base_that_agrees_in_new_is_a_fix_and_a_convention_that_agrees_is_a_change():
    base, new = synthetic_run(1), copy.deepcopy(synthetic_run(1))
    base[0]["results"][0].update(status="expected-divergence", declaration="bug: wrong second derivative",
                                 message="bug: wrong second derivative")
    base[0]["results"][1].update(status="expected-divergence",  # written before records named declarations
                                 message="inherited from the backend's declared bug: wrong JVP rule")
    base[0]["results"][2].update(status="expected-divergence", declaration="convention: abs'(0) is 1",
                                 message="convention: abs'(0) is 1")
    result = compare(base, new)
    kinds = {(p["case"], p["method"]): p["correctness"] for p in result["pairs"] if p["correctness"] != "same"}
    assert kinds == {("case0", "torch.func.jacrev"): "fix", ("case0", "torch.func.jacfwd"): "fix",
                     ("case0", "jax.jacrev"): "changed"}
    assert result["summary"]["fixes"] == 2 and not result["summary"]["failed"]
    first_screen = render_comparison(result)
    assert ("- correctness: 0 regressions, 2 fixes, 1 other verdict changes (1 `expected-divergence -> agree`); "
            "by kind: 2 `expected-divergence -> agree`") in first_screen


def test_a_fixed_jacobian_is_no_drift_and_a_bug_declared_for_new_on_an_agreeing_pair_is_a_regression():
    """torch 2.15.0 fixed det's JVP rule at second order (its value moved to the reference: the fix, not drift)
    and broke forward-over-reverse at a singular matrix (declared for >=2.15: NEW's own run is green, but the
    upgrade broke a pair that agreed)."""
    base, new = synthetic_run(1), copy.deepcopy(synthetic_run(1))
    base[0]["results"][0].update(status="expected-divergence", declaration="bug: JVP rule wrong at second order",
                                 message="bug: JVP rule wrong at second order")
    base[1]["case0|torch.func.jacrev|float64|0"] = base[1]["case0|torch.func.jacrev|float64|0"] * 0.4
    new[0]["results"][1].update(status="expected-divergence", declaration="bug: raises at a singular matrix",
                                message="bug: raises at a singular matrix", jacobian=None)
    result = compare(base, new)
    first = result["pairs"][0]
    assert (first["correctness"], first["values"], first["drift"]) == ("fix", "fixed", None)
    assert result["pairs"][1]["correctness"] == "regression"
    summary = result["summary"]
    assert (summary["drift"], summary["jacobians_fixed"], summary["regressions"]) == (0, 1, 1)
    assert summary["largest_change"] is None and summary["failed"]
    text = render_comparison(result)
    assert "0 of them beyond tolerance and 1 moved to the reference with a fix" in text
    assert "**Not safe to upgrade torch as it stands: 1 correctness regression(s).**" in text
