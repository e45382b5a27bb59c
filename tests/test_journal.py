import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from jacobian_harness.cli import main
from jacobian_harness.evaluate import Evaluation, Options
from jacobian_harness.journal import RECORDS, Journal, JournalError
from jacobian_harness.records import pair_key
from jacobian_harness.timing import ONCE, QUICK

DATA = Path(__file__).parent / "data"
HEADER = {"options": {"cases": None}, "versions": {"numpy": "1"}}
METHODS = ["--methods", "fd.central", "--methods", "torch.func.jacrev", "--methods", "jax.jacfwd"]


def _evaluation(method: str, value: float) -> Evaluation:
    record = {"case": "c", "method": method, "dtype": "float64", "status": "ok", "time": {"samples_s": [value]}}
    return Evaluation(record, [np.full((2, 2), value)], None, (np.ones(2),))


def test_finished_evaluations_come_back_from_the_journal_and_are_not_run_again(tmp_path):
    journal = Journal.start(tmp_path, HEADER)
    calls = []

    def evaluate(case_id, method_id, options):
        calls.append(method_id)
        return _evaluation(method_id, len(calls))

    journaled = journal.wrap(evaluate)
    journaled("c", "m1", Options(timing=QUICK))
    journaled("c", "m2", Options(timing=QUICK))
    reopened = Journal.open(tmp_path)
    assert reopened.header["options"] == {"cases": None}
    again = reopened.wrap(evaluate)
    first = again("c", "m1", Options(timing=QUICK))
    assert calls == ["m1", "m2"] and reopened.reused == 1
    assert first.record["time"]["samples_s"] == [1] and np.array_equal(first.jacobian[0], np.full((2, 2), 1.0))
    # The untimed reference-only evaluation of the same method is another entry.
    again("c", "m1", Options(timing=ONCE))
    assert calls == ["m1", "m2", "m1"]
    # So is the comparator's smoothness probe at a moved point, and it is journaled as one.
    again("c", "m1", Options(timing=ONCE, moved=1e-4))
    assert calls == ["m1", "m2", "m1", "m1"]
    assert Journal.open(tmp_path).load(("c", "m1", "float64", repr(ONCE), 1e-4)) is not None


def test_a_line_cut_by_a_kill_is_ignored_and_a_missing_npz_counts_as_not_done(tmp_path):
    journal = Journal.start(tmp_path, HEADER)
    journal.add(("c", "m1", "float64", "t", 0.0), _evaluation("m1", 1))
    journal.add(("c", "m2", "float64", "t", 0.0), _evaluation("m2", 2))
    records = tmp_path / "journal" / RECORDS
    (tmp_path / "journal" / journal.done[("c", "m2", "float64", "t", 0.0)]).unlink()
    with open(records, "ab") as handle:
        handle.write(b'{"case":"c","method":"m3","dty')
    reopened = Journal.open(tmp_path)
    assert list(reopened.done) == [("c", "m1", "float64", "t", 0.0)]
    reopened.add(("c", "m3", "float64", "t", 0.0), _evaluation("m3", 3))  # appends after the cut line
    assert ("c", "m3", "float64", "t", 0.0) in Journal.open(tmp_path).done


@pytest.mark.parametrize("content, message", [
    (None, "no journal here"),
    (b'{"kind":"something else"}\n', "not a jacobian-harness journal"),
    (b'{"kind":"jacobian-harness.journal","schema_version":99}\n', "journal schema_version 99"),
    (b'{"kind":"jacobian-harness.journal","schema_version":1}\n{broken\n{"case":1}\n', ":2: corrupt journal line"),
])
def test_unusable_journals_are_named_errors(tmp_path, content, message):
    if content is not None:
        (tmp_path / "journal").mkdir()
        (tmp_path / "journal" / RECORDS).write_bytes(content)
    with pytest.raises(JournalError, match=message):
        Journal.open(tmp_path)


def _keys(document):
    return [pair_key(r) for r in document["results"]]


def _sigint_as_in_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for_journal_lines(process, out, lines: int) -> Path:
    """The run's journal once it holds `lines` lines, with the run still going (else the test fails)."""
    records = out / "journal" / RECORDS
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if records.exists() and records.read_bytes().count(b"\n") >= lines:
            break
        time.sleep(0.05)
    assert process.poll() is None, "the run finished before it could be stopped"
    return records


