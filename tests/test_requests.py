"""The typed requests of `run` and `ab` (harness.commands.requests): read once from the arguments, checked with
the command line's one-line usage errors, run by plain functions without argv, and kept in a run's journal."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest

from jacobian_harness.cli import build_parser
from jacobian_harness.commands.common import UsageError
from jacobian_harness.commands.listing import execute_list
from jacobian_harness.commands.requests import (RUN_SELECTION, AbRequest, CompareRequest, ListRequest, MergeRequest,
                                                RunRequest, SweepRequest)
from jacobian_harness.commands.run import execute_run

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("fields, message", [
    ({"jobs": -1}, "--jobs must be 0 (in this process) or a number of workers, not -1"),
    ({"timeout": 0.0}, "--timeout must be a positive number of seconds, not 0"),
    ({"seed": -3}, "--seed must be a non-negative integer, not -3"),
    ({"threads": 0}, "--threads must be at least 1, not 0"),
    ({"rounds": 2, "jobs": 0}, "more than 1 needs worker processes (--jobs 1 or more), not --rounds 2 with --jobs 0"),
    ({"shard": "3/2"}, "--shard 3/2: K must be between 1 and N"),
    ({"shard": "half"}, "--shard must look like K/N (e.g. 2/4), not 'half'"),
    ({"no_timing": True, "quick": True}, "--no-timing times nothing: leave out --quick"),
    ({"no_timing": True, "rounds": 2, "jobs": 1}, "--no-timing times nothing: leave out --rounds"),
])
def test_a_run_request_is_checked_when_it_is_made(fields, message):
    with pytest.raises(UsageError) as raised:
        RunRequest(**fields)
    assert message in str(raised.value)


def test_a_request_is_read_once_from_the_arguments_and_frozen():
    args = build_parser().parse_args(["run", "--cases", "seed.*", "--cases", "ops.*", "--quick", "--jobs", "0",
                                      "--case-file", "x.py", "--shard", "2/4"])
    request = RunRequest.from_args(args)
    assert (request.cases, request.quick, request.jobs, request.case_file) == (("seed.*", "ops.*"), True, 0, ("x.py",))
    assert request.shard_parts == (2, 4) and request.packs == ["builtin"] and request.dtypes == ["float64"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.quick = False  # type: ignore[misc]
    assert RunRequest(dtype="both", jobs=1).dtypes == ["float64", "float32"]
    assert RunRequest(pack=("all", "all", "opinfo"), no_builtin=True, jobs=1).packs == ["all", "opinfo"]


def test_the_journal_keeps_the_selection_as_json_and_resume_rebuilds_the_same_request(tmp_path):
    request = RunRequest(cases=("seed.*",), methods=("torch.*",), dtype="both", quick=True, seed=4, size="medium",
                         case_file=("cases.py",), rounds=2, jobs=2, pack=("builtin",), samples=2, shard="1/2")
    selection = json.loads(json.dumps(request.selection()))
    assert set(selection) == set(RUN_SELECTION)
    assert selection["case_file"] == [str(Path("cases.py").resolve())]  # resumable from anywhere
    resumed = dataclasses.replace(RunRequest(resume=str(tmp_path), jobs=3), **selection, out=str(tmp_path))
    assert resumed.selection() == selection and resumed.jobs == 3 and resumed.cases == ("seed.*",)
    assert RunRequest(resume=str(tmp_path), jobs=1).given_with_resume() is None
    assert RunRequest(resume=str(tmp_path), jobs=1, quick=True).given_with_resume() == "quick"


def test_execute_run_runs_a_request_without_argv(registry, tmp_path, capsys, frameworks):
    request = RunRequest(case_file=(str(DATA / "good.py"),), no_builtin=True, quick=True, jobs=0,
                         methods=("fd.central", "torch.func.jacrev"), out=str(tmp_path / "out"))
    assert execute_run(request) == 0
    document = json.loads((tmp_path / "out" / "results.json").read_text())
    assert {r["case"] for r in document["results"]} == {"user.cube", "user.softplus"}
    assert document["options"]["methods"] == ["fd.central", "torch.func.jacrev"]
    assert document["options"]["case_files"] == [str(DATA / "good.py")]
    assert "PASS" in capsys.readouterr().out


def test_a_run_without_timing_judges_every_pair_from_one_call_and_shows_no_speed(registry, tmp_path, capsys,
                                                                              frameworks):
    request = RunRequest(case_file=(str(DATA / "good.py"),), no_builtin=True, no_timing=True, jobs=0,
                         methods=("fd.central", "torch.func.jacrev"), out=str(tmp_path / "out"))
    assert execute_run(request) == 0
    document = json.loads((tmp_path / "out" / "results.json").read_text())
    jacrev = [r for r in document["results"] if r["method"] == "torch.func.jacrev"]
    assert jacrev and all(r["status"] == "agree" for r in jacrev)
    assert all(r["time"]["repeats"] == 0 and r["time"]["prepare_s"] > 0 and r.get("f_time_s") is None
               for r in jacrev)
    assert document["options"]["timing"]["min_repeats"] == 0
    printed = capsys.readouterr().out
    assert "user.cube" in printed and "(not timed)" in printed and "(none agrees)" not in printed
    report = (tmp_path / "out" / "report.md").read_text()
    assert "no timing" in report and "Which method to use" not in report and "Median time" not in report


def test_an_interrupted_run_from_before_no_timing_existed_resumes(tmp_path):
    from jacobian_harness.commands.run import _resumed
    from jacobian_harness.environment import collect
    from jacobian_harness.journal import Journal

    selection = RunRequest(cases=("seed.linear",), jobs=1).selection()
    del selection["no_timing"]
    Journal.start(tmp_path, {"options": selection, "versions": collect(1)["versions"]})
    request, _ = _resumed(RunRequest(resume=str(tmp_path), jobs=1))
    assert request.no_timing is False and request.cases == ("seed.linear",)


def test_an_ab_request_is_checked_when_it_is_made(tmp_path):
    python = sys.executable
    with pytest.raises(UsageError, match="--rounds must be an even number of at least 4"):
        AbRequest(base_python=python, new_python=python, rounds=5)
    with pytest.raises(UsageError, match="--new-python .*: not an executable file"):
        AbRequest(base_python=python, new_python=str(tmp_path / "missing"))
    with pytest.raises(UsageError, match="--jobs must be at least 1, not 0"):
        AbRequest(base_python=python, new_python=python, jobs=0)
    request = AbRequest(base_python=python, new_python=python, methods=["torch.*"])
    assert request.methods == ("torch.*",) and request.rounds == 8 and request.out == "reports/ab"


def test_the_other_commands_requests_check_what_their_command_lines_did():
    with pytest.raises(UsageError, match="--threads must be at least 1, not 0"):
        SweepRequest(family="mlp", threads=0)
    with pytest.raises(UsageError, match="--alpha must be between 0 and 1, not 1"):
        CompareRequest(base="a", new="b", alpha=1.0)
    with pytest.raises(UsageError, match="--min-effect must be a fraction such as 0.1, not -1"):
        CompareRequest(base="a", new="b", min_effect=-1.0)
    assert MergeRequest(parts=["a", "b"], out="c").parts == ("a", "b")
    args = build_parser().parse_args(["list", "--json", "--pack", "builtin", "--no-builtin"])
    assert ListRequest.from_args(args) == ListRequest(json=True, pack=("builtin",), no_builtin=True)


def test_execute_list_runs_a_request_without_argv(registry, capsys):
    assert execute_list(ListRequest(json=True, no_builtin=True, case_file=(str(DATA / "good.py"),))) == 0
    listing = json.loads(capsys.readouterr().out)
    assert [case["id"] for case in listing["cases"]] == ["user.cube", "user.softplus"]
