"""compare_runs on synthetic runs: regressions, fixes, drift, speed changes, noise that must not be flagged."""

import copy

import numpy as np
import pytest

from jacobian_harness.changes import Settings, compare_runs, environment_warnings
from jacobian_harness.render.compare_markdown import render_comparison
from jacobian_harness.stats import speed_change

METHODS = {"torch.func.jacrev": "torch", "torch.func.jacfwd": "torch", "jax.jacrev": "jax",
           "jax.jacfwd": "jax", "autograd.jacobian": "autograd"}


def synthetic_run(seed: int, cases: int = 30, torch_version: str = "2.13.0", machine: float = 1.0,
                  slow: dict | None = None) -> tuple[dict, dict]:
    """A run of `cases` cases x 5 methods: lognormal samples around a per-pair true time, times `machine`
    (the whole machine's speed) and times slow[(case, method)] (a planted change)."""
    rng = np.random.default_rng(seed)
    truth = np.random.default_rng(0)  # the same true times in every run
    document = {"environment": {"python": "3.11", "cpu": "x", "threads": 1,
                                "versions": {"torch": torch_version, "jax": "0.10.2", "numpy": "2.0"}},
                "options": {"quick": False}, "cases": {}, "results": []}
    arrays = {}
    for c in range(cases):
        case_id = f"case{c}"
        document["cases"][case_id] = {"calibration_s": list(1e-3 * machine * rng.lognormal(0, 0.02, 20))}
        for method, backend in METHODS.items():
            true_s = 10 ** truth.uniform(-5, -3) * machine * (slow or {}).get((case_id, method), 1.0)
            samples = list(true_s * rng.lognormal(0, 0.05, 40))
            document["results"].append({
                "case": case_id, "method": method, "backend": backend, "dtype": "float64", "status": "agree",
                "backend_version": torch_version if backend == "torch" else "same",
                "time": {"median_s": float(np.median(samples)), "samples_s": samples},
                "jacobian": {"key": f"{case_id}|{method}|float64", "blocks": 1}})
            arrays[f"{case_id}|{method}|float64|0"] = np.eye(3) * (c + 1)
    return document, arrays


def compare(base, new, **settings):
    return compare_runs(base[0], new[0], base[1], new[1], Settings(**settings))


def test_identical_runs_change_nothing():
    run = synthetic_run(1)
    result = compare(run, run)
    assert result["summary"]["failed"] is False
    assert result["summary"]["slower"] == result["summary"]["faster"] == result["summary"]["drift"] == 0


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_noise_and_a_slower_machine_are_not_flagged(seed):
    # A/A: other samples, and a machine 30% slower during the whole NEW run.
    result = compare(synthetic_run(1), synthetic_run(seed, machine=1.3))
    assert result["summary"]["slower"] == 0 and result["summary"]["faster"] == 0, result["summary"]
    assert not result["summary"]["failed"]


def test_a_planted_25_percent_slowdown_is_the_only_one_flagged():
    planted = ("case7", "torch.func.jacrev")
    result = compare(synthetic_run(1), synthetic_run(2, machine=1.1, slow={planted: 1.25}))
    slower = [(p["case"], p["method"]) for p in result["pairs"]
              if p["speed"]["verdict"] == "slower" and not p["control"]]
    assert slower == [planted]
    # A single run's speed verdict is indicative: without rounds it does not fail the comparison.
    assert not result["summary"]["failed"] and result["summary"]["slower_backed"] == 0


def test_single_runs_judge_no_method_and_the_first_screen_leaves_methods_out():
    """A machine busier during one run shifts every method alike: without rounds no method is judged."""
    base, new = synthetic_run(1), synthetic_run(2, machine=1.3)
    result = compare(base, new)
    assert result["methods"] and {m["test"] for m in result["methods"]} == {"spread"}
    assert {m["verdict"] for m in result["methods"]} == {"inconclusive"}
    assert result["summary"]["slower_methods"] == result["summary"]["faster_methods"] == 0
    assert "speed by method" not in render_comparison(result)


def test_a_speedup_is_listed_as_an_improvement_and_does_not_fail():
    result = compare(synthetic_run(1), synthetic_run(2, slow={("case3", "torch.func.jacfwd"): 0.5}))
    faster = [(p["case"], p["method"]) for p in result["pairs"] if p["speed"]["verdict"] == "faster"]
    assert faster == [("case3", "torch.func.jacfwd")]
    assert not result["summary"]["failed"]


