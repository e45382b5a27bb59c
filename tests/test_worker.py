import numpy as np
import pytest

from harness.casedef import load_case_file
from harness.evaluate import Options, evaluate
from harness.timing import QUICK
from harness.worker import Worker, WorkerSetup
from tests.test_cli import DATA

HOSTILE = str(DATA / "hostile.py")
GOOD = str(DATA / "good.py")
OPTIONS = Options(timing=QUICK)


@pytest.fixture
def worker(registry):
    load_case_file(HOSTILE)
    load_case_file(GOOD)
    with Worker(WorkerSetup(builtin=False, case_files=(HOSTILE, GOOD), timeout_s=20)) as w:
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
    with Worker(WorkerSetup(builtin=False, case_files=(HOSTILE,), timeout_s=3)) as worker:
        hung = worker.evaluate("hostile.hang", "fd.central", OPTIONS)
        assert hung.record["status"] == "timeout"
        assert "--timeout 3 s" in hung.record["message"]
        assert worker.evaluate("hostile.chatty", "fd.central", OPTIONS).record["status"] == "ok"


def test_prints_in_user_code_do_not_corrupt_the_channel(worker):
    evaluation = worker.evaluate("hostile.chatty", "autograd.jacobian", OPTIONS)
    assert evaluation.record["status"] == "ok"
    np.testing.assert_allclose(evaluation.jacobian[0], np.diag(2 * np.ones(3)))


def test_a_pair_cut_off_by_close_is_no_crash_and_a_closed_worker_starts_no_other(worker):
    # What an interrupted run does: another thread closes the workers while a pair is in flight.
    import threading

    from harness.worker import WorkerClosed

    assert worker.evaluate("user.cube", "fd.central", OPTIONS).ok  # the worker is up
    closer = threading.Timer(1.0, worker.close)
    closer.start()
    with pytest.raises(WorkerClosed, match="hostile.hang / fd.central: interrupted"):
        worker.evaluate("hostile.hang", "fd.central", OPTIONS)
    closer.join()
    with pytest.raises(WorkerClosed):
        worker.evaluate("user.cube", "fd.central", OPTIONS)
    assert worker.process is None
