from pathlib import Path

import pytest

from jacobian_harness.cost import cost_line, run_cost

DATA = Path(__file__).parent / "data"


def _record(case, method, wall, prepare, samples, number=1):
    return {"case": case, "method": method, "wall_s": wall,
            "time": {"prepare_s": prepare, "samples_s": samples, "number": number}}


def test_the_figures_add_up_from_the_records():
    document = {"environment": {"wall_s": 10.0, "compile_cache": {"state": "warm"}}, "options": {"jobs": 2},
                "cases": {"a": {"pack": "builtin"}, "b": {"pack": "opinfo"}},
                "results": [_record("a", "m1", 4.0, 2.5, [0.1, 0.1], number=5),
                            _record("b", "m2", 6.0, 1.0, [0.5]),
                            {"case": "b", "method": "m1", "wall_s": 1.0, "time": None}]}
    cost = run_cost(document)
    assert cost["capacity_s"] == 20.0 and cost["pairs_s"] == 11.0 and cost["outside_pairs_s"] == 9.0
    assert cost["prepare_s"] == 3.5
    assert cost["timed_s"] == pytest.approx(1.5)  # 2 samples x 5 calls x 0.1 s, then 1 x 0.5 s
    assert cost["efficiency"] == pytest.approx(1.5 / 20)
    assert cost["by_method"] == {"m2": 6.0, "m1": 5.0}  # slowest first
    assert cost["by_pack"] == {"opinfo": 7.0, "builtin": 4.0}
    line = cost_line(cost)
    assert line.startswith("10 s wall x 2 worker(s) = 20 s: preparation 4 s (18%; compile caches warm), ")
    assert "timed calls 2 s (8%: the harness efficiency), rest of the pairs 6 s (30%), outside the pairs 9 s (45%)" \
        in line


def test_a_run_in_this_process_counts_one_worker():
    cost = run_cost({"environment": {"wall_s": 3.0}, "options": {"jobs": 0}, "results": []})
    assert cost["jobs"] == 1 and cost["capacity_s"] == 3.0 and cost["compile_cache"] is None
    assert "compile caches" not in cost_line(cost)


def test_the_reports_show_the_time_line_of_a_document_that_has_one(tmp_path):
    from jacobian_harness.document import load
    from jacobian_harness.render.console import render_summary
    from jacobian_harness.render.html import write_run_html
    from jacobian_harness.render.run_markdown import render_markdown

    document = load(DATA / "results_small.json")  # written before runs kept their cost: no Time line
    assert "Time:" not in render_markdown(document)
    document["environment"]["compile_cache"] = {"state": "cold"}
    document["cost"] = run_cost(document)
    expected = f"Time: {cost_line(document['cost'])}"
    assert "compile caches cold" in expected
    markdown = render_markdown(document)
    assert expected in markdown and markdown.index(expected) < markdown.index("## ")  # the first screen
    assert expected in render_summary(document, tmp_path)
    write_run_html(document, tmp_path)
    assert expected in (tmp_path / "report.html").read_text()