def test_verdict_regression_and_fix():
    base, new = synthetic_run(1), copy.deepcopy(synthetic_run(1))
    new[0]["results"][0]["status"] = "disagree"
    base[0]["results"][1]["status"] = "error"
    result = compare(base, new)
    kinds = {(p["case"], p["method"]): p["correctness"] for p in result["pairs"] if p["correctness"] != "same"}
    assert kinds == {("case0", "torch.func.jacrev"): "regression", ("case0", "torch.func.jacfwd"): "fix"}
    assert result["summary"]["failed"]


def test_jacobian_drift_is_found_even_when_both_runs_agree():
    base, new = synthetic_run(1), copy.deepcopy(synthetic_run(1))
    new[1]["case4|jax.jacfwd|float64|0"] = new[1]["case4|jax.jacfwd|float64|0"] + 1e-5
    result = compare(base, new)
    drifted = [p for p in result["pairs"] if p["drift"]]
    assert [(p["case"], p["method"]) for p in drifted] == [("case4", "jax.jacfwd")]
    assert drifted[0]["drift"]["max_abs_change"] == pytest.approx(1e-5)
    assert result["summary"]["failed"]


def test_a_zero_that_became_nonzero_counts_in_the_largest_relative_change():
    """|new - base| / |base| is undefined where base is 0: such an entry counts relative to its block's
    largest |base|, so that a 0 that became 227 is not reported as a relative change of 0."""
    base, new = synthetic_run(1), copy.deepcopy(synthetic_run(1))
    key = "case4|jax.jacfwd|float64|0"
    block = np.array(base[1][key], dtype=float)
    block.flat[0] = 0.0
    base[1][key] = block
    moved = block.copy()
    moved.flat[0] = 2 * np.abs(block).max()
    new[1][key] = moved
    result = compare(base, new)
    drifted = {(p["case"], p["method"]): p["drift"] for p in result["pairs"] if p["drift"]}
    assert drifted[("case4", "jax.jacfwd")]["max_rel_change"] == pytest.approx(2.0)


def test_a_jacobian_changed_within_tolerance_is_counted_and_shown_not_called_drift():
    """Bit-for-bit changes within tolerance tell which formulas were touched: counted, listed, never failing."""
    base, new = synthetic_run(1), copy.deepcopy(synthetic_run(1))
    new[1]["case2|torch.func.jacrev|float64|0"] = new[1]["case2|torch.func.jacrev|float64|0"] * (1 + 1e-12)
    new[1]["case7|jax.jacrev|float64|0"] = new[1]["case7|jax.jacrev|float64|0"] * (1 + 3e-10)
    result = compare(base, new)
    values = {(p["case"], p["method"]): p["values"] for p in result["pairs"] if p["values"] != "identical"}
    assert values == {("case2", "torch.func.jacrev"): "touched", ("case7", "jax.jacrev"): "touched"}
    summary = result["summary"]
    assert (summary["jacobians_compared"], summary["jacobians_changed"], summary["jacobians_touched"]) == (150, 2, 2)
    assert summary["drift"] == 0 and not summary["failed"]
    assert summary["largest_change"]["case"] == "case7"
    assert summary["largest_change"]["max_rel_change"] == pytest.approx(3e-10, rel=1e-3)
    text = render_comparison(result)
    assert "**Safe to upgrade torch" in text
    assert "- numerics: 2 of 150 Jacobians changed at all (not bit for bit the same), 0 of them beyond tolerance; " \
           "largest relative change 3e-10 (`case7` `jax.jacrev` float64)" in text
    touched = text[text.index("## Touched within tolerance (2)"):]
    assert touched.index("`case7`") < touched.index("`case2`")  # largest change first


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


def test_environment_differences_other_than_the_library_are_warned():
    base, new = synthetic_run(1)[0], synthetic_run(1, torch_version="2.14.1")[0]
    assert environment_warnings(base, new, "torch") == []
    new["environment"]["versions"]["numpy"] = "2.1"
    new["environment"]["threads"] = 2
    warnings = environment_warnings(base, new, "torch")
    assert any("numpy differs" in w for w in warnings) and any("threads differs" in w for w in warnings)


def test_speed_change_needs_both_effect_and_significance():
    rng = np.random.default_rng(0)
    base = rng.lognormal(0, 0.05, 50)
    assert speed_change(base, base * 1.05).verdict == "same"           # significant, below the 10% effect
    assert speed_change(base, base * 1.5).verdict == "slower"
    assert speed_change(base[:3], base[:3] * 1.5).verdict == "inconclusive"  # 3 samples: no p below 0.05


