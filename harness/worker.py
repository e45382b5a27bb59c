"""Evaluate pairs in a worker subprocess, so that a crash or a hang costs one pair, not the run.

The parent sends one request per (case, method, dtype) and reads back the Evaluation as an .npz
archive (the record as a JSON string, the arrays as arrays) over the worker's own copy of stdout;
the worker's fd 1 is pointed at stderr, so prints in user code or frameworks cannot corrupt the
stream. Nothing is pickled. A worker that dies is reported as `crash` (with the signal), one that
does not answer in time is killed and reported as `timeout`; the next request starts a fresh worker.

"In time" must not depend on how busy the machine is: a pair is over its --timeout only once it has both
run that long and used that much CPU time (per thread it may use), so that a pair slowed down by other jobs
is not killed for their sake, nor a pair whose compiler runs threads of its own for its CPU time alone. A
pair that sleeps or waits (a hang uses no CPU) is killed after twice the timeout, or the timeout times the
load per CPU where that is more.
"""

from __future__ import annotations

import io
import json
import os
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from collections.abc import Mapping
from typing import Any, cast

import numpy as np

from jacobian_harness.evaluate import Evaluation, Options, failed_evaluation
from jacobian_harness.records import Record
from jacobian_harness.timing import TimingPolicy

_HEADER = struct.Struct("<Q")
WORKER_LOG = "workers.log"  # under a run's --out: what its workers printed on stderr
_DEFAULT_OPTIONS = Options()


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker loads before its first request: case packs (and their options), case files, threads."""
    packs: tuple[str, ...] = ("builtin",)
    pack_options: dict = field(default_factory=dict)
    case_files: tuple[str, ...] = ()
    threads: int = 1
    timeout_s: float | None = None
    env: dict = field(default_factory=dict)
    python: str = sys.executable  # another environment's interpreter runs another torch (the A/B mode)
    # Where the workers' stderr goes: frameworks print start-up notices there (TensorFlow's failed cuInit on
    # a machine without a GPU, its retracing warnings), and user code its prints. None: the parent's stderr.
    log: str | None = None


class WorkerClosed(Exception):
    """The worker was closed (the run was interrupted) while a request was in flight or about to be sent:
    the pair has no result, and must not be recorded as a crash of its own."""


class Worker:
    """One worker subprocess; `evaluate` has the signature of harness.evaluate.evaluate."""

    def __init__(self, setup: WorkerSetup):
        self.setup = setup
        self.process: subprocess.Popen | None = None
        self.closed = False  # by `close`: no new worker starts, and a request cut off by it raises WorkerClosed
        self._starting = threading.Lock()  # `close` from another thread must not miss a worker being started

    def _start(self) -> subprocess.Popen:
        argv = [self.setup.python, "-m", "jacobian_harness.worker", json.dumps(
            {"packs": list(self.setup.packs), "pack_options": self.setup.pack_options,
             "case_files": list(self.setup.case_files), "threads": self.setup.threads})]
        if self.setup.log is None:
            return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    env={**os.environ, **self.setup.env})
        with open(self.setup.log, "ab") as log:  # the child keeps its own copy of the descriptor
            return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                    env={**os.environ, **self.setup.env})

    def evaluate(self, case_id: str, method_id: str, options: Options = _DEFAULT_OPTIONS) -> Evaluation:
        try:
            payload = self._exchange({"case": case_id, "method": method_id, "options": _options_to_json(options)})
        except TimeoutError as exc:
            return failed_evaluation(case_id, method_id, options, "timeout", f"ran past --timeout "
                                     f"{self.setup.timeout_s:g} s ({exc}); worker killed")
        except EOFError:
            if self.closed:  # killed by close(), not by the pair: an interrupted pair, for resume to redo
                raise WorkerClosed(f"{case_id} / {method_id}: interrupted") from None
            return failed_evaluation(case_id, method_id, options, "crash", self._death())
        return evaluation_from_bytes(payload)

    def calibrate(self) -> list[float]:
        """Samples of harness.timing.calibrate, taken in the worker; none if the worker failed."""
        record = self._ask({"calibrate": True})
        return record["samples_s"] if record else []

    def environment(self) -> dict:
        """jacobian_harness.environment.collect() as the worker sees it: its interpreter and library versions."""
        return dict(self._ask({"environment": True}) or {})

    def _ask(self, request: dict) -> Mapping[str, Any] | None:
        try:
            return evaluation_from_bytes(self._exchange(request)).record
        except TimeoutError:
            return None
        except EOFError:
            if not self.closed:
                self._death()
            return None

    def _exchange(self, request: dict) -> bytes:
        """Send one request and wait for its answer, starting a worker if none runs. Raises TimeoutError
        (the worker was killed) or EOFError (the worker died: `_death` says how)."""
        with self._starting:
            if self.closed:
                raise EOFError
            if self.process is None or self.process.poll() is not None:
                self.process = self._start()
        try:
            _write_message(self.process.stdin, json.dumps(request).encode())
            budget = None if self.setup.timeout_s is None else _Budget(self.setup.timeout_s, self.process.pid,
                                                                        self.setup.threads)
            return _read_message(self.process.stdout, budget)
        except TimeoutError:
            self._kill()  # the next request starts a fresh worker
            raise
        except BrokenPipeError:
            raise EOFError from None

    def _death(self) -> str:
        assert self.process is not None, "_death is asked only of a worker that was started"
        code = self.process.wait()
        self.process = None
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
            # SIGKILL is what the kernel's out-of-memory killer sends (a timeout's kill is reported apart).
            hint = " (out of memory? the kernel's OOM killer sends SIGKILL)" if -code == signal.SIGKILL else ""
            return f"worker died from signal {name}{hint}"
        return f"worker exited with status {code}"

    def close(self) -> None:
        """Kill the worker; later requests raise WorkerClosed (a runner's pool is shutting down)."""
        with self._starting:
            self.closed = True
        self._kill()

    def _kill(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()
            self.process = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# -- the wire format ------------------------------------------------------------------------------------
def _write_message(stream, payload: bytes) -> None:
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


class _Budget:
    """A pair's --timeout, counted as the module docstring says; `over()` says how it was exceeded."""

    def __init__(self, timeout_s: float, pid: int, threads: int):
        self.timeout_s, self.pid, self.threads = timeout_s, pid, max(1, threads)
        self.started = time.monotonic()
        self.cpu_started = _cpu_seconds(pid)

    def over(self) -> str | None:
        wall = time.monotonic() - self.started
        if wall < self.timeout_s:
            return None
        cpu_now = _cpu_seconds(self.pid)
        if cpu_now is None or self.cpu_started is None:  # no CPU clock of another process here: wall time
            return f"{wall:.0f} s"
        cpu = (cpu_now - self.cpu_started) / self.threads
        if cpu >= self.timeout_s:
            return f"{wall:.0f} s, {cpu:.0f} s of CPU time per thread"
        load = os.getloadavg()[0] / (os.cpu_count() or 1)
        if wall >= self.timeout_s * max(2.0, load):
            return f"{wall:.0f} s waiting, using {cpu:.0f} s of CPU time per thread"
        return None


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (all its threads), from /proc; None where there is no /proc."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    # After the command name: state is field 3 of stat(5); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# How often a waiting parent checks a pair's budget.
_BUDGET_CHECK_S = 0.5


def _read_exactly(stream, size: int, budget: _Budget | None) -> bytes:
    chunks, left = [], size
    fd = stream.fileno()
    while left:
        if budget is not None:
            while not select.select([fd], [], [], _BUDGET_CHECK_S)[0]:
                reason = budget.over()
                if reason is not None:
                    raise TimeoutError(reason)
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _read_message(stream, budget: _Budget | None) -> bytes:
    (size,) = _HEADER.unpack(_read_exactly(stream, _HEADER.size, budget))
    return _read_exactly(stream, size, budget)


def _options_to_json(options: Options) -> dict:
    return asdict(options)


def _options_from_json(data: dict) -> Options:
    return Options(**{**data, "timing": TimingPolicy(**data["timing"])})


def evaluation_to_bytes(evaluation: Evaluation) -> bytes:
    arrays: dict[str, Any] = {"record": np.array(json.dumps(evaluation.record))}
    if evaluation.value is not None:
        arrays["value"] = np.asarray(evaluation.value)
    for k, block in enumerate(evaluation.jacobian or []):
        arrays[f"jacobian_{k}"] = block
    for k, array in enumerate(evaluation.inputs):
        arrays[f"input_{k}"] = array
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def evaluation_from_bytes(payload: bytes) -> Evaluation:
    from jacobian_harness.adapters.base import Problem
    from jacobian_harness.casedef import CASES

    with np.load(io.BytesIO(payload), allow_pickle=False) as archive:
        record = json.loads(str(archive["record"]))
        value = archive["value"] if "value" in archive else None
        jacobian = _numbered(archive, "jacobian_")
        inputs = tuple(_numbered(archive, "input_") or ())
    evaluation = Evaluation(record, jacobian, value, inputs)
    if jacobian is not None and value is not None and "case" in record:
        # What the comparator needs of the problem: shapes and flags, not the function.
        case = CASES[record["case"]]
        evaluation.problem = Problem(fn=_function_left_in_the_worker,
                                     args=tuple(inputs[i] for i in case.wrt_indices(inputs)),
                                     out_shape=tuple(value.shape), row_independent=case.row_independent,
                                     per_sample=case.per_sample)
    return evaluation


def _function_left_in_the_worker(*args):
    raise RuntimeError("the parent's copy of a problem has its shapes and flags, not its function")


def _numbered(archive, prefix: str) -> list[np.ndarray] | None:
    count = sum(1 for name in archive.files if name.startswith(prefix))
    return [archive[f"{prefix}{k}"] for k in range(count)] if count else None


# -- the worker side ------------------------------------------------------------------------------------
def main() -> int:
    setup = json.loads(sys.argv[1])
    # Thread limits must be in the environment before torch, XLA or BLAS is imported.
    from jacobian_harness.environment import limit_threads

    limit_threads(setup["threads"])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it writes the partial run, then kills us
    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # prints from user code or frameworks go to stderr, not into the channel
    requests = os.fdopen(0, "rb")

    from jacobian_harness.adapters.base import load_adapters
    from jacobian_harness.casedef import load_case_file, load_library
    from jacobian_harness.environment import collect
    from jacobian_harness.evaluate import evaluate
    from jacobian_harness.timing import calibrate

    # A generated pack makes a worker's cases when it is first asked for them, not all of them at start.
    load_library(setup["packs"], {**setup["pack_options"], "lazy": True})
    for path in setup["case_files"]:
        load_case_file(path)
    load_adapters()
    while True:
        try:
            request = json.loads(_read_message(requests, None))
        except EOFError:
            return 0
        # The replies to the calibration and environment requests travel in the record's place.
        if request.get("calibrate"):
            evaluation = Evaluation(cast(Record, {"samples_s": calibrate()}))
        elif request.get("environment"):
            evaluation = Evaluation(cast(Record, collect(setup["threads"])))
        else:
            evaluation = evaluate(request["case"], request["method"], _options_from_json(request["options"]))
        try:
            _write_message(channel, evaluation_to_bytes(evaluation))
        except BrokenPipeError:  # the parent is gone (an interrupted run): nobody is waiting for the answer
            return 0


if __name__ == "__main__":
    sys.exit(main())
