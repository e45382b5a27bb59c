import numpy as np
import pytest

from jacobian_harness.stats import (ALPHA, MIN_EFFECT, detectable_by_samples, detectable_by_t, detectable_in_two_stages,
                                    geometric_mean, holm, moderated_changes, paired_test, rounds_test, speed_change,
                                    variance_prior)


# The compositions harness.comparison.speed makes of the building blocks: one test alone, or a family of them.
def rounds_change(base_medians, new_medians, *, min_effect=MIN_EFFECT, alpha=ALPHA):
    return moderated_changes([rounds_test(base_medians, new_medians)], min_effect=min_effect, alpha=alpha)[0]


def rounds_changes(tests, *, min_effect=MIN_EFFECT, alpha=ALPHA):
    return moderated_changes([rounds_test(b, n) for b, n in tests], min_effect=min_effect, alpha=alpha)


def paired_rounds_changes(tests, *, min_effect=MIN_EFFECT, alpha=ALPHA):
    return moderated_changes([paired_test(b, n) for b, n in tests], min_effect=min_effect, alpha=alpha)


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
    # corrects for the number of tests (harness.comparison.speed).
    rng = np.random.default_rng(0)
    calls = [rounds_change(np.exp(rng.normal(0, 0.15, 3)), np.exp(rng.normal(0, 0.15, 3))).verdict
             for _ in range(1000)]
    assert sum(v in ("slower", "faster") for v in calls) <= 20


def test_geometric_mean_skips_missing_values():
    assert geometric_mean([2.0, 8.0, None, float("nan")]) == pytest.approx(4.0)
    assert geometric_mean([]) is None


def _family(rng, tests, rounds=3, sd=0.05):
    return [(np.exp(rng.normal(0, sd, rounds)), np.exp(rng.normal(0, sd, rounds))) for _ in range(tests)]


def test_the_variance_prior_is_recovered_from_a_family():
    # Variances drawn from the prior limma assumes: s0^2 d0 / chi2(d0), then each observed with 4 df.
    rng = np.random.default_rng(1)
    true = 0.01 * 8 / rng.chisquare(8, 4000)
    observed = true * rng.chisquare(4, 4000) / 4
    d0, s0_squared = variance_prior(observed, np.full(4000, 4.0))
    assert 6 < d0 < 11 and 0.008 < s0_squared < 0.012
    assert variance_prior([0.01] * 5, [4.0] * 5) == (0.0, 0.0)  # too few tests to say: nothing lent


def test_three_tight_rounds_in_a_noisy_family_are_not_called_a_change():
    # Rounds of unchanged code vary by 10% between processes; one test's six rounds happen to be tight.
    rng = np.random.default_rng(2)
    family = _family(rng, 200, sd=0.10) + [([1.0, 1.001, 0.999], [1.15, 1.151, 1.149])]
    alone = rounds_change(*family[-1])
    moderated = rounds_changes(family)[-1]
    assert alone.p_slower < 1e-5          # alone, its own tiny variance makes 15% look certain
    assert moderated.p_slower > 1e-3  # a thousand times less sure: no family correction could call it


def test_a_test_noisier_than_its_family_keeps_its_own_variance():
    rng = np.random.default_rng(3)
    noisy = ([26e-6, 50e-6, 27e-6], [51e-6, 49e-6, 50e-6])  # fast in some processes only
    moderated = rounds_changes(_family(rng, 200, sd=0.02) + [noisy])[-1]
    alone = rounds_change(*noisy)
    assert moderated.verdict == "inconclusive" and moderated.p_slower == pytest.approx(alone.p_slower)
    assert (moderated.low, moderated.high) == pytest.approx((alone.low, alone.high))


def test_a_family_finds_a_25_percent_change_among_a_hundred_tests():
    rng = np.random.default_rng(4)
    family = _family(rng, 100, sd=0.03)
    slowed = (family[0][0], family[0][1] * 1.25)
    changes = rounds_changes([slowed] + family[1:])
    adjusted = holm([c.p_slower for c in changes] + [c.p_faster for c in changes])
    assert adjusted[0] < 0.01 and changes[0].verdict == "slower"
    assert all(p > 0.01 for p in adjusted[1:])