def rounds_run(seed: int, rounds: int = 3, cases: int = 30, slow_case: str | None = None, factor: float = 1.25,
               process_sd: float = 0.1) -> tuple[dict, dict]:
    """A `run --rounds` result: each round a fresh process, each pair off its truth by process_sd in each
    (the spread measured here between processes), a whole case slower by `factor` if planted."""
    document, arrays = synthetic_run(seed, cases=cases)
    rng = np.random.default_rng(seed + 1000)
    truth = np.random.default_rng(0)
    for record in document["results"]:
        true_s = 10 ** truth.uniform(-5, -3) * (factor if record["case"] == slow_case and record["backend"] == "torch"
                                                else 1.0)
        medians = list(true_s * np.exp(rng.normal(0, process_sd, rounds)))
        record["time"]["round_medians_s"] = medians
    return document, arrays


@pytest.mark.parametrize("seed", [2, 3, 4, 5])
def test_rounds_of_the_same_code_flag_no_pair_and_no_case(seed):
    result = compare(rounds_run(1), rounds_run(seed))
    pairs = [p for p in result["pairs"] if not p["control"]]
    assert {p["speed"]["test"] for p in pairs} == {"rounds"}
    assert result["summary"]["slower"] == result["summary"]["faster"] == 0
    assert result["summary"]["slower_cases"] == result["summary"]["faster_cases"] == 0
    assert not result["summary"]["failed"]


def test_a_case_slowed_by_25_percent_is_found_at_the_case_level_and_nothing_else():
    result = compare(rounds_run(1, rounds=5, process_sd=0.05), rounds_run(2, rounds=5, process_sd=0.05,
                                                                          slow_case="case7"))
    flagged = [(c["case"], c["verdict"]) for c in result["cases"] if c["verdict"] in ("slower", "faster")]
    assert flagged == [("case7", "slower")]
    assert result["summary"]["failed"]
    case7 = next(c for c in result["cases"] if c["case"] == "case7")
    assert 1.15 < case7["ratio"] < 1.35 and case7["low"] > 1.0 and case7["p_slower_adjusted"] < 0.01


def test_a_pair_whose_speed_depends_on_the_process_is_inconclusive_not_slower():
    base, new = rounds_run(1), rounds_run(2)
    for document, medians in ((base, [26e-6, 50e-6, 27e-6]), (new, [51e-6, 49e-6, 50e-6])):
        document[0]["results"][0]["time"]["round_medians_s"] = medians
    first = compare(base, new)["pairs"][0]
    assert first["speed"]["verdict"] == "inconclusive" and first["speed"]["test"] == "rounds"


def ab_sides(seed: int, rounds: int = 3, cases: int = 30, slow_case: str | None = None, factor: float = 1.25,
             machine_sd: float = 0.3, slow_method: str | None = None,
             process_sd: float = 0.03) -> tuple[tuple[dict, dict], tuple[dict, dict]]:
    """The two sides of one `ab`: in round r both sides' pairs ran back to back, so the machine's state
    that round (lognormal, machine_sd, per case and round) is shared; each side has its own process noise
    (process_sd). A case, or a method in every case, is slower by `factor` if planted."""
    base, new = synthetic_run(seed), synthetic_run(seed + 1)
    rng = np.random.default_rng(seed + 2000)
    truth = np.random.default_rng(0)
    machine = {f"case{c}": np.exp(rng.normal(0, machine_sd, rounds)) for c in range(cases)}
    for b, n in zip(base[0]["results"], new[0]["results"], strict=True):
        true_s = 10 ** truth.uniform(-5, -3)
        slowed = factor if (b["case"] == slow_case and b["backend"] == "torch") or b["method"] == slow_method else 1.0
        b["time"]["round_medians_s"] = list(true_s * machine[b["case"]] * np.exp(rng.normal(0, process_sd, rounds)))
        n["time"]["round_medians_s"] = list(true_s * slowed * machine[b["case"]]
                                            * np.exp(rng.normal(0, process_sd, rounds)))
    for side in (base, new):
        side[0]["options"]["ab_id"] = f"ab{seed}"
    return base, new


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_the_two_sides_of_an_ab_are_paired_round_by_round(seed):
    base, new = ab_sides(seed)
    result = compare(base, new)
    assert all(p["speed"]["paired"] for p in result["pairs"] if p["speed"])
    assert result["summary"]["slower"] == result["summary"]["faster"] == 0
    assert result["summary"]["slower_cases"] == result["summary"]["faster_cases"] == 0
    assert result["summary"]["slower_methods"] == result["summary"]["faster_methods"] == 0
    base, new = ab_sides(seed, slow_case="case7")
    result = compare(base, new)
    flagged = [(c["case"], c["verdict"]) for c in result["cases"] if c["verdict"] in ("slower", "faster")]
    assert flagged == [("case7", "slower")] and result["summary"]["failed"]
    assert "two sides of one `ab`" in render_comparison(result)
    new[0]["options"]["ab_id"] = "another ab"  # two separate runs: the machine's rounds no longer cancel
    apart = compare(base, new)
    assert "two sides of one `ab`" not in render_comparison(apart)
    assert not any(p["speed"]["paired"] for p in apart["pairs"] if p["speed"])
    assert next(c for c in apart["cases"] if c["case"] == "case7")["verdict"] == "inconclusive"


