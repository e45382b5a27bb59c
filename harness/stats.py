"""Is NEW slower than BASE? Per-round medians tested as a family (`moderated_changes`), or, for single runs, the
ratio of medians with a bootstrap interval and a rank test on the raw samples (`speed_change`).

A speed change is called only when it passes both a minimum effect (default 10%) and a one-sided
Mann-Whitney U test at `alpha`: timing samples are skewed and heavy-tailed (a few preempted calls),
so a rank test, which assumes neither normality nor equal variances of the two sides' shapes, is the
honest choice over a t-test; the minimum effect keeps a tiny but consistent difference from being
called a regression. A change is `inconclusive` when the 95% interval of the ratio is too wide to say
either way, e.g. with the 3 samples of a quick run (where no p-value can fall below 0.05).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

MIN_EFFECT = 0.10
ALPHA = 0.01
RESAMPLES = 1000


@dataclass(frozen=True)
class SpeedChange:
    ratio: float        # median(new) / median(base), new samples divided by `scale` first
    low: float          # 95% bootstrap interval of the ratio
    high: float
    p_slower: float     # one-sided Mann-Whitney U p-values
    p_faster: float
    verdict: str        # "slower", "faster", "same" or "inconclusive"
    # The smallest slowdown (NEW/BASE; its inverse for a speed-up) this test would have called at its noise,
    # were it the only change of its family; None: no change could be called (too few samples to reach alpha).
    detectable: float | None = None

    def as_record(self) -> dict:
        return {k: float(v) if isinstance(v, (float, np.floating)) else v for k, v in asdict(self).items()}


def speed_change(base, new, *, scale: float = 1.0, min_effect: float = MIN_EFFECT, alpha: float = ALPHA,
                 resamples: int = RESAMPLES, seed: int = 0) -> SpeedChange:
    """Compare two lists of per-call times. `scale` (> 0) divides NEW, e.g. the ratio of the two runs'
    calibration times, so that a machine that was slower as a whole is not read as a slower library."""
    from scipy.stats import mannwhitneyu

    a = np.asarray(base, dtype=np.float64)
    b = np.asarray(new, dtype=np.float64) / scale
    if a.size == 0 or b.size == 0:
        raise ValueError("speed_change needs at least one sample on each side")
    ratio = float(np.median(b) / np.median(a))
    rng = np.random.default_rng(seed)
    ratios = (np.median(b[rng.integers(0, b.size, (resamples, b.size))], axis=1)
              / np.median(a[rng.integers(0, a.size, (resamples, a.size))], axis=1))
    low, high = (float(q) for q in np.percentile(ratios, [2.5, 97.5]))
    p_slower = float(mannwhitneyu(b, a, alternative="greater").pvalue)
    p_faster = float(mannwhitneyu(b, a, alternative="less").pvalue)
    half = (np.log(high) - np.log(low)) / 2 if low > 0 else float("inf")
    return SpeedChange(ratio, low, high, p_slower, p_faster,
                       judge(ratio, low, high, p_slower, p_faster, min_effect, alpha),
                       detectable_by_samples(a.size, b.size, half, min_effect, alpha))


def smallest_called(half: float, min_effect: float) -> float:
    """The smallest change a test calls whose interval has half-width `half` (log): its interval must clear 1,
    and the change must reach the minimum effect."""
    return float(max(1.0 + min_effect, np.exp(half)))


def detectable_by_samples(n_base: int, n_new: int, half: float, min_effect: float, alpha: float) -> float | None:
    """The smallest change a samples test calls: its interval's half-width `half` (log), at least the minimum
    effect; None where the rank test cannot reach alpha at all (its smallest one-sided p-value, all of NEW
    above all of BASE, is 1 / C(n + m, n): 0.05 with 3 samples a side)."""
    from math import comb

    if 1 / comb(n_base + n_new, n_base) >= alpha or not np.isfinite(half):
        return None
    return smallest_called(half, min_effect)


def detectable_by_t(se: float, df: float, family: int, min_effect: float, alpha: float) -> float:
    """The smallest change a t-test of a log difference with standard error `se` and `df` degrees of freedom
    calls as the first step of Holm over `family` tests in both directions (p < alpha / (2 family)), with its
    95% interval clear of 1 and at least the minimum effect."""
    from scipy import stats

    quantile = max(float(stats.t.ppf(1 - alpha / (2 * family), df)), float(stats.t.ppf(0.975, df)))
    return smallest_called(quantile * se, min_effect)


def detectable_in_two_stages(se: float, df: float, rounds: tuple[int, int], candidates: int, screen_p: float,
                             min_effect: float, alpha: float) -> float:
    """The smallest change two stages call (harness.comparison.confirm): it must pass the screen, a one-sided
    test at `screen_p` alone (standard error `se`, `df` degrees of freedom, rounds[0] rounds a side), and then
    the confirmation: the same measurement in rounds[1] rounds a side (its standard error shrinks by
    sqrt(rounds[0] / rounds[1])), as the first step of Holm over the `candidates`."""
    from scipy import stats

    screen = smallest_called(float(stats.t.ppf(1 - screen_p, df)) * se, min_effect)
    more = rounds[1] / rounds[0]
    return max(screen, detectable_by_t(se / np.sqrt(more), df + rounds[1] - rounds[0], max(1, candidates),
                                       min_effect, alpha))


# A test, as `moderated_changes` takes it: (difference of mean logs, own variance, its degrees of freedom,
# SE factor), where SE^2 = variance x factor.
Test = tuple[float, float, float, float]


def rounds_test(base_medians, new_medians) -> Test:
    """Per-round medians of two sides, each round from a fresh process (the process, not the sample, is the
    unit), at least two a side: their logs (ratios are multiplicative) compared as two samples."""
    a, b = np.log(np.asarray(base_medians, float)), np.log(np.asarray(new_medians, float))
    if a.size < 2 or b.size < 2:
        raise ValueError("rounds_test needs at least two rounds on each side")
    df = a.size + b.size - 2
    return (float(b.mean() - a.mean()), float((((a - a.mean()) ** 2).sum() + ((b - b.mean()) ** 2).sum()) / df),
            df, 1 / a.size + 1 / b.size)


def paired_test(base_medians, new_medians) -> Test:
    """Rounds run side by side (`ab`: in round r, each pair ran on BASE's worker and on NEW's back to back):
    the per-round log ratios log(new_r / base_r), so that whatever the machine did during round r (another
    job on the other core) cancels."""
    if len(base_medians) != len(new_medians):
        raise ValueError("paired rounds need as many rounds on each side")
    return log_ratio_test(np.log(np.asarray(new_medians, float)) - np.log(np.asarray(base_medians, float)))


def log_ratio_test(log_ratios) -> Test:
    """Per-round log ratios given directly (e.g. a case's: the mean over its pairs, round by round)."""
    d = np.asarray(log_ratios, float)
    if d.size < 2:
        raise ValueError("paired rounds need at least two rounds")
    return float(d.mean()), float(d.var(ddof=1)), d.size - 1, 1 / d.size


# The prior of a family's variances (`variance_prior`): (d0, s0^2).
Prior = tuple[float, float]


def moderated_changes(tests: list[Test], *, min_effect: float = MIN_EFFECT, alpha: float = ALPHA,
                      prior: Prior | None = None) -> list[SpeedChange]:
    """A family of tests (every pair of a comparison, or every case), each a t-test of a log difference,
    ratio exp(difference) with a 95% interval; see `_moderated_t`. `prior`: the variances' prior fitted on
    another family of the same measurement (a second stage's few tests borrow the first stage's), instead of
    on these tests."""
    return _moderated_t(tests, min_effect, alpha, prior) if tests else []


def _moderated_t(tests: list[Test], min_effect: float, alpha: float, prior: Prior | None) -> list[SpeedChange]:
    """t-tests of log differences, with each variance moderated towards the family's (Smyth's empirical
    Bayes t, as in limma).
    With three rounds a side a test has 2 to 4 degrees of freedom alone, so its own variance is a poor
    estimate (three rounds can look precise by chance) and its t-quantiles are wide; the family of a
    hundred cases or a thousand pairs tells how variances are spread, and lends each test the degrees of
    freedom of that prior. A test whose variance the prior cannot explain (a compiled function that is
    fast in some processes only) is tested on its own, as if alone."""
    from scipy import stats

    differences, own, df_own, factors = (np.array(column, float) for column in zip(*tests, strict=True))
    variances, df = moderate(own, df_own, variance_prior(own, df_own) if prior is None else prior)
    changes = []
    for difference, variance, dof, factor in zip(differences, variances, df, factors, strict=True):
        difference, se = float(difference), float(np.sqrt(variance * factor))
        if se == 0.0:  # identical rounds on both sides: the difference is exact, or there is none
            low = high = difference
            p_slower, p_faster = (0.0, 1.0) if difference > 0 else (1.0, 0.0) if difference < 0 else (1.0, 1.0)
        else:
            t = difference / se
            p_slower, p_faster = float(stats.t.sf(t, dof)), float(stats.t.cdf(t, dof))
            half = float(stats.t.ppf(0.975, dof)) * se
            low, high = difference - half, difference + half
        ratio, low, high = float(np.exp(difference)), float(np.exp(low)), float(np.exp(high))
        changes.append(SpeedChange(ratio, low, high, p_slower, p_faster,
                                   judge(ratio, low, high, p_slower, p_faster, min_effect, alpha),
                                   detectable_by_t(se, float(dof), len(tests), min_effect, alpha)))
    return changes


def moderate(own, df_own, prior: Prior) -> tuple[np.ndarray, np.ndarray]:
    """Each test's variance and degrees of freedom, moderated towards the prior: (d0 s0^2 + d s^2) / (d0 + d)
    on d0 + d degrees of freedom. A test far noisier than the prior can explain (its variance over the
    prior's beyond the 99.9% point of F(own df, d0)) is an outlier, not a draw from it: it keeps its own
    variance and degrees of freedom."""
    from scipy import stats

    own, df_own = np.asarray(own, float), np.asarray(df_own, float)
    prior_df, prior_variance = prior
    if np.isinf(prior_df):
        moderated, df = np.full_like(own, prior_variance), np.full_like(own, np.inf)
    else:
        moderated = (prior_df * prior_variance + df_own * own) / (prior_df + df_own)
        df = prior_df + df_own
    if prior_variance > 0 and np.isfinite(prior_df) and prior_df > 0:
        outlier = own / prior_variance > stats.f.ppf(1 - OUTLIER_P, df_own, prior_df)
    elif prior_variance > 0:
        outlier = own / prior_variance > stats.chi2.ppf(1 - OUTLIER_P, df_own) / df_own
    else:
        outlier = np.ones(own.shape, bool)
    return np.where(outlier, own, moderated), np.where(outlier, df_own, df)


OUTLIER_P = 0.001     # a variance beyond this upper quantile of the prior's F distribution is an outlier
PRIOR_MIN_TESTS = 10  # fewer tests than this tell too little about how variances are spread: no moderation


def variance_prior(variances, dfs) -> tuple[float, float]:
    """(d0, s0^2) of the scaled inverse chi-square prior of the tests' variances, fitted by moments of the
    log variances (Smyth 2004, limma's fitFDist): d0 = 0 lends nothing, d0 = inf means every test has one
    common variance. Tests with a zero variance (rounds identical to the recorded digits) are left out."""
    from scipy.optimize import brentq
    from scipy.special import digamma, polygamma

    variances, dfs = np.asarray(variances, float), np.asarray(dfs, float)
    keep = variances > 0
    if keep.sum() < PRIOR_MIN_TESTS:
        return 0.0, 0.0
    v, d = variances[keep], dfs[keep]
    e = np.log(v) - digamma(d / 2) + np.log(d / 2)
    spread = float(e.var(ddof=1) - polygamma(1, d / 2).mean())
    if spread <= 1e-8:
        return float("inf"), float(np.exp(e.mean()))
    half = brentq(lambda x: float(polygamma(1, x)) - spread, 1e-8, 1e8)
    d0 = 2 * half
    return d0, float(np.exp(e.mean() + digamma(half) - np.log(half)))


def holm(pvalues) -> list[float]:
    """Holm's step-down adjustment: reject where the adjusted p < alpha and the chance of any false call
    among all these tests stays below alpha, whatever their dependence."""
    p = np.asarray(pvalues, dtype=np.float64)
    order = np.argsort(p)
    steps = (p.size - np.arange(p.size)) * p[order]
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(steps))
    return adjusted.tolist()


def judge(ratio, low, high, p_slower, p_faster, min_effect, alpha) -> str:
    """The verdict rule of every speed test here: a change needs the minimum effect, its one-sided test
    and an interval that excludes 1; "same" needs the interval inside the minimum effect."""
    bound = 1.0 + min_effect
    if ratio >= bound and p_slower < alpha and low > 1.0:
        return "slower"
    if ratio <= 1.0 / bound and p_faster < alpha and high < 1.0:
        return "faster"
    if 1.0 / bound < low and high < bound:
        return "same"
    return "inconclusive"


def geometric_mean(values) -> float | None:
    values = [v for v in values if v and v > 0 and np.isfinite(v)]
    return float(np.exp(np.mean(np.log(values)))) if values else None