def test_side_by_side_rounds_cancel_what_the_machine_did_in_each_round():
    # Each round the machine is up to 2x slower for both sides alike (a job on the other core); NEW is 25%
    # slower. Apart, the rounds cannot tell; paired, the machine cancels.
    rng = np.random.default_rng(5)
    family = []
    for _ in range(100):
        machine = np.exp(rng.uniform(0, 0.7, 3))
        family.append((machine * np.exp(rng.normal(0, 0.03, 3)), machine * np.exp(rng.normal(0, 0.03, 3))))
    family[0] = (family[0][0], family[0][1] * 1.25)
    paired, apart = paired_rounds_changes(family), rounds_changes(family)
    adjusted = holm([c.p_slower for c in paired] + [c.p_faster for c in paired])
    assert paired[0].verdict == "slower" and adjusted[0] < 0.01 and all(p > 0.01 for p in adjusted[1:])
    assert apart[0].verdict == "inconclusive"
    with pytest.raises(ValueError, match="as many rounds"):
        paired_rounds_changes([([1.0, 1.0], [1.0, 1.0, 1.0])])


@pytest.mark.parametrize("family", [1, 50])
def test_the_smallest_callable_change_is_where_the_t_test_starts_calling(family):
    # Holm's first step over the family's 2 x family one-sided p-values, the 95% interval clear of 1, and
    # the minimum effect: just above the threshold all three hold, just below one fails.
    from scipy import stats

    se, df = 0.05, 12.0
    threshold = detectable_by_t(se, df, family, MIN_EFFECT, ALPHA)
    for factor, called in ((1.01, True), (0.99, False)):
        difference = factor * np.log(threshold)
        p_slower = stats.t.sf(difference / se, df)
        clear = difference - stats.t.ppf(0.975, df) * se > 0
        assert bool(p_slower * 2 * family < ALPHA and clear and np.exp(difference) >= 1 + MIN_EFFECT) is called
    assert detectable_by_t(1e-6, df, family, MIN_EFFECT, ALPHA) == pytest.approx(1 + MIN_EFFECT)


def test_a_samples_test_that_cannot_reach_alpha_can_call_no_change():
    assert detectable_by_samples(3, 3, 0.01, MIN_EFFECT, ALPHA) is None  # its smallest p is 1/20
    assert detectable_by_samples(5, 5, 0.01, MIN_EFFECT, ALPHA) == pytest.approx(1 + MIN_EFFECT)
    assert detectable_by_samples(40, 40, 0.3, MIN_EFFECT, ALPHA) == pytest.approx(np.exp(0.3))
    assert speed_change([1.0, 1.1, 0.9], [2.0, 2.1, 1.9]).detectable is None


def test_two_stages_call_what_passes_the_screen_alone_and_holm_over_the_candidates():
    from scipy import stats

    se, df = 0.2, 20.0
    two = detectable_in_two_stages(se, df, (3, 8), 5, 0.05, MIN_EFFECT, ALPHA)
    screen = np.exp(stats.t.ppf(0.95, df) * se)
    confirm = detectable_by_t(se * np.sqrt(3 / 8), df + 5, 5, MIN_EFFECT, ALPHA)
    assert two == pytest.approx(max(screen, confirm))
    # More confirmation rounds see smaller changes, more candidates larger ones; never below the one-stage
    # threshold of a single test, and far below Holm over a thousand pairs in one stage.
    assert detectable_in_two_stages(se, df, (3, 16), 5, 0.05, MIN_EFFECT, ALPHA) < two
    assert detectable_in_two_stages(se, df, (3, 8), 40, 0.05, MIN_EFFECT, ALPHA) > two
    assert two < detectable_by_t(se, df, 1000, MIN_EFFECT, ALPHA)


def test_a_second_stage_borrows_the_prior_of_the_first():
    rng = np.random.default_rng(3)
    screen = [paired_test(np.exp(rng.normal(0, 0.1, 4)), np.exp(rng.normal(0, 0.1, 4))) for _ in range(200)]
    prior = variance_prior([t[1] for t in screen], [t[2] for t in screen])
    assert prior[1] == pytest.approx(0.02, rel=0.3)  # the variance of a difference of two log sd 0.1 rounds
    # One candidate of three rounds, as noisy as the screen's pairs: alone it has 2 degrees of freedom (a t
    # quantile of 4.3); with the screen's prior it has many more, and a narrower interval.
    few = [paired_test([1.0, 1.0, 1.0], np.exp([0.55, 0.8, 0.7]))]
    alone, borrowed = moderated_changes(few)[0], moderated_changes(few, prior=prior)[0]
    assert alone.ratio == borrowed.ratio and borrowed.high / borrowed.low < 0.8 * (alone.high / alone.low)
