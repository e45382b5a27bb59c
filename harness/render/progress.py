"""The console of a command while it runs pairs (`run`, `ab`, `sweep`): how far it is, what failed so far and
about how long is left. The commands call one small interface, `RunProgress`; nothing else knows how it is
drawn.

On a terminal, one live `rich` progress display (pairs done of all, cases done of all, failing so far,
elapsed, time left), with each failing pair printed above it as its case is judged. Elsewhere (CI logs, a
pipe) no bars and no escape codes: one line per finished case, and the failing pairs under it. With
`verbose`, one line per pair as well. Everything goes to stderr: stdout keeps the run's summary.

A failure is known once its case is judged (the verdict needs the case's reference), so failures and pair
lines come per case; the pair count moves with every evaluation, from whichever thread ran it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn
from rich.text import Text

from jacobian_harness.records import FAILING
from jacobian_harness.render.formatting import format_seconds


def time_left_s(elapsed_s: float, done: int, total: int) -> float | None:
    """An estimate of the time left: the pairs still to do at the average pace of the pairs done so far
    (None before the first)."""
    if done <= 0:
        return None
    return elapsed_s / done * max(total - done, 0)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def clock_line(elapsed_s: float, done: int, total: int, elapsed: str = " elapsed") -> str:
    left = format_duration(time_left_s(elapsed_s, done, total))
    return f"{format_duration(elapsed_s)}{elapsed}, est. {left} left"


def pair_line(record: Mapping[str, Any]) -> str:
    """One pair as `-v` shows it: method, status, and its median time or the first line of its message."""
    median = (record.get("time") or {}).get("median_s")
    detail = format_seconds(median) if median is not None else first_line(record.get("message", ""))[:90]
    return f"    {record['method']:50} {record['status']:12} {detail}".rstrip()


def failure_line(record: dict, side: str = "") -> str:
    """A failing pair, in the words of the run's summary: STATUS: case / method: the message's first line."""
    where = f"{record['case']} / {record['method']}"
    if record.get("dtype", "float64") != "float64":
        where += f" ({record['dtype']})"
    return f"{record['status'].upper()}{f' ({side})' if side else ''}: {where}: {first_line(record.get('message', ''))}"


def first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0]


class RunProgress:
    """What a command tells its console: a stage starts (`started`), a pair is evaluated (`pair_done`, from any
    thread), a case is finished and judged (`case_done`, once per side), the stage ends (`finished`). A
    command with several stages (timing rounds, an A/B's whole run and its rounds) starts each in turn."""

    def __init__(self, verbose: bool = False):
        self.verbose = verbose
        self._lock = threading.Lock()
        self.started({})

    def started(self, plan: dict[str, list[str]], *, dtypes: int = 1, sides: int = 1, label: str = "",
                judged: bool = True) -> None:
        """A stage of `plan` (case -> methods), each method run in `dtypes` dtypes on `sides` sides (an A/B's
        2); `judged`: its records carry verdicts (a timing round's do not, so it counts no failures)."""
        with self._lock:
            self.label, self.sides, self.judged = label, sides, judged
            self.expected = {case_id: len(methods) * dtypes * sides for case_id, methods in plan.items()}
            self.total = sum(self.expected.values())
            self.done = self.cases_done = self.failing = 0
            self.counted: Counter[str] = Counter()   # pairs of each case seen by pair_done
            self.sides_done: Counter[str] = Counter()
            self.case_failing: Counter[str] = Counter()
            self.start = time.perf_counter()

    def pair_done(self, record: Mapping[str, Any]) -> None:
        with self._lock:
            self.done += 1
            self.counted[record["case"]] += 1
        self._advanced()

    def case_done(self, case_id: str, records: Sequence[Mapping[str, Any]], side: str = "") -> None:
        failing = [r for r in records if r["status"] in FAILING] if self.judged else []
        with self._lock:
            self.failing += len(failing)
            self.case_failing[case_id] += len(failing)
            self.sides_done[case_id] += 1
            whole = self.sides_done[case_id] >= self.sides
            if whole:  # pairs that came without pair_done (a timing round's) count now
                self.done += max(self.expected.get(case_id, 0) - self.counted[case_id], 0)
                self.counted[case_id] = self.expected.get(case_id, 0)
                self.cases_done += 1
        self._advanced()
        self._show_case(case_id, records, failing, side, whole)

    def finished(self) -> None:
        """The stage is over (also when it was interrupted): leave the console as a terminal expects it."""

    def __enter__(self) -> RunProgress:
        return self

    def __exit__(self, *exc_info) -> None:
        self.finished()  # also on Ctrl-C or an error: a live display must not outlive the command

    def case_line(self, case_id: str) -> str:
        """[label: cases done/all] case: its pairs and failures | the whole stage: pairs, failing, clock."""
        prefix = f"{self.label}: " if self.label else ""
        failing = f", {self.case_failing[case_id]} failing" if self.judged else ""
        so_far = f", {self.failing} failing so far" if self.judged else ""
        clock = clock_line(time.perf_counter() - self.start, self.done, self.total)
        return (f"[{prefix}{self.cases_done}/{len(self.expected)}] {case_id}: {self.expected.get(case_id, 0)} "
                f"pairs{failing} | {self.done}/{self.total} pairs{so_far}, {clock}")

    def _advanced(self) -> None:
        """The counts moved (a display redraws)."""

    def _show_case(self, case_id: str, records, failing: list[Mapping[str, Any]], side: str, whole: bool) -> None:
        raise NotImplementedError


class LogProgress(RunProgress):
    """Plain lines for a log: one per finished case, then its failing pairs (every pair with `verbose`)."""

    def __init__(self, console: Console, verbose: bool = False):
        self.console = console
        super().__init__(verbose)

    def _show_case(self, case_id, records, failing, side, whole) -> None:
        lines = [self.case_line(case_id)] if whole else []
        if self.verbose:
            lines += [pair_line(r) for r in records]
        else:
            lines += [failure_line(r, side) for r in failing]
        if lines:
            # print(), not the console's: rich would wrap long lines at its idea of the width
            print("\n".join(lines), file=self.console.file, flush=True)


class FailingColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        failing = task.fields.get("failing")
        if failing is None:
            return Text("")
        return Text(f"{failing} failing", style="bold red" if failing else "green")


class ClockColumn(ProgressColumn):
    """Elapsed and the estimated time left (time_left_s), redrawn as the clock runs."""

    def render(self, task: Task) -> Text:
        # without the word "elapsed": the display fits an 80-column terminal
        return Text(clock_line(task.elapsed or 0.0, int(task.completed), int(task.total or 0), elapsed=""),
                    style="cyan")


class LiveProgress(RunProgress):
    """One live `rich` display on a terminal; failing pairs (every pair with `verbose`) printed above it."""

    def __init__(self, console: Console, verbose: bool = False):
        self.console = console
        self._display: Progress | None = None
        super().__init__(verbose)

    def started(self, plan, *, dtypes=1, sides=1, label="", judged=True) -> None:
        super().started(plan, dtypes=dtypes, sides=sides, label=label, judged=judged)
        if not plan:
            return
        self.finished()
        self._display = Progress(TextColumn("{task.description}"), BarColumn(bar_width=16),
                                 TextColumn("{task.completed}/{task.total} pairs"),
                                 TextColumn("{task.fields[cases]}"), FailingColumn(), ClockColumn(),
                                 console=self.console)
        self._task = self._display.add_task(label, total=self.total, cases=self._cases(),
                                            failing=0 if judged else None)
        self._display.start()

    def _cases(self) -> str:
        return f"{self.cases_done}/{len(self.expected)} cases"

    def _advanced(self) -> None:
        if self._display is not None:
            self._display.update(self._task, completed=self.done, cases=self._cases(),
                                 failing=self.failing if self.judged else None)

    def _show_case(self, case_id, records, failing, side, whole) -> None:
        if self.verbose:  # the case's line heads its pairs, as in a log
            lines = ([self.case_line(case_id)] if whole else []) + [pair_line(r) for r in records]
        else:
            lines = [failure_line(r, side) for r in failing]
        for line in lines:
            self.console.print(Text(line), soft_wrap=True, highlight=False)

    def finished(self) -> None:
        if self._display is not None:
            self._display.stop()
            self._display = None


def console_progress(verbose: bool = False, console: Console | None = None) -> RunProgress:
    """The live display on a terminal (stderr's, or `console`'s), plain lines anywhere else."""
    console = console or Console(stderr=True)
    if console.is_terminal and not console.is_dumb_terminal:
        return LiveProgress(console, verbose)
    return LogProgress(console, verbose)
