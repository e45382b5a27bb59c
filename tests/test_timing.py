import time

from jacobian_harness.timing import ONCE, Timing, TimingPolicy, measure


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
    # The stopping rule itself, exactly: sampling went on until the samples had spent the budget, and not one
    # sample beyond. (A count such as ">= 10" depends on how long a 2 ms sleep takes on a loaded machine.)
    # Samples are kept to four significant digits: the sums carry that rounding (below 0.1%).
    spent = sum(timing.samples_s) * timing.number
    assert spent >= 0.03 * (1 - 1e-3) and spent - timing.samples_s[-1] * timing.number < 0.03 * (1 + 1e-3)
    assert len(timing.samples_s) >= 2 and timing.median_s >= 0.002
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
