"""The markdown report is rendered from saved results only; checked against a fixture."""

import json
from pathlib import Path

from jacobian_harness.records import fastest_agreeing, passed
from jacobian_harness.render.formatting import format_seconds
from jacobian_harness.render.run_markdown import render_markdown

DATA = Path(__file__).parent / "data"


def fixture():
    return json.loads((DATA / "results_small.json").read_text())


def test_report_matches_fixture():
    # After an intended change to the report, regenerate the fixture and review the diff:
    #   python -c "import json; from jacobian_harness.render.run_markdown import render_markdown as r; \
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


def test_partial_runs_are_headed_interrupted_and_say_how_far_they_got():
    text = render_markdown({**fixture(), "partial": True, "interrupted": {
        "cases_finished": 3, "cases_planned": 98, "evaluations_journaled": 40, "resume": "jacobian-harness run "
                                                                                         "--resume out"}})
    assert text.startswith("# Jacobian harness report: INTERRUPTED")
    assert "3 of 98 cases finished; 40 evaluations are kept in the journal" in text
    assert "`jacobian-harness run --resume out` finishes the run" in text


def test_the_first_screen_is_the_verdict_the_failures_and_which_method_to_use():
    text = render_markdown(fixture())
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings[:3] == ["## Failures", "## Which method to use", "## Agreement"]
    assert text.splitlines()[2].startswith("1 failing of 12 (case, method) pairs on 3 cases")
    # torch.batched-backward ran on no case (unsupported everywhere): no matrix column, but listed as not run.
    agreement = text.split("## Agreement", 1)[1].split("## ", 1)[0]
    assert "`torch.batched-backward`" not in agreement and "1 method that ran on none" in agreement
    assert "`torch.batched-backward`" in text.split("## Not run", 1)[1]


def test_which_method_counts_preparation_for_a_few_calls():
    # A compiled method: fastest once prepared, but 2 s of compilation; eager is the answer for one call.
    def record(method, median, prepare):
        return {"case": "c", "method": method, "backend": "torch", "mode": "reverse", "dtype": "float64",
                "status": "agree", "time": {"median_s": median, "prepare_s": prepare, "samples_s": [median]}}

    records = [record("torch.compile[jacrev]", 1e-4, 2.0), record("torch.func.jacrev", 1e-3, 2e-3)]
    assert fastest_agreeing(records)["c"]["method"] == "torch.compile[jacrev]"
    assert fastest_agreeing(records, calls=1)["c"]["method"] == "torch.func.jacrev"
    assert fastest_agreeing(records, calls=100_000)["c"]["method"] == "torch.compile[jacrev]"
    row = next(line for line in render_markdown({"results": records}).splitlines() if line.startswith("| `c`"))
    assert row == ("| `c` | `torch.compile[jacrev]` | 100 µs | 2 s | `torch.func.jacrev` 2 ms "
                   "| `torch.func.jacrev` 101 ms |")


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
    assert ("- per call, once prepared: torch: forward mode is faster when n_in < n_out / 0.177 (3 of 3 cases "
            "follow this rule)") in text
