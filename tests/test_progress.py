"""The console of a running command (harness.render.progress): a live display on a terminal, a line per case
elsewhere, failing pairs as their case is judged, every pair with verbose."""

from __future__ import annotations

import io
import threading

import pytest
from rich.console import Console

from jacobian_harness.render.progress import LiveProgress, LogProgress, console_progress, time_left_s

PLAN = {"fake.one": ["torch.func.jacrev", "jax.jacfwd"], "fake.two": ["torch.func.jacrev", "jax.jacfwd"],
        "fake.three": ["torch.func.jacrev", "jax.jacfwd"]}


def _record(case_id: str, method_id: str, status: str = "agree", message: str = "") -> dict:
    return {"case": case_id, "method": method_id, "dtype": "float64", "status": status, "message": message,
            "time": {"median_s": 2e-5} if status == "agree" else None}


def _judged(case_id: str) -> list[dict]:
    if case_id == "fake.two":  # one failure, whose message has more than one line
        return [_record(case_id, "torch.func.jacrev", "disagree", "max rel error 0.5\nworst at block 0"),
                _record(case_id, "jax.jacfwd")]
    return [_record(case_id, method_id) for method_id in PLAN[case_id]]


def _run_plan(progress) -> None:
    """What `run` does with its display: every pair as it is evaluated (here from other threads, as the
    workers' are), each case when it is judged."""
    with progress:
        progress.started(PLAN)
        for case_id, methods in PLAN.items():
            threads = [threading.Thread(target=progress.pair_done, args=(_record(case_id, m, "ok"),))
                       for m in methods]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            progress.case_done(case_id, _judged(case_id))


def _console(terminal: bool) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=terminal, width=160), buffer


def test_off_a_terminal_one_line_per_case_and_the_failures_with_their_first_line_and_no_escape_codes():
    console, buffer = _console(terminal=False)
    progress = console_progress(console=console)
    assert isinstance(progress, LogProgress)
    _run_plan(progress)
    lines = buffer.getvalue().splitlines()
    assert "\x1b" not in buffer.getvalue()
    assert [line.split()[1] for line in lines if line.startswith("[")] == ["fake.one:", "fake.two:", "fake.three:"]
    assert lines == [
        lines[0], lines[1], "DISAGREE: fake.two / torch.func.jacrev: max rel error 0.5", lines[3]]
    assert lines[0].startswith("[1/3] fake.one: 2 pairs, 0 failing | 2/6 pairs, 0 failing so far, ")
    assert lines[1].startswith("[2/3] fake.two: 2 pairs, 1 failing | 4/6 pairs, 1 failing so far, ")
    assert lines[3].startswith("[3/3] fake.three: 2 pairs, 0 failing | 6/6 pairs, 1 failing so far, ")
    assert "elapsed, est. " in lines[0] and lines[0].endswith(" left")


def test_verbose_gives_one_line_per_pair_under_its_case():
    console, buffer = _console(terminal=False)
    _run_plan(console_progress(verbose=True, console=console))
    lines = buffer.getvalue().splitlines()
    pairs = [line.split() for line in lines if line.startswith("    ")]
    assert [(words[0], words[1]) for words in pairs] == [(m, "agree") for m in PLAN["fake.one"]] + [
        ("torch.func.jacrev", "disagree"), ("jax.jacfwd", "agree")] + [(m, "agree") for m in PLAN["fake.three"]]
    assert len(lines) == len(PLAN) + len(pairs)
    assert "max rel error 0.5" in lines[4] and "worst at" not in buffer.getvalue()


def test_on_a_terminal_a_live_display_with_the_counts_and_the_failure_printed_above_it():
    console, buffer = _console(terminal=True)
    progress = console_progress(console=console)
    assert isinstance(progress, LiveProgress)
    _run_plan(progress)
    shown = buffer.getvalue()
    assert "\x1b[" in shown  # drawn for a terminal
    assert "DISAGREE: fake.two / torch.func.jacrev: max rel error 0.5" in shown
    assert "[1/3] fake.one" not in shown  # no line per case: the display counts them
    last = shown.rsplit("\r", 1)[-1]  # the display's last redraw
    for text in ("6/6 pairs", "3/3 cases", "1 failing", ", est. 0 s left"):
        assert text in last, text


def test_a_timing_round_counts_its_pairs_per_case_and_no_failures():
    console, buffer = _console(terminal=False)
    progress = console_progress(console=console)
    progress.started(PLAN, dtypes=2, label="round 2/3", judged=False)
    progress.case_done("fake.one", [_record("fake.one", "torch.func.jacrev", "error", "boom")] * 4)
    assert (progress.done, progress.total, progress.failing) == (4, 12, 0)
    assert buffer.getvalue().startswith("[round 2/3: 1/3] fake.one: 4 pairs | 4/12 pairs, ")


def test_both_sides_of_an_ab_make_one_case_and_a_failure_names_its_side():
    console, buffer = _console(terminal=False)
    progress = console_progress(console=console)
    progress.started({"fake.two": PLAN["fake.two"]}, sides=2)
    progress.case_done("fake.two", [_record("fake.two", m) for m in PLAN["fake.two"]], side="base")
    assert progress.cases_done == 0 and buffer.getvalue() == ""
    progress.case_done("fake.two", _judged("fake.two"), side="new")
    assert buffer.getvalue().splitlines() == [buffer.getvalue().splitlines()[0],
                                              "DISAGREE (new): fake.two / torch.func.jacrev: max rel error 0.5"]
    assert buffer.getvalue().startswith("[1/1] fake.two: 4 pairs, 1 failing | 4/4 pairs")


def test_time_left_is_the_pace_of_the_pairs_done_so_far():
    assert time_left_s(10.0, 0, 100) is None
    assert time_left_s(10.0, 20, 100) == pytest.approx(40.0)
    assert time_left_s(10.0, 100, 100) == 0.0
