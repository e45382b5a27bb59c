import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jacobian_harness.cli import main
from jacobian_harness.comparison import load_comparison
from jacobian_harness.records import pair_key

DATA = Path(__file__).parent / "data"
FAST = ["--quick", "--methods", "fd.central", "--methods", "torch.func.*", "--methods", "jax.jacfwd",
        "--methods", "autograd.jacobian"]


def run(tmp_path, *args):
    return main(["run", "--no-builtin", "--out", str(tmp_path / "out"), *args])


def test_good_case_file_passes_and_writes_results(registry, tmp_path, capsys, frameworks):
    assert run(tmp_path, "--case-file", str(DATA / "good.py"), *FAST) == 0
    out = tmp_path / "out"
    document = json.loads((out / "results.json").read_text())
    assert {r["case"] for r in document["results"]} == {"user.cube", "user.softplus"}
    assert {r["status"] for r in frameworks.available(document["results"])} == {"agree"}
    unavailable = len(document["results"]) - len(frameworks.available(document["results"]))
    assert document["environment"]["versions"]["numpy"]
    assert document["cases"]["user.cube"]["seed"] == 0  # the case's own seed, recorded
    assert (out / "jacobians.npz").stat().st_size > 0
    report = (out / "report.md").read_text()
    assert report.startswith("# Jacobian harness report: PASS")
    assert "## Which method to use" in report
    verdicts = f"Verdicts: {10 - unavailable} agree" + (f", {unavailable} unavailable" if unavailable else "")
    assert verdicts in capsys.readouterr().out


def test_wrong_custom_backward_is_a_disagreement_and_exit_1(registry, tmp_path, capsys, frameworks):
    assert run(tmp_path, "--case-file", str(DATA / "wrong_backward.py"), *FAST) == 1
    records = json.loads((tmp_path / "out" / "results.json").read_text())["results"]
    status = {r["method"]: r["status"] for r in records}
    assert status["torch.func.jacrev"] == "disagree"
    others = frameworks.expect(dict.fromkeys(["jax.jacfwd", "autograd.jacobian", "fd.central"], "agree"))
    assert {method: status[method] for method in others} == others
    worst = next(r for r in records if r["method"] == "torch.func.jacrev")
    assert worst["worst"]["got"] == pytest.approx(2 * worst["worst"]["expected"])
    assert "DISAGREE: user.wrong-backward / torch.func.jacrev" in capsys.readouterr().out


def test_cases_pattern_filters_case_files(registry, tmp_path):
    assert run(tmp_path, "--case-file", str(DATA / "good.py"), "--case-file", str(DATA / "wrong_backward.py"),
               "--cases", "user.cube", *FAST) == 0


@pytest.mark.parametrize("args, message", [
    (["--cases", "nothing.*"], "--cases pattern 'nothing.*' matches no case"),
    (["--methods", "torch.nope"], "--methods pattern 'torch.nope' matches no method"),
    (["--dtype", "float16"], "invalid choice: 'float16'"),
    (["--threads", "0"], "--threads must be at least 1"),
    (["--seed", "-3"], "--seed must be a non-negative integer"),
    (["--case-file", "missing.py"], "case file missing.py does not exist"),
])
def test_bad_usage_is_one_line_and_exit_2(registry, tmp_path, capsys, args, message):
    assert run(tmp_path, "--case-file", str(DATA / "good.py"), *args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "out" / "results.json").exists()


def test_broken_case_file_names_file_and_line(registry, tmp_path, capsys):
    broken = tmp_path / "broken.py"
    broken.write_text("from jacobian_harness import case\n\nundefined_name\n")
    assert run(tmp_path, "--case-file", str(broken)) == 2
    assert f"case file {broken}, line 3: NameError" in capsys.readouterr().err


def test_unwritable_out_is_exit_2(registry, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["run", "--no-builtin", "--case-file", str(DATA / "good.py"), "--out", str(blocker / "x")]) == 2
    assert "--out" in capsys.readouterr().err


