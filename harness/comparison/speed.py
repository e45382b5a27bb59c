"""Speed between two runs: a verdict per pair, per case and per library method (harness.stats is the
statistics toolbox these compose).

On the process CPU clock where both runs recorded it (a process descheduled by other jobs on a shared
machine does not accumulate CPU time; wall-clock samples are divided by a calibration ratio):
- with rounds (`run --rounds R`, `ab`): each round ran in fresh processes, so the per-round medians are
  independent measurements of the pair, process-to-process variation included (measured here: a
  compiled Jacobian that takes 26 us in one process and 50 us in the next). A t-test on their logs with
  each pair's variance moderated towards that of all pairs (harness.stats.moderated_changes: three rounds a
  side alone give 4 degrees of freedom), Holm-adjusted over all pairs (and, apart, all cases), so that a
  comparison of a thousand unchanged pairs calls none of them changed with probability 1 - alpha;
- without rounds: a rank test on the raw samples, with the interval widened by the spread of log(NEW/BASE)
  over the whole suite (`noise_floor`). Samples from one process cannot show process-to-process
  variation, so these verdicts are indicative only;
- per case: all of a case's library pairs together (`case_speeds`), which finds a change of the library
  that slows a whole case even where each pair alone is too noisy to call;
- per method: all of a library method's pairs over every case together (`method_speeds`), which finds a
  change of one method everywhere (2.15.0's torch.compile'd Jacobians), one pair of a dozen in each case.
Pairs of other frameworks (same version on both sides) are controls: shown, never failing the comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable, Sequence
from typing import cast

import numpy as np

from jacobian_harness.comparison.document import (CaseSpeed, FamilySpeed, MethodSpeed, Pair, PairSpeed, Settings,
                                                  SpeedVerdict)
from jacobian_harness.records import PairKey, pair_key
from jacobian_harness.stats import (Test, holm, judge, log_ratio_test, moderated_changes, paired_test, rounds_test,
                                    smallest_called, speed_change)

CLOCK_FIELDS = {"wall": "samples_s", "cpu": "cpu_samples_s"}
ROUND_FIELDS = {"wall": "round_medians_s", "cpu": "round_cpu_medians_s"}
NOISE_MIN_PAIRS = 20   # a decade with fewer pairs borrows the spread of all pairs
NOISE_Z = 3.0          # the run-to-run noise enters the interval at this many standard deviations
TEST_DESCRIPTION = (
    "pairs timed in rounds of fresh processes (run --rounds, ab): t-test on the log round medians with "
    "variances moderated across all pairs (empirical Bayes, Smyth 2004), Holm-adjusted; "
    "otherwise one-sided Mann-Whitney U on the raw samples with a 95% bootstrap interval of the ratio of "
    "medians, widened by the suite's run-to-run noise. Wall-clock samples are first divided by the case's "
    "calibration ratio. Cases and methods: the library's pairs of a case (of a method, over all cases) "
    "together, by the same two routes.")
CASE_TRIM = 0.25    # cut from each end of a case's pairs' log ratios before the mean, each round
CASE_MIN_PAIRS = 2  # a case with fewer timed library pairs gets no case verdict (its pair has one)
CASE_Z = 4.0        # without rounds: a case's shift must exceed this many robust sd of all cases' shifts


@dataclass(frozen=True)
class Clock:
    """Which samples are tested, and how much slower the machine was for NEW (divides NEW's times)."""
    name: str                   # "cpu" or "wall"
    run_scale: float            # NEW / BASE calibration time over the whole run (1.0 on the CPU clock)
    scales: dict[str, float]    # per case, NEW / BASE calibration time just before it


@dataclass(frozen=True)
class SpeedVerdicts:
    """A comparison's speed verdicts beyond those each pair carries."""
    noise_floor: dict[int, float]   # per decade of BASE time, the run-to-run noise (log sd)
    cases: list[CaseSpeed]
    methods: list[MethodSpeed]
    families: list[FamilySpeed]     # per family, and per family and method (rounds only)
    screen_tests: dict[PairKey, Test]  # the test of each library pair judged on rounds (a second stage's screen)


def calibration_s(document: dict) -> float | None:
    samples = [s for case in document.get("cases", {}).values() for s in case.get("calibration_s") or []]
    return float(np.median(samples)) if samples else None


def _rounds(record: dict, clock: str) -> list[float] | None:
    """Per-round medians of a `run --rounds` record (each round a fresh process), if it has two or more."""
    timing = record.get("time")
    medians = timing.get(ROUND_FIELDS[clock]) if isinstance(timing, dict) else None
    if not medians or len(medians) < 2 or not all(isinstance(m, (int, float)) and m > 0 for m in medians):
        return None
    return medians


def _samples(record: dict, clock: str = "wall") -> list[float] | None:
    timing = record.get("time")
    samples = timing.get(CLOCK_FIELDS[clock]) if isinstance(timing, dict) else None
    if not samples or not all(isinstance(s, (int, float)) and s > 0 for s in samples):
        return None
    return samples


def choose_clock(wanted: str, base: dict, new: dict, base_cal: float | None, new_cal: float | None) -> Clock:
    """The CPU clock where asked for and both runs recorded it for every timed pair (older results did not);
    on the wall clock, the machine's speed from the calibration times (the calibration workload is timed on
    the wall clock: it corrects wall samples only)."""
    timed = [r for document in (base, new) for r in document["results"] if _samples(r)]
    name = "cpu" if wanted == "cpu" and timed and all(_samples(r, "cpu") for r in timed) else "wall"
    run_scale = new_cal / base_cal if name == "wall" and base_cal and new_cal else 1.0
    scales = _case_scales(base, new, run_scale) if name == "wall" else dict.fromkeys(
        set(base.get("cases", {})) & set(new.get("cases", {})), 1.0)
    return Clock(name, run_scale, scales)


def _case_scales(base: dict, new: dict, run_scale: float) -> dict[str, float]:
    """Per case, NEW/BASE of the calibration times taken just before it: the machine's speed at that moment.
    A case without calibration samples on either side takes the run-level ratio."""
    scales = {}
    for case_id in set(base.get("cases", {})) & set(new.get("cases", {})):
        b = base["cases"][case_id].get("calibration_s") or []
        n = new["cases"][case_id].get("calibration_s") or []
        scales[case_id] = float(np.median(n) / np.median(b)) if b and n else run_scale
    return scales


def side_by_side(base: dict, new: dict) -> bool:
    """Both runs are the two sides of one `ab`: round r of each pair ran on both sides back to back."""
    run = base.get("options", {}).get("ab_id")
    return bool(run) and run == new.get("options", {}).get("ab_id")


def judge_speeds(pairs: list[Pair], base_records: dict, new_records: dict, clock: Clock, settings: Settings,
                 paired: bool, families_of: dict[str, str] | None = None) -> SpeedVerdicts:
    """Every pair timed on both sides gets its speed verdict (pair["speed"]); the cases', the methods' and the
    operator families' (`families_of`: case -> family)."""
    rounds_tests, screen_tests = [], {}
    for pair in pairs:
        b, n = base_records[pair_key(pair)], new_records[pair_key(pair)]
        base_samples, new_samples = _samples(b, clock.name), _samples(n, clock.name)
        base_rounds, new_rounds = _rounds(b, clock.name), _rounds(n, clock.name)
        scale = clock.scales.get(pair["case"], clock.run_scale)
        if base_rounds and new_rounds:
            pair["speed"] = PairSpeed(test="rounds", rounds=[len(base_rounds), len(new_rounds)])
            rounds_tests.append((pair, base_rounds, [m / scale for m in new_rounds]))
        elif base_samples and new_samples:
            pair["speed"] = cast(PairSpeed, {**speed_change(
                base_samples, new_samples, scale=scale, min_effect=settings.min_effect,
                alpha=settings.alpha).as_record(), "test": "samples"})
    for control in (False, True):  # the library's pairs and the controls: two families, two priors
        family = [t for t in rounds_tests if t[0]["control"] is control]
        tests = [paired_test(b, n) if paired and len(b) == len(n) else rounds_test(b, n) for _, b, n in family]
        changes = moderated_changes(tests, min_effect=settings.min_effect, alpha=settings.alpha)
        if not control:
            screen_tests = {pair_key(pair): test for (pair, _, _), test in zip(family, tests, strict=True)}
        for (pair, b, n), change in zip(family, changes, strict=True):
            pair["speed"] = cast(PairSpeed, {**change.as_record(), **(pair["speed"] or {}),
                                             "paired": paired and len(b) == len(n)})
    timed = [p for p in pairs if p["speed"]]
    floor = noise_floor(timed, base_records)
    for pair in timed:
        if (speed := pair["speed"]) and speed["test"] == "samples":  # rounds already carry the run-to-run noise
            sigma = floor[_decade(base_records[pair_key(pair)])]
            pair["speed"] = _widen(speed, sigma, settings.min_effect, settings.alpha)
    correct_for_many([s for p in timed if not p["control"] and (s := p["speed"]) and s["test"] == "rounds"],
                     settings)
    cases = case_speeds(timed, base_records, new_records, clock, settings, paired)
    correct_for_many([c for c in cases if c["test"] == "rounds"], settings)
    methods = method_speeds(timed, base_records, new_records, clock, settings, paired)
    correct_for_many([m for m in methods if m["test"] == "rounds"], settings)
    families = [f for f in family_speeds(timed, families_of or {}, (base_records, new_records), clock, settings,
                                         paired) if f["test"] == "rounds"]
    correct_for_many(families, settings)
    return SpeedVerdicts(floor, cases, methods, families, screen_tests)


def noise_floor(pairs: list[Pair], base_records: dict) -> dict[int, float]:
    """Run-to-run noise the within-run samples cannot show, learned from the suite itself: per decade of
    BASE median time, the robust spread (1.4826 x MAD) of log(NEW/BASE) over all pairs. Most pairs do not
    change between two runs, so this is the spread of unchanged ones; a real change of one pair hardly
    moves it, and a change of all pairs shifts the centre, not the spread."""
    by_decade: dict[int, list[float]] = {}
    for pair in pairs:
        decade = _decade(base_records[pair_key(pair)])
        by_decade.setdefault(decade, []).append(np.log(_speed(pair)["ratio"]))
    everything = np.concatenate([np.asarray(v) for v in by_decade.values()]) if by_decade else np.zeros(0)
    overall = _robust_sigma(everything) if everything.size else 0.0
    return {decade: _robust_sigma(np.asarray(v)) if len(v) >= NOISE_MIN_PAIRS else overall
            for decade, v in by_decade.items()}


def _robust_sigma(values: np.ndarray) -> float:
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def _decade(record: dict) -> int:
    return int(np.floor(np.log10(record["time"]["median_s"])))


def _speed(pair: Pair) -> PairSpeed:
    """The speed verdict of a pair known to be timed."""
    return cast(PairSpeed, pair["speed"])


def _widen(speed: PairSpeed, sigma: float, min_effect: float, alpha: float) -> PairSpeed:
    """The speed verdict again, with the interval widened by the run-to-run noise (in log space)."""
    ratio, within_low, within_high = speed["ratio"], cast(float, speed["low"]), cast(float, speed["high"])
    within = (np.log(within_high) - np.log(within_low)) / 2
    half = float(np.hypot(within, NOISE_Z * sigma))
    low, high = float(np.exp(np.log(ratio) - half)), float(np.exp(np.log(ratio) + half))
    verdict = judge(ratio, low, high, speed["p_slower"], speed["p_faster"], min_effect, alpha)
    detectable = None if speed.get("detectable") is None else smallest_called(half, min_effect)
    return cast(PairSpeed, {**speed, "within_low": within_low, "within_high": within_high, "low": low,
                            "high": high, "run_noise_sigma": sigma, "verdict": verdict, "detectable": detectable})


def correct_for_many(changes: Sequence[SpeedVerdict], settings: Settings) -> None:
    """Holm-adjust the p-values of these tests (both directions of each) and judge again: a comparison
    tests a thousand pairs, and at alpha each, ten unchanged ones would be called slower or faster."""
    if not changes:
        return
    adjusted = holm([c["p_slower"] for c in changes] + [c["p_faster"] for c in changes])
    for k, change in enumerate(changes):
        change["p_slower_adjusted"], change["p_faster_adjusted"] = adjusted[k], adjusted[len(changes) + k]
        change["verdict"] = judge(change["ratio"], change["low"], change["high"], adjusted[k],
                                  adjusted[len(changes) + k], settings.min_effect, settings.alpha)


def _round_scores(base: np.ndarray, new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per round, how fast the case's pairs ran relative to their own typical time: each pair (row, log
    round medians) centred on its mean over both sides, then the median over pairs. The median keeps one
    pair's odd round (a process that drew slow code) from moving the whole case."""
    centre = np.concatenate([base, new], axis=1).mean(axis=1, keepdims=True)
    return np.exp(np.median(base - centre, axis=0)), np.exp(np.median(new - centre, axis=0))


def case_speeds(timed: list[Pair], base_records: dict, new_records: dict, clock: Clock, settings: Settings,
                paired: bool = False) -> list[CaseSpeed]:
    """A speed verdict per case over its library pairs together: a change of the library that slows a whole
    case shows here even when each pair alone is too noisy to call. See `group_speeds`."""
    return cast(list[CaseSpeed], group_speeds(lambda p: {"case": p["case"]}, timed, base_records, new_records, clock,
                                              settings, paired))


def method_speeds(timed: list[Pair], base_records: dict, new_records: dict, clock: Clock, settings: Settings,
                  paired: bool = False) -> list[MethodSpeed]:
    """A speed verdict per library method over all its pairs (every case it ran): a change of one method
    everywhere (torch.compile's call overhead) shows here, while each of its pairs alone is too noisy to
    call and within a case it is one pair among a dozen, which the case's trimmed mean may cut. See
    `group_speeds`."""
    return cast(list[MethodSpeed], group_speeds(lambda p: {"method": p["method"]}, timed, base_records, new_records,
                                                clock, settings, paired, judge_spread=False))


def family_speeds(timed: list[Pair], families: dict[str, str], records: tuple[dict, dict], clock: Clock,
                  settings: Settings, paired: bool = False) -> list[FamilySpeed]:
    """A speed verdict per operator family (harness.families: the cases of det, slogdet, ...) over its library
    pairs, and per family and method: a change of some operators' derivative rules (2.15.0's det-family
    forward rules, x2.9 in one second-order composition of slogdet, x1.3 in det's) shows here as one change of
    the family, where each case has a dozen unchanged pairs and each method a hundred unchanged cases. Rounds
    only: single runs cannot judge a group that small (`_by_spread`)."""
    def whole(pair: Pair) -> dict | None:
        return {"family": families[pair["case"]]} if families.get(pair["case"]) else None

    def by_method(pair: Pair) -> dict | None:
        return {"family": families[pair["case"]], "method": pair["method"]} if families.get(pair["case"]) else None

    return cast(list[FamilySpeed], [g for group_of in (whole, by_method)
                                    for g in group_speeds(group_of, timed, *records, clock, settings, paired,
                                                          judge_spread=False)])


def _group_keys(members: list[Pair], base_records: dict, new_records: dict, clock: str) -> list[PairKey]:
    """The pairs a group's verdict stands on. A pair timed in one process only (of a backend that `ab` did
    not time in rounds) leaves the group's verdict to its pairs timed in rounds, rather than demoting the
    whole group to single-run evidence."""
    keys = [pair_key(p) for p in members]
    in_rounds = [k for k in keys if _rounds(base_records[k], clock) and _rounds(new_records[k], clock)]
    return in_rounds if len(in_rounds) >= CASE_MIN_PAIRS else keys


def group_speeds(group_of: Callable[[Pair], dict | None], timed: list[Pair], base_records: dict,
                 new_records: dict, clock: Clock, settings: Settings, paired: bool = False,
                 judge_spread: bool = True) -> list[dict]:
    """One speed verdict per group of library pairs (group_of(pair): the fields that name its group, a case, a
    method; None: in none) over the group's pairs together.
    With rounds, each round's score is the median over the group's pairs of their centred log medians
    (`_round_scores`), tested like a pair's rounds; for the two sides of one `ab` (`paired`), each round's
    score is the interquartile mean over the pairs of log(new / base), tested like a pair's paired rounds;
    without rounds, the group's median log ratio is judged against the spread of all groups' (`_by_spread`).
    Variances are moderated across the groups of the family, and p-values Holm-adjusted by the caller."""
    from scipy.stats import trim_mean

    groups: dict[tuple, list[Pair]] = {}
    for pair in timed:
        if not pair["control"] and (names := group_of(pair)) is not None:
            groups.setdefault(tuple(names.items()), []).append(pair)
    results, scores = [], []
    for group, members in groups.items():
        if len(members) < CASE_MIN_PAIRS:
            continue
        keys = _group_keys(members, base_records, new_records, clock.name)
        base_rounds = [_rounds(base_records[k], clock.name) for k in keys]
        new_rounds = [_rounds(new_records[k], clock.name) for k in keys]
        entry = {**dict(group), "pairs": len(keys)}
        if _as_many_rounds(base_rounds) and _as_many_rounds(new_rounds):
            scale = np.asarray([[clock.scales.get(k[0], 1.0)] for k in keys])  # each pair's case's machine speed
            scores.append((entry, np.log(np.asarray(base_rounds)), np.log(np.asarray(new_rounds) / scale)))
            entry["test"] = "rounds"
        else:
            entry.update(ratio=float(np.exp(np.median([np.log(_speed(p)["ratio"]) for p in members]))),
                         test="spread")
        results.append(entry)
    # Side by side (one ab): per round, the interquartile mean over the group's pairs of log(new / base):
    # nearly as precise as the mean (the pairs' ratios scatter about normally), and a quarter of odd pairs
    # on either side (a process that drew slow code) moves it no more than the median.
    tests = [log_ratio_test(trim_mean(n - b, CASE_TRIM, axis=0)) if paired and b.shape == n.shape
             else rounds_test(*_round_scores(b, n)) for _, b, n in scores]
    changes = moderated_changes(tests, min_effect=settings.min_effect, alpha=settings.alpha)
    for (entry, _, _), change in zip(scores, changes, strict=True):
        entry.update(change.as_record())
    _by_spread([e for e in results if e["test"] == "spread"], settings, judge_spread)
    return results


def _as_many_rounds(rounds: list[list[float] | None]) -> bool:
    """Every pair has rounds, as many as each other (a matrix of pairs x rounds)."""
    return all(rounds) and len({len(r) for r in rounds if r}) == 1


def _by_spread(entries: list[dict], settings: Settings, judge_spread: bool) -> None:
    """Without rounds, each group's median log ratio against the spread of all groups' (CASE_Z robust sd),
    unless not `judge_spread`: a machine busier during one run than the other shifts every method alike, and
    the spread of two dozen methods is too small to hold that (an A/A of two single runs of 2.15.0, the
    second beside the CI suite, called 22 of 23 methods slower), so single runs judge no method."""
    spread = [np.log(e["ratio"]) for e in entries]
    sigma = _robust_sigma(np.asarray(spread)) if len(spread) >= NOISE_MIN_PAIRS else None
    for entry in entries:
        shift = float(np.log(entry["ratio"]))
        if sigma is None or not judge_spread:
            entry.update(low=None, high=None, verdict="inconclusive", detectable=None)
            continue
        low, high = float(np.exp(shift - CASE_Z * sigma)), float(np.exp(shift + CASE_Z * sigma))
        entry["detectable"] = smallest_called(CASE_Z * sigma, settings.min_effect)
        # No significance test here: the interval from the spread of all cases decides alone (p = 0).
        entry.update(low=low, high=high, verdict=judge(entry["ratio"], low, high, 0.0, 0.0, settings.min_effect,
                                                       settings.alpha))
