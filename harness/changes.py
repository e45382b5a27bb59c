"""What changed between two runs, BASE and NEW: verdicts, Jacobian values and speed, per (case, method, dtype).

Reads only saved results (results.json and jacobians.npz of each run). A pair's correctness regresses when
it fails in NEW (harness.compare.FAILING) but not in BASE (or agreed in BASE and is a bug declared for NEW's
version), and is fixed the other way round; its values drift when the two saved Jacobians differ beyond the
dtype's tolerance, even if each run agrees with its own reference.

Speed, on the process CPU clock where both runs recorded it (a process descheduled by other jobs on a
shared machine does not accumulate CPU time; wall-clock samples are divided by a calibration ratio):
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

import numpy as np

from jacobian_harness.compare import INHERITED, TOLERANCES, UNCHECKED_NOTE, diff
from jacobian_harness.records import FAILING
from jacobian_harness.results import jacobian_key
from jacobian_harness.stats import (ALPHA, MIN_EFFECT, geometric_mean, holm, judge, log_ratio_test, moderated_changes,
                           paired_test, rounds_test, speed_change)

KIND = "jacobian-harness.comparison"
SCHEMA_VERSION = 1  # of the comparison document (compare.json); the run document has its own
# Environment fields that must match for a fair comparison (versions: all but the library under test).
SAME_FIELDS = ("python", "implementation", "platform", "cpu", "cpu_count", "threads")
SAME_OPTIONS = ("quick", "threads", "jobs", "seed", "size", "timing", "rounds")


@dataclass(frozen=True)
class Settings:
    min_effect: float = MIN_EFFECT
    alpha: float = ALPHA
    library: str = "torch"  # the package whose versions are expected to differ
    clock: str = "cpu"      # "cpu": test the process-CPU-time samples where both runs have them; "wall"


def _key(record: dict) -> tuple[str, str, str]:
    return record["case"], record["method"], record["dtype"]


def calibration_s(document: dict) -> float | None:
    samples = [s for case in document.get("cases", {}).values() for s in case.get("calibration_s") or []]
    return float(np.median(samples)) if samples else None


def environment_warnings(base: dict, new: dict, library: str) -> list[str]:
    warnings = []
    base_env, new_env = base.get("environment", {}), new.get("environment", {})
    for name in SAME_FIELDS:
        if base_env.get(name) != new_env.get(name):
            warnings.append(f"environment {name} differs: {base_env.get(name)!r} vs {new_env.get(name)!r}")
    base_versions, new_versions = base_env.get("versions", {}), new_env.get("versions", {})
    for package in sorted(set(base_versions) | set(new_versions)):
        if package not in (library, "jacobian-harness") and base_versions.get(package) != new_versions.get(package):
            warnings.append(f"{package} differs: {base_versions.get(package)} vs {new_versions.get(package)}")
    base_options, new_options = base.get("options", {}), new.get("options", {})
    for name in SAME_OPTIONS:
        if base_options.get(name) != new_options.get(name):
            warnings.append(f"run option {name} differs: {base_options.get(name)!r} vs {new_options.get(name)!r}")
    return warnings


def _correctness(base: dict, new: dict) -> str:
    """regression (fails in NEW only, or agreed in BASE and is a declared bug in NEW), fix (failed in BASE, or
    was a declared bug there, and agrees in NEW), changed (any other verdict change, e.g. a wrong value that
    became an error) or same."""
    base_status, new_status = base["status"], new["status"]
    if base_status == new_status:
        return "same"
    if new_status in FAILING and base_status not in FAILING:
        return "regression"
    if base_status in FAILING and new_status not in FAILING:
        return "fix"
    if base_status == "expected-divergence" and new_status == "agree" and _declared_bug(base):
        return "fix"  # a known bug, declared for BASE's version, gone in NEW's
    if base_status == "agree" and new_status == "expected-divergence" and _declared_bug(new):
        return "regression"  # a bug declared for NEW's version: its declaration keeps NEW's own run green only
    return "changed"


def _declared_bug(record: dict) -> bool:
    declaration = record.get("declaration") or record.get("message", "")
    return declaration.removeprefix(INHERITED).startswith("bug:")


def declared_change(base: dict, new: dict) -> bool:
    """Both runs expected this pair to diverge, but by another declaration: a known bug or convention whose
    form changed with the version, as declared per version (wrong zeros that now raise, say). No regression,
    since it was declared; but the upgrade changed it, and the maintainer is told. Records name their
    declaration (`declaration`); where one side was written before that field, both sides' messages are
    compared without the note on unchecked versions, which names versions, not the declaration (a declared
    error whose text changed is then a change too)."""
    if not base["status"] == new["status"] == "expected-divergence":
        return False
    if base.get("declaration") and new.get("declaration"):
        return base["declaration"] != new["declaration"]
    return UNCHECKED_NOTE.sub("", base.get("message", "")) != UNCHECKED_NOTE.sub("", new.get("message", ""))


def _blocks(arrays: dict, record: dict) -> list[np.ndarray] | None:
    info = record.get("jacobian")
    if not isinstance(info, dict) or not isinstance(info.get("blocks"), int):
        return None
    keys = [jacobian_key(record["case"], record["method"], record["dtype"], k) for k in range(info["blocks"])]
    return [arrays[k] for k in keys] if all(k in arrays for k in keys) else None


def _values(base_arrays: dict, new_arrays: dict, base: dict, new: dict) -> tuple[str | None, dict | None]:
    """How a pair's Jacobian changed from BASE to NEW: ("identical" | "touched" | "drift", its change), or
    (None, None) where either side saved none. `touched`: not bit for bit the same, but within the dtype's
    tolerance: no regression, but a sign that the formulas behind it changed. `drift`: beyond tolerance."""
    got, expected = _blocks(new_arrays, new), _blocks(base_arrays, base)
    if got is None or expected is None:
        return None, None
    if len(got) == len(expected) and all(g.shape == e.shape and np.array_equal(g, e, equal_nan=True)
                                         for g, e in zip(got, expected, strict=True)):
        return "identical", None
    result = diff(got, expected, equal_nan=True, **TOLERANCES.get(new["dtype"], TOLERANCES["float64"]))
    change = {"max_abs_change": result.max_abs_err, "max_rel_change": _relative_change(got, expected),
              "worst_index": result.worst_index, "new": result.got, "base": result.expected, "reason": result.reason}
    return ("touched" if result.ok else "drift"), change


def _relative_change(new: list[np.ndarray], base: list[np.ndarray]) -> float | None:
    """The largest |new - base| / |base| over the finite entries of blocks of equal shape, where an entry
    that was exactly 0 counts relative to its block's largest |base| (1 if the whole block was 0): a 0 that
    became 227 is a change of the formula, which a relative error over nonzero entries alone would call 0."""
    largest = 0.0
    for n, b in zip(new, base, strict=True):
        n, b = np.asarray(n, dtype=np.float64), np.asarray(b, dtype=np.float64)
        if n.shape != b.shape:
            return None
        finite = np.isfinite(n) & np.isfinite(b)
        if not finite.any():
            continue
        scale = np.abs(b[finite]).max() or 1.0
        denominator = np.where(b[finite] != 0, np.abs(b[finite]), scale)
        with np.errstate(over="ignore"):  # a change over a subnormal base value: inf is the honest answer
            largest = max(largest, float((np.abs(n[finite] - b[finite]) / denominator).max()))
    return largest


CLOCK_FIELDS = {"wall": "samples_s", "cpu": "cpu_samples_s"}
ROUND_FIELDS = {"wall": "round_medians_s", "cpu": "round_cpu_medians_s"}


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


def _clock(wanted: str, base: dict, new: dict) -> str:
    """The CPU clock where asked for and both runs recorded it for every timed pair (older results did not)."""
    if wanted != "cpu":
        return "wall"
    timed = [r for document in (base, new) for r in document["results"] if _samples(r)]
    return "cpu" if timed and all(_samples(r, "cpu") for r in timed) else "wall"


def _case_scales(base: dict, new: dict, run_scale: float) -> dict[str, float]:
    """Per case, NEW/BASE of the calibration times taken just before it: the machine's speed at that moment.
    A case without calibration samples on either side takes the run-level ratio."""
    scales = {}
    for case_id in set(base.get("cases", {})) & set(new.get("cases", {})):
        b = base["cases"][case_id].get("calibration_s") or []
        n = new["cases"][case_id].get("calibration_s") or []
        scales[case_id] = float(np.median(n) / np.median(b)) if b and n else run_scale
    return scales


def noise_floor(pairs: list[dict], base_records: dict) -> dict[int, float]:
    """Run-to-run noise the within-run samples cannot show, learned from the suite itself: per decade of
    BASE median time, the robust spread (1.4826 x MAD) of log(NEW/BASE) over all pairs. Most pairs do not
    change between two runs, so this is the spread of unchanged ones; a real change of one pair hardly
    moves it, and a change of all pairs shifts the centre, not the spread."""
    by_decade: dict[int, list[float]] = {}
    for pair in pairs:
        decade = _decade(base_records[(pair["case"], pair["method"], pair["dtype"])])
        by_decade.setdefault(decade, []).append(np.log(pair["speed"]["ratio"]))
    everything = np.concatenate([np.asarray(v) for v in by_decade.values()]) if by_decade else np.zeros(0)
    overall = _robust_sigma(everything) if everything.size else 0.0
    return {decade: _robust_sigma(np.asarray(v)) if len(v) >= NOISE_MIN_PAIRS else overall
            for decade, v in by_decade.items()}


NOISE_MIN_PAIRS = 20   # a decade with fewer pairs borrows the spread of all pairs
NOISE_Z = 3.0          # the run-to-run noise enters the interval at this many standard deviations


def _robust_sigma(values: np.ndarray) -> float:
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def _decade(record: dict) -> int:
    return int(np.floor(np.log10(record["time"]["median_s"])))


def _widen(speed: dict, sigma: float, min_effect: float, alpha: float) -> dict:
    """The speed verdict again, with the interval widened by the run-to-run noise (in log space)."""
    ratio = speed["ratio"]
    within = (np.log(speed["high"]) - np.log(speed["low"])) / 2
    half = float(np.hypot(within, NOISE_Z * sigma))
    low, high = float(np.exp(np.log(ratio) - half)), float(np.exp(np.log(ratio) + half))
    verdict = judge(ratio, low, high, speed["p_slower"], speed["p_faster"], min_effect, alpha)
    return {**speed, "within_low": speed["low"], "within_high": speed["high"], "low": low, "high": high,
            "run_noise_sigma": sigma, "verdict": verdict}


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


def correct_for_many(changes: list[dict], settings: Settings) -> None:
    """Holm-adjust the p-values of these tests (both directions of each) and judge again: a comparison
    tests a thousand pairs, and at alpha each, ten unchanged ones would be called slower or faster."""
    if not changes:
        return
    adjusted = holm([c["p_slower"] for c in changes] + [c["p_faster"] for c in changes])
    for k, change in enumerate(changes):
        change["p_slower_adjusted"], change["p_faster_adjusted"] = adjusted[k], adjusted[len(changes) + k]
        change["verdict"] = judge(change["ratio"], change["low"], change["high"], adjusted[k],
                                  adjusted[len(changes) + k], settings.min_effect, settings.alpha)


def side_by_side(base: dict, new: dict) -> bool:
    """Both runs are the two sides of one `ab`: round r of each pair ran on both sides back to back."""
    run = base.get("options", {}).get("ab_id")
    return bool(run) and run == new.get("options", {}).get("ab_id")


def _round_scores(base: np.ndarray, new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per round, how fast the case's pairs ran relative to their own typical time: each pair (row, log
    round medians) centred on its mean over both sides, then the median over pairs. The median keeps one
    pair's odd round (a process that drew slow code) from moving the whole case."""
    centre = np.concatenate([base, new], axis=1).mean(axis=1, keepdims=True)
    return np.exp(np.median(base - centre, axis=0)), np.exp(np.median(new - centre, axis=0))