def test_report_rerenders_from_saved_results_and_refuses_corrupt_ones(registry, tmp_path, capsys):
    assert run(tmp_path, "--case-file", str(DATA / "good.py"), *FAST) == 0
    (tmp_path / "out" / "report.md").unlink()
    assert main(["report", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "report.md").read_text().startswith("# Jacobian harness report")
    (tmp_path / "out" / "results.json").write_text("{truncated")
    capsys.readouterr()
    assert main(["report", str(tmp_path / "out")]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_list_json_reports_methods_and_availability(registry, capsys):
    assert main(["list", "--json", "--no-builtin", "--case-file", str(DATA / "good.py")]) == 0
    listing = json.loads(capsys.readouterr().out)
    ids = {m["id"] for m in listing["methods"]}
    assert {"torch.grad-loop", "torch.compile[jacfwd]", "jax.jit[jacrev]", "autograd.jacobian",
            "fd.central", "fd.richardson"} <= ids
    assert listing["backends"]["fd"]["available"] is True
    assert [c["id"] for c in listing["cases"]] == ["user.cube", "user.softplus"]


def test_list_imports_no_framework_unless_asked_to_check():
    # Importing torch, JAX and TensorFlow takes most of a minute: listing what is there must not.
    code = ("import sys; from jacobian_harness.cli import main; main(['list', '--json']); "
            "print(sorted(m for m in ('torch', 'jax', 'tensorflow', 'autograd') if m in sys.modules), file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stderr.strip().splitlines()[-1] == "[]"
    listing = json.loads(result.stdout)
    assert listing["backends"]["torch"]["available"] is True and listing["backends"]["torch"]["checked"] is False
    assert listing["backends"]["torch"]["version"]


def test_list_check_imports_each_framework(registry, capsys):
    assert main(["list", "--check", "--no-builtin", "--case-file", str(DATA / "good.py")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Backends:\n") and "  torch      available (" in out


def test_python_dash_m_is_the_same_cli():
    result = subprocess.run([sys.executable, "-m", "jacobian_harness", "run", "--dtype", "float16"],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.startswith("jacobian-harness: error:") and result.stderr.count("\n") == 1


@pytest.mark.requires("jax")
def test_both_dtypes_run_against_one_float64_reference(registry, tmp_path):
    assert run(tmp_path, "--case-file", str(DATA / "good.py"), "--cases", "user.cube", "--dtype", "both",
               "--quick", "--methods", "torch.func.jacrev", "--methods", "jax.jacfwd") == 0
    out = tmp_path / "out"
    records = json.loads((out / "results.json").read_text())["results"]
    assert sorted((r["method"], r["dtype"]) for r in records) == [
        ("jax.jacfwd", "float32"), ("jax.jacfwd", "float64"),
        ("torch.func.jacrev", "float32"), ("torch.func.jacrev", "float64")]
    assert {r["status"] for r in records} == {"agree"}
    assert {r["reference"] for r in records} == {"analytic"}
    float32 = next(r for r in records if r["dtype"] == "float32" and r["method"] == "jax.jacfwd")
    assert 0 < float32["max_rel_err"] < 1e-4
    report = (out / "report.md").read_text()
    assert "`user.cube (float32)`" in report and "`user.cube (float64)`" in report


def test_crash_and_hang_cost_one_pair_each_on_two_workers(registry, tmp_path, frameworks):
    code = run(tmp_path, "--case-file", str(DATA / "hostile.py"), "--case-file", str(DATA / "good.py"),
               "--quick", "--methods", "fd.central", "--methods", "autograd.jacobian", "--jobs", "2",
               "--timeout", "3")
    assert code == 1
    document = json.loads((tmp_path / "out" / "results.json").read_text())
    status = {(r["case"], r["method"]): r["status"] for r in document["results"]}
    assert status[("hostile.segfault", "fd.central")] == "crash"
    expected = frameworks.expect({("hostile.hang", "autograd.jacobian"): "timeout",
                                  ("user.cube", "autograd.jacobian"): "agree",
                                  ("hostile.chatty", "fd.central"): "agree"})
    assert {key: status[key] for key in expected} == expected
    # Cases finish in any order on two workers; the results keep the order of the case file.
    assert list(document["cases"]) == ["hostile.segfault", "hostile.hang", "hostile.chatty", "hostile.hog",
                                       "user.cube", "user.softplus"]


def test_what_workers_print_goes_to_a_log_under_out_not_between_the_progress_lines(registry, tmp_path, capfd):
    # Frameworks print there too: TensorFlow's failed cuInit on a machine without a GPU, retracing warnings.
    assert run(tmp_path, "--case-file", str(DATA / "hostile.py"), "--cases", "hostile.chatty", "--quick",
               "--methods", "fd.central", "--jobs", "1") == 0
    captured = capfd.readouterr()
    assert "stray output" not in captured.err + captured.out
    log = tmp_path / "out" / "workers.log"
    assert "stray output on stdout" in log.read_text()
    assert f"What the workers printed (framework start-up notices, warnings): {log}" in captured.out
    # A new run in the same directory starts a new log.
    assert run(tmp_path, "--case-file", str(DATA / "good.py"), "--cases", "user.cube", "--quick",
               "--methods", "fd.central", "--jobs", "1") == 0
    assert "stray output" not in (log.read_text() if log.exists() else "")


@pytest.mark.parametrize("option, message", [(["--jobs", "-1"], "--jobs must be 0"),
                                             (["--timeout", "0"], "--timeout must be a positive")])
def test_bad_jobs_or_timeout_is_one_line_and_exit_2(registry, tmp_path, capsys, option, message):
    assert run(tmp_path, "--case-file", str(DATA / "good.py"), *option) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def _saved_run(directory: Path, document: dict) -> Path:
    from jacobian_harness.results import write_arrays, write_json

    directory.mkdir(parents=True)
    write_json(directory / "results.json", document)
    write_arrays(directory / "jacobians.npz", {})
    return directory


def test_compare_writes_files_and_exits_0_1_2(tmp_path, capsys):
    document = json.loads((DATA / "results_small.json").read_text())
    base = _saved_run(tmp_path / "base", document)
    assert main(["compare", str(base), str(base), "--out", str(tmp_path / "same")]) == 0
    assert (tmp_path / "same" / "compare.md").read_text().startswith("# Jacobian harness comparison: PASS")
    assert load_comparison(tmp_path / "same")["kind"] == "jacobian-harness.comparison"
    # NEW: an agreeing pair now errors.
    broken = json.loads(json.dumps(document))
    agreeing = next(r for r in broken["results"] if r["status"] == "agree")
    agreeing["status"] = "error"
    new = _saved_run(tmp_path / "new", broken)
    capsys.readouterr()
    assert main(["compare", str(base), str(new), "--out", str(tmp_path / "cmp")]) == 1
    assert "1 regressions" in capsys.readouterr().out
    # Bad input: one line, exit 2, nothing written.
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "results.json").write_text('{"kind": "jacobian-harness.run", "schema_version": 99}')
    for bad, message in ((tmp_path / "missing", "no such results file"), (tmp_path / "bad", "schema_version 99")):
        assert main(["compare", str(base), str(bad), "--out", str(tmp_path / "never")]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "never").exists()


def test_shards_partition_the_pairs_and_merge_into_the_whole_run(registry, tmp_path):
    good = ["--case-file", str(DATA / "good.py"), *FAST, "--jobs", "0"]
    assert run(tmp_path / "whole", *good) == 0
    for k in (1, 2):
        registry.clear()  # each run loads the case file again, as a new process would
        assert run(tmp_path / f"part{k}", *good, "--shard", f"{k}/2") == 0

    def pairs(directory):
        records = json.loads((directory / "out" / "results.json").read_text())["results"]
        return [pair_key(r) for r in records]

    part1, part2 = pairs(tmp_path / "part1"), pairs(tmp_path / "part2")
    assert part1 and part2 and not set(part1) & set(part2)
    parts = [str(tmp_path / f"part{k}" / "out") for k in (1, 2)]
    assert main(["merge", *parts, "--out", str(tmp_path / "merged" / "out")]) == 0
    assert pairs(tmp_path / "merged") == pairs(tmp_path / "whole")


def test_merge_refuses_the_same_part_twice_and_parts_of_different_runs(registry, tmp_path, capsys):
    good = ["--case-file", str(DATA / "good.py"), *FAST, "--jobs", "0"]
    assert run(tmp_path / "a", *good, "--shard", "1/2") == 0
    registry.clear()
    assert run(tmp_path / "b", *good, "--shard", "2/2", "--dtype", "float32") == 0
    part_a, part_b = str(tmp_path / "a" / "out"), str(tmp_path / "b" / "out")
    capsys.readouterr()
    assert main(["merge", part_a, part_a, "--out", str(tmp_path / "m1")]) == 2
    assert "also in another part" in capsys.readouterr().err
    assert main(["merge", part_a, part_b, "--out", str(tmp_path / "m2")]) == 2
    assert "not a part of the same run" in capsys.readouterr().err
    assert not (tmp_path / "m1").exists() and not (tmp_path / "m2").exists()


def test_parts_from_different_machines_merge_only_when_allowed_and_their_speed_is_not_judged(registry, tmp_path,
                                                                                             capsys):
    good = ["--case-file", str(DATA / "good.py"), *FAST, "--jobs", "0"]
    for k in (1, 2):
        registry.clear()
        assert run(tmp_path / f"part{k}", *good, "--shard", f"{k}/2") == 0
    second = tmp_path / "part2" / "out" / "results.json"
    document = json.loads(second.read_text())
    document["environment"]["cpu"] = "another CPU"  # a CI runner of the same job matrix on other hardware
    second.write_text(json.dumps(document))
    parts = [str(tmp_path / f"part{k}" / "out") for k in (1, 2)]
    capsys.readouterr()
    assert main(["merge", *parts, "--out", str(tmp_path / "m1")]) == 2
    assert "environment cpu differs" in capsys.readouterr().err
    assert main(["merge", *parts, "--out", str(tmp_path / "m2"), "--allow-different-machines"]) == 0
    merged = json.loads((tmp_path / "m2" / "results.json").read_text())
    assert merged["environment"]["cpu"] == "2 machines" and "another CPU" in merged["environment"]["machines"]
    assert main(["compare", str(tmp_path / "m2"), str(tmp_path / "m2"), "--out", str(tmp_path / "c")]) == 0
    comparison = load_comparison(tmp_path / "c" / "compare.json")
    assert any("different machines" in w for w in comparison["environment_warnings"])
    assert comparison["summary"]["slower_backed"] == 0


def test_junit_and_github_step_summary(registry, tmp_path, monkeypatch):
    from xml.etree import ElementTree

    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    junit = tmp_path / "junit.xml"
    assert run(tmp_path, "--case-file", str(DATA / "wrong_backward.py"), *FAST, "--jobs", "0",
               "--junit", str(junit)) == 1
    suite = ElementTree.parse(junit).getroot()
    records = json.loads((tmp_path / "out" / "results.json").read_text())["results"]
    assert len(suite.findall("testcase")) == len(records)
    failed = [t.get("name") for t in suite.findall("testcase") if t.find("failure") is not None]
    assert failed == ["torch.func.jacrev[float64]"]
    text = summary.read_text()
    assert text.startswith("# Jacobian harness report: FAIL") and "## Failures" in text


@pytest.mark.parametrize("shard", ["3/2", "0/2", "a/b", "1"])
def test_bad_shard_is_one_line_and_exit_2(registry, tmp_path, capsys, shard):
    assert run(tmp_path, "--case-file", str(DATA / "good.py"), "--shard", shard) == 2
    assert "--shard" in capsys.readouterr().err


def test_every_mistake_in_a_users_case_file_gets_a_verdict_naming_case_and_cause(registry, tmp_path, frameworks):
    code = run(tmp_path, "--case-file", str(DATA / "bad_cases.py"), "--quick", "--jobs", "0",
               "--methods", "fd.central", "--methods", "torch.func.jacrev", "--methods", "jax.jacfwd",
               "--methods", "autograd.jacobian")
    assert code == 1
    records = json.loads((tmp_path / "out" / "results.json").read_text())["results"]
    by_case: dict = {}
    for r in frameworks.available(records):  # a framework that is not installed here is "unavailable"
        by_case.setdefault(r["case"], []).append(r)

    def every(case_id, status, text):
        assert [(r["method"], r["status"]) for r in by_case[case_id] if r["status"] != status] == []
        assert all(text in r["message"] for r in by_case[case_id]), by_case[case_id][0]["message"]

    every("bad.raises", "error", "f itself failed: RuntimeError: my function is broken")
    every("bad.nan-output", "error", "case 'bad.nan-output': f returns NaN at index (0,)")
    every("bad.int-output", "error", "case 'bad.int-output' returns int64 values")
    every("bad.complex-output", "error", "case 'bad.complex-output' returns complex128 values")
    every("bad.empty-input", "error", "case 'bad.empty-input': differentiated input 0 is empty")
    every("bad.scalar-input", "agree", "")  # a 0-d input is fine: its Jacobian is out.shape + ()
    shapes = {r["method"]: r["message"] for r in by_case["bad.shape-per-backend"]}
    assert "f itself differs from the reference value (block 0 has shape (3,), reference has (2,))" in \
        shapes["torch.func.jacrev"]
    # The consensus of two frameworks or more is the reference, and every method disagrees with it; with torch
    # the only framework installed, finite differences are the reference.
    if sum(frameworks.installed(m) for m in ("torch.func.jacrev", "jax.jacfwd", "autograd.jacobian")) >= 2:
        assert all(r["status"] == "disagree" for r in by_case["bad.shape-per-backend"])
    else:
        assert {r["method"]: r["status"] for r in by_case["bad.shape-per-backend"]} == {
            "fd.central": "agree", "torch.func.jacrev": "disagree"}
    nondiff = {r["method"]: (r["status"], r["message"]) for r in by_case["bad.not-differentiable"]}
    if frameworks.installed("jax.jacfwd"):
        assert nondiff["jax.jacfwd"][0] == "error" and "nextafter" in nondiff["jax.jacfwd"][1]
    if frameworks.installed("autograd.jacobian"):
        assert nondiff["autograd.jacobian"][0] == "unsupported" and "nextafter" in nondiff["autograd.jacobian"][1]


def test_rounds_time_every_pair_again_in_fresh_processes(registry, tmp_path, capsys):
    assert run(tmp_path, "--case-file", str(DATA / "good.py"), *FAST, "--rounds", "2", "--jobs", "1") == 0
    document = json.loads((tmp_path / "out" / "results.json").read_text())
    timed = [r for r in document["results"] if r.get("time")]
    assert timed and all(len(r["time"]["round_medians_s"]) == len(r["time"]["round_cpu_medians_s"]) == 2
                         for r in timed)
    assert document["options"]["rounds"] == 2
    assert run(tmp_path, "--case-file", str(DATA / "good.py"), "--rounds", "2", "--jobs", "0") == 2
    assert "more than 1 needs worker processes" in capsys.readouterr().err


def test_runs_without_out_keep_each_other_and_latest_points_at_the_newest(registry, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    command = ["run", "--no-builtin", "--case-file", str(DATA / "good.py"), "--cases", "user.cube", "--quick",
               "--methods", "fd.central", "--methods", "torch.func.jacrev", "--jobs", "0"]
    assert main(command) == 0
    first = Path("reports/latest").resolve()
    registry.clear()
    assert main(command) == 0
    second = Path("reports/latest").resolve()
    assert first != second and first.parent == second.parent == (tmp_path / "reports" / "runs")
    assert (first / "results.json").is_file() and (second / "results.json").is_file()
    assert Path("reports/latest").is_symlink() and not Path(os.readlink("reports/latest")).is_absolute()


def test_a_pack_named_twice_is_one_pack_in_the_run_document():
    """tox's posargs can repeat what its command already names (`run --pack all ... --pack all`)."""
    from jacobian_harness.cli import build_parser
    from jacobian_harness.commands.common import packs_of

    args = build_parser().parse_args(["run", "--pack", "all", "--quick", "--pack", "all", "--pack", "opinfo"])
    assert packs_of(args) == ["all", "opinfo"]
    assert packs_of(build_parser().parse_args(["run"])) == ["builtin"]


@pytest.mark.parametrize("verbose", [False, True])
def test_the_console_off_a_terminal_is_a_line_per_case_or_with_v_a_line_per_pair(registry, tmp_path, capsys, verbose):
    verbose_flag = ["-v"] if verbose else []
    assert run(tmp_path, "--case-file", str(DATA / "good.py"), *FAST, "--jobs", "1", *verbose_flag) == 0  # in order
    err = capsys.readouterr().err
    records = json.loads((tmp_path / "out" / "results.json").read_text())["results"]
    assert "\x1b" not in err  # captured: not a terminal, so no bars and no escape codes
    case_lines = [line for line in err.splitlines() if line.startswith("[")]
    assert [line.split()[1] for line in case_lines] == ["user.cube:", "user.softplus:"]
    assert case_lines[-1].startswith(f"[2/2] user.softplus: {len(records) // 2} pairs, 0 failing | "
                                     f"{len(records)}/{len(records)} pairs, 0 failing so far, ")
    pairs = [line.split()[:2] for line in err.splitlines() if line.startswith("    ")]
    assert pairs == ([[r["method"], r["status"]] for r in records] if verbose else [])
