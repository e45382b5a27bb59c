import time

from harness.timing import ONCE, Timing, TimingPolicy, measure


def test_preparation_and_first_call_are_timed_apart_from_samples():
    calls = []

    def prepare():
        time.sleep(0.02)
        return lambda: calls.append(1) or len(calls)

    first, timing = measure(prepare, lambda r: None, TimingPolicy(budget_s=0.0, min_repeats=4, warmup=1,
                                                                  min_sample_s=0.0))
    assert first == 1
    assert timing.prepare_s >= 0.02
    assert len(timing.samples_s) == 4
    assert max(timing.samples_s) < 0.02


def test_sampling_continues_until_budget_and_keeps_every_sample():
    _, timing = measure(lambda: (lambda: time.sleep(0.002)), lambda r: None,
                        TimingPolicy(budget_s=0.03, min_repeats=2, warmup=0))
    assert len(timing.samples_s) >= 10
    assert timing.median_s >= 0.002
    record = timing.as_record()
    assert record["repeats"] == len(record["samples_s"])


def test_fast_calls_are_grouped_into_blocks():
    _, timing = measure(lambda: (lambda: None), lambda r: None, TimingPolicy(budget_s=0.0, min_repeats=3))
    assert timing.number > 1
    assert timing.median_s < 1e-5


def test_sync_runs_inside_the_clock():
    _, timing = measure(lambda: (lambda: 0), lambda r: time.sleep(0.003),
                        TimingPolicy(budget_s=0.0, min_repeats=3, warmup=0))
    assert timing.median_s >= 0.003


def test_once_policy_takes_no_samples():
    _, timing = measure(lambda: (lambda: 0), lambda r: None, ONCE)
    assert timing.samples_s == [] and timing.median_s is None and timing.iqr_s is None


def test_iqr():
    assert Timing(samples_s=[1.0, 2.0, 3.0, 4.0, 5.0]).iqr_s == 2.0