def case_speeds(timed: list[dict], base_records: dict, new_records: dict, clock: str, scales: dict,
                settings: Settings, paired: bool = False) -> list[dict]:
    """A speed verdict per case over its library pairs together: a change of the library that slows a whole
    case shows here even when each pair alone is too noisy to call. See `group_speeds`."""
    return group_speeds("case", timed, base_records, new_records, clock, scales, settings, paired)


def method_speeds(timed: list[dict], base_records: dict, new_records: dict, clock: str, scales: dict,
                  settings: Settings, paired: bool = False) -> list[dict]:
    """A speed verdict per library method over all its pairs (every case it ran): a change of one method
    everywhere (torch.compile's call overhead) shows here, while each of its pairs alone is too noisy to
    call and within a case it is one pair among a dozen, which the case's trimmed mean may cut. See
    `group_speeds`."""
    return group_speeds("method", timed, base_records, new_records, clock, scales, settings, paired,
                        judge_spread=False)


def group_speeds(field: str, timed: list[dict], base_records: dict, new_records: dict, clock: str, scales: dict,
                 settings: Settings, paired: bool = False, judge_spread: bool = True) -> list[dict]:
    """One speed verdict per value of the pairs' `field` (a case, a method) over its library pairs together.
    With rounds, each round's score is the median over the group's pairs of their centred log medians
    (`_round_scores`), tested like a pair's rounds; for the two sides of one `ab` (`paired`), each round's
    score is the interquartile mean over the pairs of log(new / base), tested like a pair's paired rounds;
    without rounds, the group's median log ratio is judged against the spread of all groups' (CASE_Z robust
    sd), unless not `judge_spread`: a machine busier during one run than the other shifts every method
    alike, and the spread of two dozen methods is too small to hold that (an A/A of two single runs of
    2.15.0, the second beside the CI suite, called 22 of 23 methods slower), so single runs judge no method.
    Variances are moderated across the groups of the family, and p-values Holm-adjusted by the caller."""
    from scipy.stats import trim_mean

    groups: dict[str, list[dict]] = {}
    for pair in timed:
        if not pair["control"]:
            groups.setdefault(pair[field], []).append(pair)
    results, scores = [], []
    for group_id, members in groups.items():
        if len(members) < CASE_MIN_PAIRS:
            continue
        keys = [(p["case"], p["method"], p["dtype"]) for p in members]
        # A pair timed in one process only (of a backend that `ab` did not time in rounds) leaves the group's
        # verdict to its pairs timed in rounds, rather than demoting the whole group to single-run evidence.
        in_rounds = [k for k in keys if _rounds(base_records[k], clock) and _rounds(new_records[k], clock)]
        if len(in_rounds) >= CASE_MIN_PAIRS:
            keys = in_rounds
        base_rounds = [_rounds(base_records[k], clock) for k in keys]
        new_rounds = [_rounds(new_records[k], clock) for k in keys]
        entry = {field: group_id, "pairs": len(keys)}
        if all(base_rounds) and all(new_rounds) and len({len(r) for r in base_rounds}) == 1 \
                and len({len(r) for r in new_rounds}) == 1:
            scale = np.asarray([[scales.get(k[0], 1.0)] for k in keys])  # each pair's case's machine speed
            scores.append((entry, np.log(np.asarray(base_rounds)), np.log(np.asarray(new_rounds) / scale)))
            entry["test"] = "rounds"
        else:
            entry.update(ratio=float(np.exp(np.median([np.log(p["speed"]["ratio"]) for p in members]))),
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
    spread = [np.log(e["ratio"]) for e in results if e["test"] == "spread"]
    sigma = _robust_sigma(np.asarray(spread)) if len(spread) >= NOISE_MIN_PAIRS else None
    for entry in results:
        if entry["test"] != "spread":
            continue
        shift = float(np.log(entry["ratio"]))
        if sigma is None or not judge_spread:
            entry.update(low=None, high=None, verdict="inconclusive")
            continue
        low, high = float(np.exp(shift - CASE_Z * sigma)), float(np.exp(shift + CASE_Z * sigma))
        # No significance test here: the interval from the spread of all cases decides alone (p = 0).
        entry.update(low=low, high=high, verdict=judge(entry["ratio"], low, high, 0.0, 0.0, settings.min_effect,
                                                       settings.alpha))
    return results


def samples_changed(base: dict, new: dict) -> set[str]:
    """The cases of both runs whose pack recorded a different sample digest (meta.digest): the same id names
    another input there, e.g. an opinfo sample that the newer torch's op_db draws differently."""
    changed = set()
    for case_id, summary in base.get("cases", {}).items():
        other = new.get("cases", {}).get(case_id)
        digests = ((summary.get("meta") or {}).get("digest"), ((other or {}).get("meta") or {}).get("digest"))
        if None not in digests and digests[0] != digests[1]:
            changed.add(case_id)
    return changed


def declarations_changed(base: dict, new: dict) -> set[str]:
    """The cases of both runs whose declared divergences differ: the harness (its case library or a pack's
    known findings) changed between the runs, so a pair explained by another declaration there says nothing
    about the library under test."""
    return {case_id for case_id, summary in base.get("cases", {}).items()
            if case_id in new.get("cases", {})
            and summary.get("divergences") != new["cases"][case_id].get("divergences")}


def compare_runs(base: dict, new: dict, base_arrays: dict, new_arrays: dict, settings: Settings = Settings(),
                 base_label: str = "BASE", new_label: str = "NEW") -> dict:
    """The comparison document (kind jacobian-harness.comparison) of two loaded runs."""
    base_records = {_key(r): r for r in base["results"]}
    new_records = {_key(r): r for r in new["results"]}
    base_cal, new_cal = calibration_s(base), calibration_s(new)
    clock = _clock(settings.clock, base, new)
    run_scale = new_cal / base_cal if clock == "wall" and base_cal and new_cal else 1.0
    # The calibration workload is timed on the wall clock: it corrects wall samples only.
    scales = _case_scales(base, new, run_scale) if clock == "wall" else dict.fromkeys(
        set(base.get("cases", {})) & set(new.get("cases", {})), 1.0)
    pairs, rounds_tests = [], []
    changed_samples = samples_changed(base, new)
    redeclared = declarations_changed(base, new)
    for key in [k for k in base_records if k in new_records]:
        b, n = base_records[key], new_records[key]
        if None not in (b.get("sample_digest"), n.get("sample_digest")) and b["sample_digest"] != n["sample_digest"]:
            changed_samples.add(key[0])  # each side's own process made another sample (an `ab` of two torches)
        # Another input behind the same id (a generated pack's sample changed): its Jacobian is not a drift.
        values, change = (None, None) if key[0] in changed_samples else _values(base_arrays, new_arrays, b, n)
        # A verdict on another input is no regression (or fix) of the library: it is a change.
        correctness = (_correctness(b, n) if key[0] not in changed_samples
                       else "same" if b["status"] == n["status"] else "changed")
        if values == "drift" and correctness == "fix":
            values = "fixed"  # a wrong value that became the reference's: the fix itself, not drift
        pair = {"case": key[0], "method": key[1], "dtype": key[2], "base_status": b["status"],
                "new_status": n["status"], "correctness": correctness,
                "base_message": b.get("message", ""), "new_message": n.get("message", ""), "values": values,
                "declared_change": key[0] not in redeclared and declared_change(b, n),
                "drift": change if values == "drift" else None, "change": change, "speed": None,
                "sample_changed": key[0] in changed_samples,
                # A control measures the machine, not the library: its speed verdict fails nothing.
                "control": (b.get("backend") != settings.library
                            and b.get("backend_version") == n.get("backend_version"))}
        base_samples, new_samples = _samples(b, clock), _samples(n, clock)
        base_rounds, new_rounds = _rounds(b, clock), _rounds(n, clock)
        scale = scales.get(key[0], run_scale)
        if base_rounds and new_rounds:
            pair["speed"] = {"test": "rounds", "rounds": [len(base_rounds), len(new_rounds)]}
            rounds_tests.append((pair, base_rounds, [m / scale for m in new_rounds]))
        elif base_samples and new_samples:
            pair["speed"] = {**speed_change(base_samples, new_samples, scale=scale, min_effect=settings.min_effect,
                                            alpha=settings.alpha).as_record(), "test": "samples"}
        pairs.append(pair)
    paired = side_by_side(base, new)
    for control in (False, True):  # the library's pairs and the controls: two families, two priors
        family = [t for t in rounds_tests if t[0]["control"] is control]
        tests = [paired_test(b, n) if paired and len(b) == len(n) else rounds_test(b, n) for _, b, n in family]
        changes = moderated_changes(tests, min_effect=settings.min_effect, alpha=settings.alpha)
        for (pair, b, n), change in zip(family, changes, strict=True):
            pair["speed"] = {**change.as_record(), **pair["speed"], "paired": paired and len(b) == len(n)}
    timed = [p for p in pairs if p["speed"]]
    floor = noise_floor(timed, base_records)
    for pair in timed:
        if pair["speed"]["test"] == "samples":  # rounds already carry the run-to-run noise
            sigma = floor[_decade(base_records[(pair["case"], pair["method"], pair["dtype"])])]
            pair["speed"] = _widen(pair["speed"], sigma, settings.min_effect, settings.alpha)
    correct_for_many([p["speed"] for p in timed if not p["control"] and p["speed"]["test"] == "rounds"], settings)
    speeds = [p["speed"] for p in timed if not p["control"]]
    cases = case_speeds(timed, base_records, new_records, clock, scales, settings, paired)
    correct_for_many([c for c in cases if c["test"] == "rounds"], settings)
    methods = method_speeds(timed, base_records, new_records, clock, scales, settings, paired)
    correct_for_many([m for m in methods if m["test"] == "rounds"], settings)
    summary = {
        "pairs": len(pairs),
        "regressions": sum(p["correctness"] == "regression" for p in pairs),
        "fixes": sum(p["correctness"] == "fix" for p in pairs),
        "changed": sum(p["correctness"] == "changed" for p in pairs),
        "declared_changes": sum(p["declared_change"] for p in pairs),
        "drift": sum(p["drift"] is not None for p in pairs),
        "jacobians_compared": sum(p["values"] is not None for p in pairs),
        "jacobians_changed": sum(p["values"] in ("touched", "drift", "fixed") for p in pairs),
        "jacobians_touched": sum(p["values"] == "touched" for p in pairs),
        "jacobians_fixed": sum(p["values"] == "fixed" for p in pairs),
        "largest_change": _largest_change(pairs),
        "verdict_changes": _verdict_changes(pairs),
        "sample_changed_cases": len({p["case"] for p in pairs if p["sample_changed"]}),
        **{verdict: sum(s["verdict"] == verdict for s in speeds) for verdict in ("slower", "faster", "same",
                                                                                 "inconclusive")},
        "geomean_ratio": geometric_mean(s["ratio"] for s in speeds),
        "control_pairs": sum(p["control"] for p in timed),
        "slower_cases": sum(c["verdict"] == "slower" for c in cases),
        "faster_cases": sum(c["verdict"] == "faster" for c in cases),
        "slower_methods": sum(m["verdict"] == "slower" for m in methods),
        "faster_methods": sum(m["verdict"] == "faster" for m in methods),
    }
    # Only speed verdicts backed by rounds fail a comparison: single runs cannot show how much a pair's
    # speed varies between processes, and on a shared machine they call hundreds of unchanged pairs slower.
    summary["slower_backed"] = (sum(s["verdict"] == "slower" and s["test"] == "rounds" for s in speeds)
                                + sum(c["verdict"] == "slower" and c["test"] == "rounds" for c in cases + methods))
    mixed = [label for label, document in ((base_label, base), (new_label, new))
             if len(document.get("environment", {}).get("machines") or []) > 1]
    if mixed:  # parts timed on different CPUs: no speed verdict can fail the comparison
        summary["slower_backed"] = 0
    summary["failed"] = bool(summary["regressions"] or summary["drift"] or summary["slower_backed"])
    return {
        "schema_version": SCHEMA_VERSION, "kind": KIND,
        "settings": {"min_effect": settings.min_effect, "alpha": settings.alpha, "library": settings.library,
                     "noise_z": NOISE_Z, "clock": clock, "paired": paired,
                     "test": TEST_DESCRIPTION},
        "base": _side(base, base_label, base_cal), "new": _side(new, new_label, new_cal),
        "calibration_scale": run_scale,
        "noise_floor": {str(decade): sigma for decade, sigma in sorted(floor.items())},
        "environment_warnings": environment_warnings(base, new, settings.library) + [
            f"{label} was merged from parts run on different machines: speed changes are shown, not judged"
            for label in mixed] + ([
            f"the declared divergences of {len(redeclared)} cases differ between the runs (another version of "
            f"the harness or its packs' known findings: {', '.join(sorted(redeclared)[:3])}"
            f"{', ...' if len(redeclared) > 3 else ''}): an expected divergence explained differently there is "
            f"not called a change of {settings.library}"] if redeclared else []),
        "only_in_base": [list(k) for k in base_records if k not in new_records],
        "only_in_new": [list(k) for k in new_records if k not in base_records],
        "summary": summary, "cases": cases, "methods": methods, "pairs": pairs,
    }


def _largest_change(pairs: list[dict]) -> dict | None:
    """The pair whose Jacobian moved most, relatively, between the runs (within tolerance or not; a fix's move
    to the reference is not numerics)."""
    changed = [p for p in pairs if p["change"] and p["values"] != "fixed"
               and np.isfinite(p["change"]["max_rel_change"] or 0.0)]
    if not changed:
        return None
    worst = max(changed, key=lambda p: p["change"]["max_rel_change"] or 0.0)
    return {"case": worst["case"], "method": worst["method"], "dtype": worst["dtype"],
            "max_rel_change": worst["change"]["max_rel_change"], "max_abs_change": worst["change"]["max_abs_change"]}


def _verdict_changes(pairs: list[dict]) -> dict[str, int]:
    """How many pairs went from each verdict to each other one, "BASE -> NEW", most first."""
    counts: dict[str, int] = {}
    for pair in pairs:
        if pair["base_status"] != pair["new_status"]:
            kind = f"{pair['base_status']} -> {pair['new_status']}"
            counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _side(document: dict, label: str, calibration: float | None) -> dict:
    env = document.get("environment", {})
    return {"label": label, "environment": env, "options": document.get("options", {}),
            "calibration_s": calibration, "partial": bool(document.get("partial"))}
