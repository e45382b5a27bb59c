"""The registry of outputs: write_outputs writes exactly the registered views of each kind of document."""

import json
from pathlib import Path

import pytest

from jacobian_harness.render.outputs import OUTPUTS, STEP_SUMMARY, output, write_outputs

DATA = Path(__file__).parent / "data"
PLOTS = {"timing.png", "ratio.png", "speed.png"}  # written next to the HTML where matplotlib is installed


def _run() -> dict:
    return json.loads((DATA / "results_small.json").read_text())


def _comparison() -> dict:
    from jacobian_harness.comparison import compare_runs

    return compare_runs(_run(), _run(), {}, {})


@pytest.mark.parametrize(("kind", "document", "files"), [
    ("run", _run, {"report.md", "report.html"}), ("comparison", _comparison, {"compare.md", "compare.html"})])
def test_write_outputs_writes_the_registered_files_of_each_kind(kind, document, files, tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    out = tmp_path / "out"
    out.mkdir()
    assert set(OUTPUTS[kind]) == files | {STEP_SUMMARY}
    views = write_outputs(kind, document(), out)
    assert {p.name for p in views.written} == files
    assert files <= {p.name for p in out.iterdir()} <= files | PLOTS
    assert (out / next(f for f in files if f.endswith(".md"))).read_text() == views.markdown
    assert summary.read_text().startswith(views.markdown.split("\n", 1)[0])


def test_step_summary_is_left_out_when_asked(tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    write_outputs("run", _run(), tmp_path, step_summary=False)
    assert not summary.exists() and (tmp_path / "report.md").exists()


def test_a_registered_output_is_written_and_an_unknown_kind_refused(tmp_path, monkeypatch):
    monkeypatch.setitem(OUTPUTS, "run", dict(OUTPUTS["run"]))
    output("run", "cases.txt")(lambda views, directory: _write(directory / "cases.txt", views.document))
    assert "cases.txt" in {p.name for p in write_outputs("run", _run(), tmp_path, step_summary=False).written}
    assert (tmp_path / "cases.txt").read_text() == _run()["results"][0]["case"]
    with pytest.raises(ValueError, match="no outputs registered"):
        write_outputs("horoscope", {}, tmp_path)


def _write(path: Path, document: dict) -> Path:
    path.write_text(document["results"][0]["case"])
    return path
