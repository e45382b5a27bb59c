"""jacobian_harness.comparison.speed: speed verdicts per pair, case and method (noise that must not be
flagged, planted changes that must)."""

import re

import numpy as np
import pytest

from jacobian_harness.render.compare_markdown import render_comparison
from jacobian_harness.stats import speed_change
from synthetic_runs import ab_sides, compare, rounds_run, synthetic_run, with_families


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


def test_speed_change_needs_both_effect_and_significance():
    rng = np.random.default_rng(0)
    base = rng.lognormal(0, 0.05, 50)
    assert speed_change(base, base * 1.05).verdict == "same"           # significant, below the 10% effect
    assert speed_change(base, base * 1.5).verdict == "slower"
    assert speed_change(base[:3], base[:3] * 1.5).verdict == "inconclusive"  # 3 samples: no p below 0.05


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


def test_a_comparison_says_what_it_could_have_called_and_judges_no_speed_on_a_noisy_machine():
    quiet = compare(rounds_run(1, process_sd=0.02), rounds_run(2, process_sd=0.02))
    seen = quiet["summary"]["detectable"]
    assert set(seen) == {"pair", "case", "method"} and 1.1 <= seen["pair"] < 1.5 and not quiet["summary"]["too_noisy"]
    text = render_comparison(quiet)
    assert "speed not judged" not in text and f"would have been called slower from x{seen['pair']:.2f}" in text
    # Processes that differ by 40% from one to the next: three rounds a side cannot call a 1.5x change.
    noisy = compare(rounds_run(1, process_sd=0.4), rounds_run(2, process_sd=0.4))
    assert noisy["summary"]["too_noisy"] and noisy["summary"]["detectable"]["pair"] > 1.5
    assert noisy["summary"]["slower"] == 0 and not noisy["summary"]["failed"]
    first_screen = render_comparison(noisy).split("## ", 1)[0]
    assert "speed not judged: machine too noisy" in first_screen


def test_runs_without_timing_say_that_speed_was_not_compared():
    base, new = synthetic_run(1), synthetic_run(2)
    for document, _ in (base, new):
        for record in document["results"]:
            record["time"] = {"median_s": None, "samples_s": [], "prepare_s": 0.1}
    result = compare(base, new)
    assert result["summary"]["detectable"] == {} and not result["summary"]["too_noisy"]
    assert "speed: not compared: no torch pair was timed on both sides" in render_comparison(result)


def test_a_fix_keeps_its_speed_comparison_beside_the_verdict_change():
    base, new = rounds_run(1, slow_case=None), rounds_run(2, slow_case="case3", factor=3.0)
    for record in base[0]["results"]:
        if (record["case"], record["method"]) == ("case3", "torch.func.jacrev"):
            record["status"] = "disagree"
    result = compare(base, new)
    fixed = next(p for p in result["pairs"] if (p["case"], p["method"]) == ("case3", "torch.func.jacrev"))
    assert fixed["correctness"] == "fix" and fixed["speed"]["verdict"] == "slower"
    text = render_comparison(result)
    first_screen = text.split("## ", 1)[0]
    assert re.search(r"with a speed change: `case3` `torch.func.jacrev` fixed, and x[23]\.\d\d slower", first_screen)
    fixes = text.split("## Fixes (1)", 1)[1].split("## ", 1)[0]
    assert "speed NEW/BASE" in fixes and "slower" in fixes


def test_a_change_confined_to_one_method_of_one_operator_family_is_found_as_such():
    from synthetic_runs import two_stage_sides

    # x1.5 on jacfwd of the five det cases only, on a machine whose processes differ by 30%: one pair of two
    # in each of those cases, five of thirty cases for the method.
    slow = {(f"case{c}", "torch.func.jacfwd"): 1.5 for c in range(5)}
    comparison = compare(*with_families(two_stage_sides(0, rounds=4, slow=slow)))
    called = [(f["family"], f.get("method")) for f in comparison["families"] if f["verdict"] != "inconclusive"
              and f["verdict"] != "same"]
    assert called == [("det", "torch.func.jacfwd")]
    assert comparison["summary"]["slower_families"] == 1 and comparison["summary"]["slower_cases"] == 0
    assert comparison["summary"]["slower_methods"] == 0
    assert {f["family"] for f in comparison["families"] if "method" not in f} == {"det", "f1", "f2", "f3", "f4", "f5"}


@pytest.mark.parametrize("seed", range(100, 104))
def test_an_a_a_calls_no_family(seed):
    from synthetic_runs import two_stage_sides

    summary = compare(*with_families(two_stage_sides(seed, rounds=4)))["summary"]
    assert summary["slower_families"] == summary["faster_families"] == 0


def test_runs_without_families_have_no_family_verdicts():
    comparison = compare(*ab_sides(2))
    assert comparison["families"] == [] and comparison["summary"]["slower_families"] == 0


def test_the_report_names_a_slower_family_on_its_first_screen_and_in_its_own_section():
    from synthetic_runs import two_stage_sides

    slow = {(f"case{c}", "torch.func.jacfwd"): 1.5 for c in range(5)}
    text = render_comparison(compare(*with_families(two_stage_sides(0, rounds=4, slow=slow))))
    first_screen = text.split("## ", 1)[0]
    assert re.search(r"speed by family \(.*\): 1 slower \(`det: torch.func.jacfwd` 1\.\d+ \[", first_screen)
    assert "of 18 families" in first_screen  # six families, each whole and by each of two methods
    section = text.split("## Slower operator families (1)", 1)[1].split("## ", 1)[0]
    assert "| `det: torch.func.jacfwd` | 5 |" in section
