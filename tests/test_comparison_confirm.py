"""jacobian_harness.comparison.confirm: the screen's candidates, their confirmation, and what two stages see."""

import pytest

from jacobian_harness.comparison.confirm import MAX_CANDIDATES, candidates, direction, stage_rounds
from synthetic_runs import ab_sides, compare, two_stage_sides

SLOW = ("case3", "torch.func.jacfwd")


def _pair(comparison, case, method):
    return next(p for p in comparison["pairs"] if (p["case"], p["method"]) == (case, method))


def _one_stage(sides):
    for side in sides:
        side[0]["options"]["ab_confirm_rounds"] = 0
    return compare(*sides)


def test_a_slowdown_that_holm_over_every_pair_leaves_inconclusive_is_confirmed_in_the_second_stage():
    sides = two_stage_sides(0, slow={SLOW: 3.0})
    two = compare(*sides)
    speed = _pair(two, *SLOW)["speed"]
    assert speed["stage"] == "confirm" and speed["outcome"] == "confirmed" and speed["verdict"] == "slower"
    assert speed["screen"]["p_slower"] < 0.05 and speed["screen"]["verdict"] == "inconclusive"
    assert speed["rounds"] == [8, 8] and speed["p_slower_adjusted"] < 0.01
    stages = two["summary"]["stages"]
    assert stages["screened"] == 60 and stages["rounds"] == [3, 8] and stages["confirmed"] == 1
    assert stages["candidates"] == stages["confirmed"] + stages["fell_back"] + stages["reversed"]
    assert two["summary"]["slower"] == 1 and two["summary"]["failed"]
    one = _one_stage(sides)  # the same screen rounds, judged in one stage: Holm over 60 pairs calls nothing
    assert _pair(one, *SLOW)["speed"]["verdict"] == "inconclusive" and one["summary"]["slower"] == 0
    assert "stage" not in _pair(one, *SLOW)["speed"] and one["summary"]["stages"] is None


@pytest.mark.parametrize("seed", range(8))
def test_an_a_a_in_two_stages_calls_no_pair_and_its_candidates_fall_back(seed):
    summary = compare(*two_stage_sides(seed))["summary"]
    assert summary["slower"] == summary["faster"] == 0 and not summary["failed"]
    assert summary["stages"]["confirmed"] == 0
    assert summary["stages"]["fell_back"] + summary["stages"]["reversed"] == summary["stages"]["candidates"]


def test_every_library_pair_says_its_stage_and_what_two_stages_could_see():
    sides = two_stage_sides(1, slow={SLOW: 3.0})
    two, one = compare(*sides), _one_stage(sides)
    library = [p["speed"] for p in two["pairs"] if p["speed"] and not p["control"]]
    assert {s["stage"] for s in library} == {"screen", "confirm"}
    assert all(s["detectable"] >= 1.1 for s in library)
    # On this noisy machine one stage, Holm over every pair, could not have called a x1.5 change on the median
    # pair; two stages can: the screen needs p < 0.05 alone, the confirmation Holm over a few candidates.
    assert one["summary"]["too_noisy"] and one["summary"]["detectable"]["pair"] > 2.5
    assert two["summary"]["detectable"]["pair"] < one["summary"]["detectable"]["pair"] / 1.5


def test_the_screen_picks_a_large_effect_with_a_small_p_or_an_interval_beyond_the_minimum_effect():
    verdict = {"ratio": 1.5, "low": 0.9, "high": 2.5, "p_slower": 0.04, "p_faster": 0.96}
    assert direction(verdict, 0.1) == "slower"
    assert direction({**verdict, "p_slower": 0.2}, 0.1) is None
    assert direction({**verdict, "p_slower": 0.2, "low": 1.2}, 0.1) == "slower"  # interval beyond x1.1
    assert direction({**verdict, "ratio": 1.05, "p_slower": 1e-6}, 0.1) is None  # below the minimum effect
    assert direction({"ratio": 0.5, "low": 0.3, "high": 0.95, "p_slower": 0.99, "p_faster": 0.01}, 0.1) == "faster"


def test_candidates_are_library_pairs_on_rounds_the_strongest_first_and_at_most_the_cap():
    def pair(k, p, control=False, test="rounds"):
        return {"case": f"c{k}", "method": "torch.m", "dtype": "float64", "control": control,
                "speed": {"ratio": 2.0, "low": 0.9, "high": 4.0, "p_slower": p, "p_faster": 1 - p, "test": test}}

    pairs = [pair(k, 0.04 * (1 - k / 100)) for k in range(MAX_CANDIDATES + 5)]
    pairs += [pair(900, 1e-9, control=True), pair(901, 1e-9, test="samples")]
    picked = candidates(pairs, 0.1)
    assert len(picked) == MAX_CANDIDATES and picked[0] == ("c44", "torch.m", "float64")
    assert not {("c900", "torch.m", "float64"), ("c901", "torch.m", "float64")} & set(picked)
    # Speed-ups with far smaller p-values (a whole method faster) do not crowd the slowdowns out of the cap.
    faster = [{**pair(500 + k, 0.5), "speed": {"ratio": 0.5, "low": 0.3, "high": 0.7, "p_slower": 1.0,
                                              "p_faster": 1e-8, "test": "rounds"}} for k in range(MAX_CANDIDATES)]
    picked = candidates(faster + pairs, 0.1)
    assert picked == candidates(pairs, 0.1)


def test_only_the_two_sides_of_one_ab_of_two_stages_are_judged_in_two_stages():
    (base, _), (new, _) = two_stage_sides(2)
    assert stage_rounds(base, new) == (3, 8)
    assert stage_rounds(*[side[0] for side in ab_sides(2)]) is None  # one stage
    new["options"]["ab_id"] = "another"
    assert stage_rounds(base, new) is None


def test_the_report_names_the_candidates_and_what_their_confirmation_made_of_them():
    from jacobian_harness.render.compare_markdown import render_comparison

    comparison = compare(*two_stage_sides(0, slow={SLOW: 3.0}))
    stages = comparison["summary"]["stages"]
    text = render_comparison(comparison)
    first_screen, rest = text.split("## ", 1)
    assert (f"two stages: 60 pairs screened, {stages['candidates']} candidates timed again in 8 rounds a side: 1 "
            f"confirmed, {stages['fell_back']} fell back to noise") in first_screen
    # Something was called on a noisy machine: it stands, and the first screen says what this noise hides.
    assert "speed judged only in part: machine too noisy" in first_screen
    assert "smaller slowdowns went unseen" in first_screen
    section = rest.split(f"## Screened and confirmed ({stages['candidates']} candidates)", 1)[1].split("## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert len(rows) == stages["candidates"] and rows[0].startswith("| `case3` | `torch.func.jacfwd` |")
    assert rows[0].endswith("| confirmed |") and all(r.endswith("| fell back |") for r in rows[1:])
    assert "In two stages (`ab --confirm-rounds`)" in text
