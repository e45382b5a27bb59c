"""Interleaved A/B: round order, rounds gathered per pair, and an A/A run through the CLI."""

import json
import sys

import pytest

from jacobian_harness.rounds import add_round, finish_confirmation, finish_rounds, first_round, timed_pairs
from jacobian_harness.cli import main
from jacobian_harness.comparison import load_comparison
from jacobian_harness.runner import side_order
from tests.test_cli import DATA, FAST


def test_sides_alternate_over_cases_and_over_rounds():
    assert [side_order(case, 1) for case in range(4)] == [(1, 0), (0, 1), (1, 0), (0, 1)]
    assert [side_order(0, number) for number in (1, 2, 3)] == [(1, 0), (0, 1), (1, 0)]
    # Over two rounds every case runs first once on each side.
    assert all({side_order(case, 1)[0], side_order(case, 2)[0]} == {0, 1} for case in range(5))


def _record(method, samples, status="agree"):
    return {"case": "c", "method": method, "dtype": "float64", "status": status,
            "time": {"samples_s": samples, "cpu_samples_s": samples, "median_s": sorted(samples)[len(samples) // 2]}
            if samples else None}


def test_rounds_pool_every_sample_and_keep_each_round_median_on_both_clocks():
    document = {"results": [_record("m", [1.0, 2.0, 3.0]), _record("failed", None, status="error")]}
    rounds = first_round(document)
    assert list(rounds) == [("c", "m", "float64")]  # only timed pairs get rounds
    add_round(rounds, [_record("m", [5.0, 6.0, 7.0]), _record("failed", [9.0]), _record("other", [1.0])])
    finish_rounds(document, rounds)
    timing = document["results"][0]["time"]
    assert timing["samples_s"] == [1.0, 2.0, 3.0, 5.0, 6.0, 7.0] and timing["repeats"] == 6
    assert timing["round_medians_s"] == timing["round_cpu_medians_s"] == [2.0, 6.0]
    assert timing["median_s"] == pytest.approx(4.0)
    assert document["results"][1]["time"] is None


def test_ab_rounds_start_empty_and_a_pair_never_timed_again_keeps_its_whole_run_timing():
    document = {"results": [_record("m", [1.0, 2.0, 3.0]), _record("crashed later", [4.0])]}
    rounds = timed_pairs(document)
    assert rounds == {("c", "m", "float64"): [], ("c", "crashed later", "float64"): []}
    add_round(rounds, [_record("m", [5.0, 6.0, 7.0])])
    add_round(rounds, [_record("m", [7.0, 8.0, 9.0])])
    finish_rounds(document, rounds)
    assert document["results"][0]["time"]["round_medians_s"] == [6.0, 8.0]  # the whole run's timing is no round
    assert document["results"][1]["time"]["samples_s"] == [4.0]


def test_confirmation_rounds_sit_beside_the_screen_rounds_of_the_candidates_only():
    document = {"results": [_record("m", [1.0, 2.0, 3.0]), _record("screened out", [4.0])]}
    rounds = timed_pairs(document)
    add_round(rounds, [_record("m", [5.0, 6.0, 7.0]), _record("screened out", [4.0])])
    finish_rounds(document, rounds)
    confirmation = {("c", "m", "float64"): []}
    for samples in ([8.0, 9.0, 10.0], [1.0, 2.0, 3.0]):
        add_round(confirmation, [_record("m", samples), _record("screened out", [4.0])])
    finish_confirmation(document, confirmation)
    timing = document["results"][0]["time"]
    assert timing["round_medians_s"] == [6.0] and timing["confirm_round_medians_s"] == [9.0, 2.0]
    assert timing["confirm_round_cpu_medians_s"] == [9.0, 2.0]
    assert "confirm_round_medians_s" not in document["results"][1]["time"]


@pytest.mark.slow
def test_a_a_through_the_cli_changes_no_verdict_and_no_value(registry, tmp_path):
    code = main(["ab", "--base-python", sys.executable, "--new-python", sys.executable, "--no-builtin",
                 "--case-file", str(DATA / "good.py"), *FAST, "--rounds", "4", "--confirm-rounds", "4",
                 "--out", str(tmp_path)])
    comparison = load_comparison(tmp_path / "compare")
    assert code == 0
    assert comparison["summary"]["regressions"] == comparison["summary"]["drift"] == 0
    assert comparison["summary"]["slower"] == comparison["summary"]["slower_cases"] == 0
    assert comparison["summary"]["pairs"] == 10
    base = json.loads((tmp_path / "base" / "results.json").read_text())
    jacrev = next(r for r in base["results"] if r["method"] == "torch.func.jacrev")
    assert len(jacrev["time"]["round_medians_s"]) == 2  # --rounds 4: two timing rounds a side, fresh processes
    # The timing rounds time torch's pairs only; the other backends keep their whole-run timing (controls).
    assert base["options"]["ab_timed"] == ["torch"]
    assert {(p["speed"]["test"], p["control"]) for p in comparison["pairs"] if p["speed"]} == {
        ("rounds", False), ("samples", True)}
    fd = next(r for r in base["results"] if r["method"] == "fd.central")
    assert "round_medians_s" not in fd["time"] and fd["time"]["samples_s"]
    new = json.loads((tmp_path / "new" / "results.json").read_text())
    assert base["options"]["ab_id"] == new["options"]["ab_id"]  # one A/B: compare pairs its rounds
    assert all(p["speed"]["paired"] for p in comparison["pairs"] if p["speed"] and not p["control"])
    # Two stages: every torch pair screened; a candidate (if any) timed again in two more rounds a side.
    stages = comparison["summary"]["stages"]
    assert stages["screened"] == sum(1 for p in comparison["pairs"] if p["speed"] and not p["control"])
    assert stages["rounds"] == [2, 2] and stages["confirmed"] == 0
    for pair in comparison["pairs"]:
        if (pair["speed"] or {}).get("stage") == "confirm":
            assert pair["speed"]["rounds"] == [2, 2] and pair["speed"]["outcome"] != "confirmed"


@pytest.mark.parametrize("option, message", [(["--rounds", "3"], "--rounds must be an even"),
                                             (["--rounds", "2"], "at least 4"),
                                             (["--confirm-rounds", "3"], "--confirm-rounds must be 0"),
                                             (["--new-python", "/nonexistent/python"], "not an executable"),
                                             (["--library", "numpy"], "no selected method is of the library")])
def test_bad_ab_options_are_one_line_and_exit_2(registry, tmp_path, capsys, option, message):
    args = ["ab", "--base-python", sys.executable, "--new-python", sys.executable, "--no-builtin",
            "--case-file", str(DATA / "good.py"), "--out", str(tmp_path / "out"), *option]
    assert main(args) == 2
    assert message in capsys.readouterr().err
