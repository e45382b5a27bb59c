import numpy as np
import pytest

from jacobian_harness.casedef import load_case_file
from jacobian_harness.evaluate import Options, evaluate
from jacobian_harness.timing import QUICK
from jacobian_harness.worker import Worker, WorkerSetup
from tests.test_cli import DATA

HOSTILE = str(DATA / "hostile.py")
GOOD = str(DATA / "good.py")
OPTIONS = Options(timing=QUICK)


@pytest.fixture
def worker(registry):
    load_case_file(HOSTILE)
    load_case_file(GOOD)
    with Worker(WorkerSetup(packs=(), case_files=(HOSTILE, GOOD), timeout_s=20)) as w:
        yield w


def test_worker_returns_what_evaluate_returns_in_process(worker):
    remote = worker.evaluate("user.softplus", "torch.func.jacrev", OPTIONS)
    local = evaluate("user.softplus", "torch.func.jacrev", OPTIONS)
    assert remote.record["status"] == local.record["status"] == "ok"
    assert remote.record["time"]["samples_s"]
    np.testing.assert_array_equal(remote.jacobian[0], local.jacobian[0])
    np.testing.assert_array_equal(remote.value, local.value)
    assert [a.shape for a in remote.problem.args] == [(2, 2)] and remote.problem.out_shape == (2, 2)


def test_segfault_is_a_crash_with_its_signal_and_the_next_pair_runs(worker):
    crashed = worker.evaluate("hostile.segfault", "fd.central", OPTIONS)
    assert crashed.record["status"] == "crash"
    assert "SIGSEGV" in crashed.record["message"]
    assert worker.evaluate("user.cube", "fd.central", OPTIONS).record["status"] == "ok"


def test_hang_is_killed_at_the_timeout_and_the_next_pair_runs(registry):
    load_case_file(HOSTILE)
    with Worker(WorkerSetup(packs=(), case_files=(HOSTILE,), timeout_s=3)) as worker:
        hung = worker.evaluate("hostile.hang", "fd.central", OPTIONS)
        assert hung.record["status"] == "timeout"
        assert "--timeout 3 s" in hung.record["message"]
        assert worker.evaluate("hostile.chatty", "fd.central", OPTIONS).record["status"] == "ok"


@pytest.mark.requires("autograd")
def test_prints_in_user_code_do_not_corrupt_the_channel(worker):
    evaluation = worker.evaluate("hostile.chatty", "autograd.jacobian", OPTIONS)
    assert evaluation.record["status"] == "ok"
    np.testing.assert_allclose(evaluation.jacobian[0], np.diag(2 * np.ones(3)))


def test_a_pair_cut_off_by_close_is_no_crash_and_a_closed_worker_starts_no_other(worker):
    # What an interrupted run does: another thread closes the workers while a pair is in flight.
    import threading

    from jacobian_harness.worker import WorkerClosed

    assert worker.evaluate("user.cube", "fd.central", OPTIONS).ok  # the worker is up
    closer = threading.Timer(1.0, worker.close)
    closer.start()
    with pytest.raises(WorkerClosed, match="hostile.hang / fd.central: interrupted"):
        worker.evaluate("hostile.hang", "fd.central", OPTIONS)
    closer.join()
    with pytest.raises(WorkerClosed):
        worker.evaluate("user.cube", "fd.central", OPTIONS)
    assert worker.process is None


@pytest.mark.parametrize("wall, cpu, load, over", [
    (299, 299, 0.0, None),           # inside the timeout
    (310, 310, 0.0, "310 s, 310 s of CPU time"),
    (400, 80, 10.0, None),           # a busy machine (load 5 per CPU) slowed it down: not its fault
    (1600, 80, 10.0, "1600 s waiting"),  # ... but not forever
    (610, 1, 0.0, "610 s waiting"),  # a hang: no CPU time, killed at twice the timeout
    (200, 400, 0.0, None),           # a compiler's own threads used CPU twice as fast as the wall clock ...
])
def test_the_timeout_counts_cpu_time_so_that_a_busy_machine_does_not_turn_a_pair_into_a_timeout(
        monkeypatch, wall, cpu, load, over):
    import jacobian_harness.worker as worker_module

    clock = {"wall": 0.0, "cpu": 0.0}
    monkeypatch.setattr(worker_module.time, "monotonic", lambda: clock["wall"])
    monkeypatch.setattr(worker_module, "_cpu_seconds", lambda pid: clock["cpu"])
    monkeypatch.setattr(worker_module.os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(worker_module.os, "cpu_count", lambda: 2)
    budget = worker_module._Budget(300, pid=1, threads=1)
    clock.update(wall=wall, cpu=cpu)
    reason = budget.over()
    assert reason is None if over is None else over in reason


def test_cpu_time_of_a_process_is_read_from_proc():
    import os
    import time

    from jacobian_harness.worker import _cpu_seconds

    before = _cpu_seconds(os.getpid())
    if before is None:
        pytest.skip("no /proc on this system: the timeout counts wall time only")
    end = time.process_time() + 0.2
    while time.process_time() < end:
        pass
    assert 0.1 <= _cpu_seconds(os.getpid()) - before < 5