@pytest.mark.slow
def test_a_run_killed_halfway_resumes_and_keeps_every_finished_record_exactly_once(registry, tmp_path):
    out = tmp_path / "out"
    command = [sys.executable, "-m", "jacobian_harness", "run", "--no-builtin", "--case-file", str(DATA / "sleepy.py"),
               "--quick", "--jobs", "1", *METHODS, "--out", str(out)]
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    _wait_for_journal_lines(process, out, 8)
    os.killpg(process.pid, signal.SIGKILL)  # the parent and its worker, mid-run
    process.wait()
    assert not (out / "results.json").exists()
    before = Journal.open(out)
    finished = dict(before.done)
    assert finished
    samples = {}
    for key, name in finished.items():
        record = json.loads(str(np.load(out / "journal" / name, allow_pickle=False)["record"]))
        samples[key[:3]] = (record.get("time") or {}).get("samples_s")

    assert main(["run", "--resume", str(out), "--jobs", "1"]) == 0
    document = json.loads((out / "results.json").read_text())
    keys = _keys(document)
    assert len(keys) == len(set(keys)) == 6 * 3
    assert document["resumed_pairs"] == len(finished)  # every journaled evaluation reused, none run again
    timed = {k: v for k, v in samples.items() if v}
    by_key = {pair_key(r): r for r in document["results"]}
    # Every pair finished before the kill is in the results once, with its original timing samples.
    assert timed and all(by_key[k]["time"]["samples_s"] == v for k, v in timed.items() if k in by_key)
    assert not (out / "journal").exists()


@pytest.mark.slow
def test_ctrl_c_in_a_terminal_keeps_no_cut_off_pair_and_resume_runs_them_again(registry, tmp_path):
    # A terminal's Ctrl-C sends SIGINT to the whole process group: the parent and its workers.
    out = tmp_path / "out"
    command = [sys.executable, "-m", "jacobian_harness", "run", "--no-builtin", "--case-file", str(DATA / "sleepy.py"),
               "--quick", "--jobs", "2", *METHODS, "--out", str(out)]
    # As in a terminal, Ctrl-C is not ignored: a test runner started in the background (CI, a job of a shell
    # without job control) passes SIGINT down ignored, and Python then keeps it ignored.
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               preexec_fn=_sigint_as_in_a_terminal)
    records = _wait_for_journal_lines(process, out, 6)
    os.killpg(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Traceback" not in stderr.decode() and "BrokenPipe" not in (out / "workers.log").read_text()
    statuses = [json.loads(line).get("status") for line in records.read_text().splitlines()[1:]]
    assert statuses and "crash" not in statuses  # the pairs cut off are not journaled: resume runs them
    partial = json.loads((out / "results.json").read_text())
    report = (out / "report.md").read_text()
    assert report.startswith("# Jacobian harness report: INTERRUPTED")
    assert f"{len(partial['cases'])} of 6 cases finished" in report and f"--resume {out}" in report
    assert "INTERRUPTED" in stdout.decode()

    assert main(["run", "--resume", str(out), "--jobs", "1"]) == 0
    whole = json.loads((out / "results.json").read_text())
    assert len(_keys(whole)) == 6 * 3 and {r["status"] for r in whole["results"]} == {"agree"}


def test_ctrl_c_writes_a_partial_run_that_resume_finishes(registry, tmp_path, monkeypatch, capsys):
    import jacobian_harness.runner as runner

    out = tmp_path / "out"
    real = runner.run_case
    seen = []

    def interrupted_after_one_case(case_id, *args, **kwargs):
        if seen:
            raise KeyboardInterrupt
        seen.append(case_id)
        return real(case_id, *args, **kwargs)

    monkeypatch.setattr(runner, "run_case", interrupted_after_one_case)
    base = ["run", "--no-builtin", "--case-file", str(DATA / "good.py"), "--quick", "--jobs", "0", *METHODS]
    assert main([*base, "--out", str(out)]) == 130
    partial = json.loads((out / "results.json").read_text())
    assert partial["partial"] is True and {c for c, _, _ in _keys(partial)} == {"user.cube"}
    assert "run --resume" in capsys.readouterr().err
    report = (out / "report.md").read_text()
    assert report.startswith("# Jacobian harness report: INTERRUPTED") and "1 of 2 cases finished" in report

    monkeypatch.setattr(runner, "run_case", real)
    registry.clear()  # the resumed run loads the case file again, as a new process would
    assert main(["run", "--resume", str(out), "--jobs", "0"]) == 0
    whole = json.loads((out / "results.json").read_text())
    assert not whole.get("partial") and len(_keys(whole)) == len(set(_keys(whole))) == 2 * 3
    assert whole["resumed_pairs"] >= 3  # user.cube's three pairs (and its reference-only evaluations)


@pytest.mark.parametrize("args, message", [
    (["--cases", "x*"], "leave out --cases"),
    (["--quick"], "leave out --quick"),
    (["--out", "elsewhere"], "leave out --out"),
])
def test_resume_refuses_new_selection_options(registry, tmp_path, capsys, args, message):
    assert main(["run", "--resume", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_resume_refuses_a_directory_without_journal_or_with_other_versions(registry, tmp_path, capsys):
    assert main(["run", "--resume", str(tmp_path)]) == 2
    assert "nothing to resume" in capsys.readouterr().err
    from jacobian_harness.commands.run import RUN_SELECTION

    Journal.start(tmp_path, {"options": dict.fromkeys(RUN_SELECTION) | {"threads": 1},
                             "versions": {"numpy": "0.0.1"}})
    assert main(["run", "--resume", str(tmp_path)]) == 2
    assert "other versions now (numpy 0.0.1 in the journal" in capsys.readouterr().err
