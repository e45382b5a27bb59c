"""Is NEW slower than BASE? Ratio of medians with a bootstrap interval, and a rank test on the raw samples.

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
    return SpeedChange(ratio, low, high, p_slower, p_faster,
                       judge(ratio, low, high, p_slower, p_faster, min_effect, alpha))


def rounds_change(base_medians, new_medians, *, min_effect: float = MIN_EFFECT, alpha: float = ALPHA) -> SpeedChange:
    """Compare per-round medians, each round from a fresh process: the process, not the sample, is the unit.
    Welch's t-test on the logs (ratios are multiplicative; the two sides' spreads may differ), one-sided
    for each direction; the ratio is that of the geometric means, with a 95% Welch interval."""
    from scipy import stats

    a, b = np.log(np.asarray(base_medians, float)), np.log(np.asarray(new_medians, float))
    if a.size < 2 or b.size < 2:
        raise ValueError("rounds_change needs at least two rounds on each side")
    difference = float(b.mean() - a.mean())
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = float(np.sqrt(va + vb))
    if se == 0.0:  # identical rounds on both sides: the difference is exact, or there is none
        low = high = difference
        p_slower, p_faster = (0.0, 1.0) if difference > 0 else (1.0, 0.0) if difference < 0 else (1.0, 1.0)
    else:
        df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
        t = difference / se
        p_slower, p_faster = float(stats.t.sf(t, df)), float(stats.t.cdf(t, df))
        half = float(stats.t.ppf(0.975, df)) * se
        low, high = difference - half, difference + half
    ratio, low, high = float(np.exp(difference)), float(np.exp(low)), float(np.exp(high))
    return SpeedChange(ratio, low, high, p_slower, p_faster, judge(ratio, low, high, p_slower, p_faster,
                                                                     min_effect, alpha))


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
