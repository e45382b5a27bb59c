import numpy as np
import pytest

from harness.stats import geometric_mean, rounds_change, speed_change


def test_samples_from_the_same_distribution_are_not_a_change():
    rng = np.random.default_rng(0)
    change = speed_change(rng.lognormal(0, 0.05, 200), rng.lognormal(0, 0.05, 200))
    assert change.verdict == "same" and 0.97 < change.ratio < 1.03


def test_three_samples_a_side_can_never_be_significant():
    # With 3 v 3 the smallest one-sided Mann-Whitney p is 1/20: a quick run's slow pairs stay inconclusive.
    change = speed_change([1.0, 1.01, 1.02], [2.0, 2.01, 2.02])
    assert change.p_slower == pytest.approx(0.05) and change.verdict == "inconclusive"


def test_rounds_find_a_clear_slowdown_and_give_its_interval():
    change = rounds_change([1.0, 1.02, 0.99, 1.01], [1.50, 1.52, 1.49, 1.51])
    assert change.verdict == "slower" and change.low > 1.4 and change.high < 1.6
    assert rounds_change([1.50, 1.52, 1.49, 1.51], [1.0, 1.02, 0.99, 1.01]).verdict == "faster"


def test_rounds_that_vary_between_processes_make_a_difference_inconclusive():
    # A compiled function that is 2x slower in some processes than in others (seen with torch.compile here).
    change = rounds_change([26e-6, 50e-6, 27e-6], [51e-6, 27e-6, 49e-6])
    assert change.verdict == "inconclusive" and change.low < 1 < change.high


def test_identical_rounds_are_exact():
    assert rounds_change([2.0, 2.0], [2.0, 2.0]).verdict == "same"
    assert rounds_change([2.0, 2.0], [3.0, 3.0]).verdict == "slower"


def test_rounds_need_two_a_side():
    with pytest.raises(ValueError, match="at least two rounds"):
        rounds_change([1.0], [1.0, 1.1])


def test_rounds_of_the_same_code_are_rarely_called_a_change():
    # A/A: three processes a side, each 15% off the truth at random (the spread measured here between
    # processes). Per test, a false call is about as rare as alpha (0.01) per direction; `compare` then
    # corrects for the number of tests (harness.changes).
    rng = np.random.default_rng(0)
    calls = [rounds_change(np.exp(rng.normal(0, 0.15, 3)), np.exp(rng.normal(0, 0.15, 3))).verdict
             for _ in range(1000)]
    assert sum(v in ("slower", "faster") for v in calls) <= 20


def test_geometric_mean_skips_missing_values():
    assert geometric_mean([2.0, 8.0, None, float("nan")]) == pytest.approx(4.0)
    assert geometric_mean([]) is None
