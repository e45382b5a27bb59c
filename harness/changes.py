"""What changed between two runs, BASE and NEW: verdicts, Jacobian values and speed, per (case, method, dtype).

Reads only saved results (results.json and jacobians.npz of each run). A pair's correctness regresses when
it fails in NEW (harness.compare.FAILING) but not in BASE, and is fixed the other way round; its values
drift when the two saved Jacobians differ beyond the dtype's tolerance, even if each run agrees with its
own reference. Its speed is judged by harness.stats.speed_change on the raw samples, after two
corrections for the machine, which within-run samples cannot see:
- drift in time: NEW is divided by how much slower the machine was during that case, measured by the
  case's control pairs (other frameworks' methods, run in the same minutes and untouched by the upgrade)
  or, without controls, by a fixed NumPy calibration workload timed before the case;
- run-to-run noise: the interval is widened by the spread of log(NEW/BASE) over the whole suite
  (`noise_floor`), so that a pair is called slower only beyond what unchanged pairs do between runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.compare import FAILING, TOLERANCES, diff
from harness.results import SCHEMA_VERSION, jacobian_key
from harness.stats import ALPHA, MIN_EFFECT, geometric_mean, speed_change

KIND = "jacobian-harness.comparison"
# Environment fields that must match for a fair comparison (versions: all but the library under test).
SAME_FIELDS = ("python", "implementation", "platform", "cpu", "cpu_count", "threads")
SAME_OPTIONS = ("quick", "threads", "jobs", "seed", "size", "timing")


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


def _correctness(base_status: str, new_status: str) -> str:
    if base_status == new_status:
        return "same"
    if new_status in FAILING and base_status not in FAILING:
        return "regression"
    if base_status in FAILING and new_status not in FAILING:
        return "fix"
    return "changed"


def _blocks(arrays: dict, record: dict) -> list[np.ndarray] | None:
    info = record.get("jacobian")
    if not isinstance(info, dict) or not isinstance(info.get("blocks"), int):
        return None
    keys = [jacobian_key(record["case"], record["method"], record["dtype"], k) for k in range(info["blocks"])]
    return [arrays[k] for k in keys] if all(k in arrays for k in keys) else None


def _drift(base_arrays: dict, new_arrays: dict, base: dict, new: dict) -> dict | None:
    got, expected = _blocks(new_arrays, new), _blocks(base_arrays, base)
    if got is None or expected is None:
        return None
    result = diff(got, expected, equal_nan=True, **TOLERANCES.get(new["dtype"], TOLERANCES["float64"]))
    if result.ok:
        return None
    return {"max_abs_change": result.max_abs_err, "max_rel_change": result.max_rel_err,
            "worst_index": result.worst_index, "new": result.got, "base": result.expected, "reason": result.reason}


CLOCK_FIELDS = {"wall": "samples_s", "cpu": "cpu_samples_s"}


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


CONTROL_MIN_PAIRS = 3  # fewer control pairs in a case: keep its calibration scale alone


def _control_scales(base_records: dict, new_records: dict, scales: dict[str, float], library: str,
                    clock: str) -> dict[str, float]:
    """Refine each case's scale by its control pairs: the methods of the other frameworks, run in the same
    minutes as the library's own and untouched by its upgrade. Their median NEW/BASE is how much slower
    the machine was during this case; the library's pairs are judged relative to it."""
    ratios: dict[str, list[float]] = {}
    for key, b in base_records.items():
        n = new_records.get(key)
        if n is None or b.get("backend") == library:
            continue
        base_samples, new_samples = _samples(b, clock), _samples(n, clock)
        if base_samples and new_samples:
            ratios.setdefault(key[0], []).append(np.median(new_samples) / np.median(base_samples))
    return {case_id: float(np.median(ratios[case_id])) if len(ratios.get(case_id, ())) >= CONTROL_MIN_PAIRS
            else scale for case_id, scale in scales.items()}


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
    bound = 1.0 + min_effect
    if ratio >= bound and speed["p_slower"] < alpha and low > 1.0:
        verdict = "slower"
    elif ratio <= 1.0 / bound and speed["p_faster"] < alpha and high < 1.0:
        verdict = "faster"
    elif 1.0 / bound < low and high < bound:
        verdict = "same"
    else:
        verdict = "inconclusive"
    return {**speed, "within_low": speed["low"], "within_high": speed["high"], "low": low, "high": high,
            "run_noise_sigma": sigma, "verdict": verdict}


