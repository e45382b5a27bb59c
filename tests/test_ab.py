"""Interleaved A/B: round order, pooling of rounds, and an A/A run through the CLI."""

import json
import sys

import pytest

from harness.ab import pool, round_order
from harness.cli import main
from harness.evaluate import Evaluation
from tests.test_cli import DATA, FAST


def test_rounds_alternate_a_b_b_a():
    assert round_order(4) == [0, 1, 1, 0]
    assert round_order(8) == [0, 1, 1, 0, 0, 1, 1, 0]


def _timed(samples):
    return Evaluation({"status": "ok", "time": {"samples_s": samples, "median_s": sorted(samples)[len(samples) // 2]},
                       "f_time_s": 1.0, "ratio": None})


def test_pool_keeps_every_sample_and_each_round_median():
    pooled = pool([_timed([1.0, 2.0, 3.0]), _timed([5.0, 6.0, 7.0])])
    assert pooled.record["time"]["samples_s"] == [1.0, 2.0, 3.0, 5.0, 6.0, 7.0]
    assert pooled.record["time"]["round_medians_s"] == [2.0, 6.0]
    assert pooled.record["time"]["median_s"] == pytest.approx(4.0) and pooled.record["ratio"] == pytest.approx(4.0)


def test_a_round_that_failed_leaves_the_first_record_alone():
    failed = Evaluation({"status": "crash", "time": None})
    assert pool([_timed([1.0]), failed]).record["time"]["samples_s"] == [1.0]


def test_a_a_through_the_cli_changes_no_verdict_and_no_value(registry, tmp_path):
    code = main(["ab", "--base-python", sys.executable, "--new-python", sys.executable, "--no-builtin",
                 "--case-file", str(DATA / "good.py"), *FAST, "--rounds", "2", "--out", str(tmp_path)])
    comparison = json.loads((tmp_path / "compare" / "compare.json").read_text())
    assert code in (0, 1)  # 1 only if noise passed the speed test: the verdicts below must hold regardless
    assert comparison["summary"]["regressions"] == comparison["summary"]["drift"] == 0
    assert comparison["summary"]["pairs"] == 10
    base = json.loads((tmp_path / "base" / "results.json").read_text())
    jacrev = next(r for r in base["results"] if r["method"] == "torch.func.jacrev")
    assert len(jacrev["time"]["round_medians_s"]) == 1  # rounds A B: one round per side


@pytest.mark.parametrize("option, message", [(["--rounds", "3"], "--rounds must be an even"),
                                             (["--new-python", "/nonexistent/python"], "not an executable")])
def test_bad_ab_options_are_one_line_and_exit_2(registry, tmp_path, capsys, option, message):
    args = ["ab", "--base-python", sys.executable, "--new-python", sys.executable, "--no-builtin",
            "--case-file", str(DATA / "good.py"), "--out", str(tmp_path / "out"), *option]
    assert main(args) == 2
    assert message in capsys.readouterr().err
