"""The markdown report is rendered from saved results only; checked against a fixture."""

import json
from pathlib import Path

from harness.report import fastest_agreeing, format_seconds, passed, render_markdown

DATA = Path(__file__).parent / "data"


def fixture():
    return json.loads((DATA / "results_small.json").read_text())


def test_report_matches_fixture():
    # After an intended change to the report, regenerate the fixture and review the diff:
    #   python -c "import json; from harness.report import render_markdown as r; \
    #   print(r(json.load(open('tests/data/results_small.json'))))" > tests/data/report_small.md
    assert render_markdown(fixture()) + "\n" == (DATA / "report_small.md").read_text()


def test_fastest_agreeing_skips_disagreeing_and_finite_difference_methods():
    best = fastest_agreeing(fixture()["results"])
    assert best["user.wrong-backward"]["method"] == "jax.jacfwd"
    assert all(r["mode"] != "fd" for r in best.values())


def test_pass_fail_follows_failing_verdicts():
    records = fixture()["results"]
    assert not passed(records)
    assert passed([r for r in records if r["status"] != "disagree"])


def test_partial_runs_are_marked():
    assert "did not finish" in render_markdown({**fixture(), "partial": True})


def test_markdown_table_cells_escape_pipes():
    document = fixture()
    document["results"][0]["message"] = "a|b"
    document["results"][0]["status"] = "error"
    assert "a\\|b" in render_markdown(document)


def test_format_seconds():
    assert [format_seconds(x) for x in (2.0, 0.0123, 4.5e-6, 3e-9, None)] == ["2 s", "12.3 ms", "4.5 µs", "3 ns", ""]


def test_report_states_the_forward_reverse_rule_of_its_cases():
    # Three cases, torch forward and reverse each: forward costs n_in, reverse 4 n_out: forward wins at 8x8.
    document = {"results": [], "cases": {}}
    for n_in, n_out in ((64, 2), (8, 8), (2, 64)):
        case_id = f"c{n_in}x{n_out}"
        document["cases"][case_id] = {"n_in": n_in, "n_out": n_out}
        for method, mode, seconds in (("torch.func.jacfwd", "forward", 1e-5 * n_in),
                                      ("torch.func.jacrev", "reverse", 4e-5 * n_out)):
            document["results"].append({"case": case_id, "method": method, "backend": "torch", "mode": mode,
                                        "dtype": "float64", "status": "agree",
                                        "time": {"median_s": seconds, "samples_s": [seconds]}})
    text = render_markdown(document)
    assert "- torch: forward mode is faster when n_in < n_out / 0.177 (3 of 3 cases follow this rule)" in text