def compare_runs(base: dict, new: dict, base_arrays: dict, new_arrays: dict, settings: Settings = Settings(),
                 base_label: str = "BASE", new_label: str = "NEW") -> dict:
    """The comparison document (kind jacobian-harness.comparison) of two loaded runs."""
    base_records = {_key(r): r for r in base["results"]}
    new_records = {_key(r): r for r in new["results"]}
    base_cal, new_cal = calibration_s(base), calibration_s(new)
    clock = _clock(settings.clock, base, new)
    run_scale = new_cal / base_cal if clock == "wall" and base_cal and new_cal else 1.0
    # The calibration workload is timed on the wall clock: it corrects wall samples only.
    first = _case_scales(base, new, run_scale) if clock == "wall" else dict.fromkeys(
        set(base.get("cases", {})) & set(new.get("cases", {})), 1.0)
    scales = _control_scales(base_records, new_records, first, settings.library, clock)
    pairs = []
    for key in [k for k in base_records if k in new_records]:
        b, n = base_records[key], new_records[key]
        pair = {"case": key[0], "method": key[1], "dtype": key[2], "base_status": b["status"],
                "new_status": n["status"], "correctness": _correctness(b["status"], n["status"]),
                "new_message": n.get("message", ""), "drift": _drift(base_arrays, new_arrays, b, n), "speed": None,
                # A control measures the machine, not the library: its speed verdict fails nothing.
                "control": (b.get("backend") != settings.library
                            and b.get("backend_version") == n.get("backend_version"))}
        base_samples, new_samples = _samples(b, clock), _samples(n, clock)
        if base_samples and new_samples:
            pair["speed"] = speed_change(base_samples, new_samples, scale=scales.get(key[0], run_scale),
                                         min_effect=settings.min_effect, alpha=settings.alpha).as_record()
        pairs.append(pair)
    timed = [p for p in pairs if p["speed"]]
    floor = noise_floor(timed, base_records)
    for pair in timed:
        sigma = floor[_decade(base_records[(pair["case"], pair["method"], pair["dtype"])])]
        pair["speed"] = _widen(pair["speed"], sigma, settings.min_effect, settings.alpha)
    speeds = [p["speed"] for p in timed if not p["control"]]
    summary = {
        "pairs": len(pairs),
        "regressions": sum(p["correctness"] == "regression" for p in pairs),
        "fixes": sum(p["correctness"] == "fix" for p in pairs),
        "changed": sum(p["correctness"] == "changed" for p in pairs),
        "drift": sum(p["drift"] is not None for p in pairs),
        **{verdict: sum(s["verdict"] == verdict for s in speeds) for verdict in ("slower", "faster", "same",
                                                                                 "inconclusive")},
        "geomean_ratio": geometric_mean(s["ratio"] for s in speeds),
        "control_pairs": sum(p["control"] for p in timed),
    }
    summary["failed"] = bool(summary["regressions"] or summary["drift"] or summary["slower"])
    return {
        "schema_version": SCHEMA_VERSION, "kind": KIND,
        "settings": {"min_effect": settings.min_effect, "alpha": settings.alpha, "library": settings.library,
                     "noise_z": NOISE_Z, "clock": clock,
                     "test": "one-sided Mann-Whitney U on raw samples; 95% bootstrap interval of the ratio "
                             "of medians, widened by the suite's run-to-run noise; NEW divided by the "
                             "median NEW/BASE of its case's control pairs (other frameworks), else by its "
                             "calibration ratio"},
        "base": _side(base, base_label, base_cal), "new": _side(new, new_label, new_cal),
        "calibration_scale": run_scale,
        "noise_floor": {str(decade): sigma for decade, sigma in sorted(floor.items())},
        "environment_warnings": environment_warnings(base, new, settings.library),
        "only_in_base": [list(k) for k in base_records if k not in new_records],
        "only_in_new": [list(k) for k in new_records if k not in base_records],
        "summary": summary, "pairs": pairs,
    }


def _side(document: dict, label: str, calibration: float | None) -> dict:
    env = document.get("environment", {})
    return {"label": label, "environment": env, "options": document.get("options", {}),
            "calibration_s": calibration, "partial": bool(document.get("partial"))}
