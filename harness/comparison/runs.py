"""The comparison of two runs, BASE and NEW, composed of its subjects: correctness (verdicts), values (the
saved Jacobians) and speed; and the warnings about what else differs between the runs.

Reads only saved results (results.json and jacobians.npz of each run).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from jacobian_harness.comparison.confirm import confirm_speeds, stage_rounds
from jacobian_harness.comparison.correctness import (correctness, correctness_on_another_input, declarations_changed,
                                                     declared_change, redeclared_warning, sample_digests_differ,
                                                     samples_changed, verdict_changes)
from jacobian_harness.comparison.document import (KIND, NOISY_PAIR, SCHEMA_VERSION, Comparison, ComparisonSettings,
                                                  Pair, Settings, Side, SpeedVerdict, Stages, Summary)
from jacobian_harness.comparison.speed import (NOISE_Z, TEST_DESCRIPTION, SpeedVerdicts, calibration_s,
                                               choose_clock, judge_speeds, side_by_side)
from jacobian_harness.comparison.values import CHANGED, largest_change, values
from jacobian_harness.records import pair_key
from jacobian_harness.stats import geometric_mean

# Environment fields that must match for a fair comparison (versions: all but the library under test).
SAME_FIELDS = ("python", "implementation", "platform", "cpu", "cpu_count", "threads")
SAME_OPTIONS = ("quick", "threads", "jobs", "seed", "size", "timing", "rounds")
DEFAULT_SETTINGS = Settings()


def compare_runs(base: dict, new: dict, base_arrays: dict, new_arrays: dict, settings: Settings = DEFAULT_SETTINGS,
                 base_label: str = "BASE", new_label: str = "NEW") -> Comparison:
    """The comparison document (kind jacobian-harness.comparison) of two loaded runs."""
    base_records = {pair_key(r): r for r in base["results"]}
    new_records = {pair_key(r): r for r in new["results"]}
    base_cal, new_cal = calibration_s(base), calibration_s(new)
    clock = choose_clock(settings.clock, base, new, base_cal, new_cal)
    redeclared = declarations_changed(base, new)
    pairs = _pairs(base_records, new_records, base_arrays, new_arrays, samples_changed(base, new), redeclared,
                   settings)
    paired = side_by_side(base, new)
    speeds = judge_speeds(pairs, base_records, new_records, clock, settings, paired, case_families(base, new))
    rounds = stage_rounds(base, new)
    stages = confirm_speeds(pairs, (base_records, new_records), clock, settings, speeds.screen_tests, rounds) \
        if rounds else None
    mixed = [label for label, document in ((base_label, base), (new_label, new))
             if len(document.get("environment", {}).get("machines") or []) > 1]
    return Comparison(
        schema_version=SCHEMA_VERSION, kind=KIND,
        settings=ComparisonSettings(min_effect=settings.min_effect, alpha=settings.alpha, library=settings.library,
                                    noise_z=NOISE_Z, clock=clock.name, paired=paired, test=TEST_DESCRIPTION),
        base=_side(base, base_label, base_cal), new=_side(new, new_label, new_cal),
        calibration_scale=clock.run_scale,
        noise_floor={str(decade): sigma for decade, sigma in sorted(speeds.noise_floor.items())},
        environment_warnings=environment_warnings(base, new, settings.library) + [
            f"{label} was merged from parts run on different machines: speed changes are shown, not judged"
            for label in mixed] + redeclared_warning(redeclared, settings.library),
        only_in_base=[list(k) for k in base_records if k not in new_records],
        only_in_new=[list(k) for k in new_records if k not in base_records],
        summary=_summary(pairs, speeds, mixed, stages), cases=speeds.cases, methods=speeds.methods,
        families=speeds.families, pairs=pairs)


def _pairs(base_records: dict, new_records: dict, base_arrays: dict, new_arrays: dict, changed_samples: set[str],
           redeclared: set[str], settings: Settings) -> list[Pair]:
    """The pairs of both runs, their verdicts and values compared; speed comes later (speed.judge_speeds)."""
    pairs = []
    for key in [k for k in base_records if k in new_records]:
        b, n = base_records[key], new_records[key]
        if sample_digests_differ(b, n):
            changed_samples.add(key[0])  # each side's own process made another sample (an `ab` of two torches)
        # Another input behind the same id (a generated pack's sample changed): its Jacobian is not a drift.
        value, change = (None, None) if key[0] in changed_samples else values(base_arrays, new_arrays, b, n)
        verdict = correctness(b, n) if key[0] not in changed_samples else correctness_on_another_input(b, n)
        if value == "drift" and verdict == "fix":
            value = "fixed"  # a wrong value that became the reference's: the fix itself, not drift
        pairs.append(Pair(
            case=key[0], method=key[1], dtype=key[2], base_status=b["status"], new_status=n["status"],
            correctness=verdict, base_message=b.get("message", ""), new_message=n.get("message", ""), values=value,
            declared_change=key[0] not in redeclared and declared_change(b, n),
            drift=change if value == "drift" else None, change=change, speed=None,
            sample_changed=key[0] in changed_samples,
            # A control measures the machine, not the library: its speed verdict fails nothing.
            control=(b.get("backend") != settings.library and b.get("backend_version") == n.get("backend_version"))))
    return pairs


def _summary(pairs: list[Pair], speeds: SpeedVerdicts, mixed: list[str], stages: Stages | None) -> Summary:
    timed = [p for p in pairs if p["speed"]]
    library = [speed for p in timed if (speed := p["speed"]) and not p["control"]]
    verdicts = {verdict: sum(s["verdict"] == verdict for s in library)
                for verdict in ("slower", "faster", "same", "inconclusive")}
    groups = speeds.cases + speeds.methods + speeds.families
    # Only speed verdicts backed by rounds fail a comparison: single runs cannot show how much a pair's
    # speed varies between processes, and on a shared machine they call hundreds of unchanged pairs slower.
    # A run merged from parts timed on different CPUs (`mixed`): no speed verdict can fail the comparison.
    slower_backed = 0 if mixed else (sum(s["verdict"] == "slower" and s["test"] == "rounds" for s in library)
                                     + sum(g["verdict"] == "slower" and g["test"] == "rounds" for g in groups))
    regressions = sum(p["correctness"] == "regression" for p in pairs)
    drift = sum(p["drift"] is not None for p in pairs)
    detectable = {family: median_detectable(verdicts) for family, verdicts in
                  (("pair", library), ("case", speeds.cases), ("method", speeds.methods),
                   ("family", speeds.families)) if verdicts}
    too_noisy = bool(library) and (detectable["pair"] is None or detectable["pair"] > NOISY_PAIR)
    return Summary(
        pairs=len(pairs), regressions=regressions,
        fixes=sum(p["correctness"] == "fix" for p in pairs),
        changed=sum(p["correctness"] == "changed" for p in pairs),
        declared_changes=sum(p["declared_change"] for p in pairs), drift=drift,
        jacobians_compared=sum(p["values"] is not None for p in pairs),
        jacobians_changed=sum(p["values"] in CHANGED for p in pairs),
        jacobians_touched=sum(p["values"] == "touched" for p in pairs),
        jacobians_fixed=sum(p["values"] == "fixed" for p in pairs),
        largest_change=largest_change(pairs), verdict_changes=verdict_changes(pairs),
        sample_changed_cases=len({p["case"] for p in pairs if p["sample_changed"]}),
        slower=verdicts["slower"], faster=verdicts["faster"], same=verdicts["same"],
        inconclusive=verdicts["inconclusive"], geomean_ratio=geometric_mean(s["ratio"] for s in library),
        control_pairs=sum(p["control"] for p in timed),
        slower_cases=sum(c["verdict"] == "slower" for c in speeds.cases),
        faster_cases=sum(c["verdict"] == "faster" for c in speeds.cases),
        slower_methods=sum(m["verdict"] == "slower" for m in speeds.methods),
        faster_methods=sum(m["verdict"] == "faster" for m in speeds.methods),
        slower_families=sum(f["verdict"] == "slower" for f in speeds.families),
        faster_families=sum(f["verdict"] == "faster" for f in speeds.families),
        slower_backed=slower_backed, detectable=detectable, too_noisy=too_noisy, stages=stages,
        failed=bool(regressions or drift or slower_backed))


def case_families(base: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, str]:
    """case -> its operator family, where both runs recorded the same one (runs before 2026-12-08 recorded none)."""
    base_cases, new_cases = base.get("cases") or {}, new.get("cases") or {}
    return {case_id: family for case_id, summary in base_cases.items()
            if (family := summary.get("family")) and (new_cases.get(case_id) or {}).get("family") == family}


def median_detectable(verdicts: Sequence[SpeedVerdict]) -> float | None:
    """The median smallest callable change of a family's verdicts (one that could call none counts as
    infinite); None where that median is infinite."""
    median = statistics.median(v if isinstance(v := s.get("detectable"), (int, float)) else math.inf
                               for s in verdicts)
    return None if math.isinf(median) else float(median)


def environment_warnings(base: Mapping[str, Any], new: Mapping[str, Any], library: str) -> list[str]:
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


def _side(document: dict, label: str, calibration: float | None) -> Side:
    return Side(label=label, environment=document.get("environment", {}), options=document.get("options", {}),
                calibration_s=calibration, partial=bool(document.get("partial")))