@pytest.mark.parametrize("seed", [2, 3, 4, 5])
def test_a_method_slowed_in_every_case_is_found_at_the_method_level(seed):
    """One method 20% slower everywhere, each pair too noisy to call alone (15% process noise, 4 rounds a side
    as `ab` times them), one pair of two in each case: the method's verdict over all its pairs finds it; the
    other method, the pairs and the controls stay uncalled."""
    base, new = ab_sides(seed, rounds=4, slow_method="torch.func.jacrev", factor=1.2, process_sd=0.15)
    result = compare(base, new)
    flagged = [(m["method"], m["verdict"]) for m in result["methods"] if m["verdict"] in ("slower", "faster")]
    assert flagged == [("torch.func.jacrev", "slower")]
    jacrev = next(m for m in result["methods"] if m["method"] == "torch.func.jacrev")
    assert jacrev["pairs"] == 30 and jacrev["test"] == "rounds" and jacrev["low"] > 1.05 and jacrev["high"] > 1.15
    assert result["summary"]["slower"] == 0 and result["summary"]["slower_methods"] == 1
    assert result["summary"]["failed"]  # a slowdown backed by rounds fails the comparison
    assert not any(m["method"].startswith(("jax.", "autograd.")) for m in result["methods"])  # controls
    text = render_comparison(result)
    assert "speed by method (all of a method's pairs, every case, NEW/BASE [95% interval]): 1 slower " \
           "(`torch.func.jacrev` 1." in text
    assert "## Slower methods (1)" in text


def test_a_pair_under_test_without_rounds_leaves_the_case_verdict_to_the_pairs_timed_in_rounds():
    """Pairs of a backend whose version differs are judged with the library's (not controls); should they lack
    rounds (timed in one process only), each case is still judged on its pairs' paired rounds, which find the
    planted slowdown, rather than demoted to single-run evidence."""
    base, new = ab_sides(2, slow_case="case7")
    for side in (base, new):
        for record in side[0]["results"]:
            if record["backend"] == "jax":
                record["time"].pop("round_medians_s")
    for record in new[0]["results"]:
        if record["backend"] == "jax":
            record["backend_version"] = "another"
    result = compare(base, new)
    assert not any(p["control"] for p in result["pairs"] if p["method"].startswith("jax."))
    case7 = next(c for c in result["cases"] if c["case"] == "case7")
    assert (case7["test"], case7["pairs"], case7["verdict"]) == ("rounds", 2, "slower")
    flagged = [(c["case"], c["verdict"]) for c in result["cases"] if c["verdict"] in ("slower", "faster")]
    assert flagged == [("case7", "slower")]


def test_compare_md_explains_its_terms_and_why_each_inconclusive_pair_was_not_called():
    from jacobian_harness.render.compare_markdown import _why_inconclusive

    text = render_comparison(compare(synthetic_run(1), synthetic_run(2, machine=1.3)))
    assert "`control: true`" in text and "`spread`" in text and "by chance alone" in text
    settings = {"min_effect": 0.1, "alpha": 0.01}
    assert _why_inconclusive({"ratio": 0.95, "low": 0.9, "high": 1.02}, settings, 5) == "the interval includes 1"
    assert "below --min-effect 10%" in _why_inconclusive({"ratio": 0.95, "low": 0.92, "high": 0.97}, settings, 5)
    excluded = _why_inconclusive({"ratio": 0.8, "low": 0.7, "high": 0.9, "p_faster_adjusted": 0.2}, settings, 300)
    assert "excludes 1, but p = 0.2 (adjusted for many pairs)" in excluded


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
