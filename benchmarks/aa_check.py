"""Does `compare` cry wolf? A/A comparisons of runs of the same torch, and one planted slowdown.

    python benchmarks/aa_check.py --make 4 --out reports/aa       # makes four runs, then checks them
    python benchmarks/aa_check.py RUN1 RUN2 RUN3 RUN4 [--plant CASE] [--factor 1.25]
    python benchmarks/aa_check.py --ab 3 --out reports/aa-ab      # three interleaved A/A runs (`ab`)
    python benchmarks/aa_check.py --ab-dirs AB1 AB2 AB3           # check `ab` outputs made before

`--make N` runs the quick library's torch methods N times, one after another, each with `--rounds 3`
(every pair timed in three fresh processes; extra run options after `--run-args`). Then it compares RUN1
with each later run (three A/A comparisons for four runs) and prints the speed verdicts: on runs of the
same torch, any pair or case called `slower` or `faster` is a false alarm. Then it plants a slowdown: a copy
of RUN2 with every timing of CASE's torch pairs multiplied by --factor (samples and per-round medians, on
both clocks: exactly what a real slowdown of those pairs would give the test), compared with RUN1. It
prints which cases and pairs were flagged: the planted case should be, and nothing else.

`--ab N` makes N interleaved A/A runs instead (`jacobian-harness ab` with this Python on both sides, --rounds
8: four timing rounds a side in fresh processes, each pair on both sides back to back) and compares each
one's two sides; the slowdown is planted in the NEW side of the first. With two or more, it also prints how
much narrower the intervals are side by side than between separate runs (BASE of one ab vs the next's).
Run it with the Python of the environment to check (`.tox/torch215/bin/python benchmarks/aa_check.py ...`):
both sides of an A/A are that environment.

Every A/A comparison also counts correctness and numerics alarms (verdict changes, Jacobians beyond
tolerance): on the same torch there must be none. Jacobians that changed within tolerance are counted too
(run-to-run nondeterminism of a kernel, not an alarm).

`--detect` answers "how small a slowdown does this protocol find here?": for each case with library pairs
(a seeded sample of `--detect-cases`, default 20), it plants factors of `--ladder` (bisected), alone, into
that case's pairs of the first A/A's NEW side and prints the smallest factor at which the case is called
slower with nothing else flagged; then the
distribution over cases, beside the intervals' half-widths (a change within `--min-effect`, 10% by
default, is never called, by design).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from jacobian_harness.comparison import Settings, compare_runs
from jacobian_harness.document import load as load_results
from jacobian_harness.render.compare_first_screen import first_screen_lines
from jacobian_harness.render.view import inline_markdown
from jacobian_harness.results import load_jacobians

RUN_ARGS = ["--quick", "--rounds", "3", "--methods", "torch.*"]
AB_ARGS = ["--quick", "--rounds", "8", "--methods", "torch.*", "--jobs", "2"]
TIMING_LISTS = ("samples_s", "cpu_samples_s", "round_medians_s", "round_cpu_medians_s", "confirm_round_medians_s",
                "confirm_round_cpu_medians_s")


def make_runs(count: int, out: Path, extra: list[str]) -> list[Path]:
    runs = []
    for k in range(1, count + 1):
        target = out / f"run{k}"
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "jacobian_harness", "run", "--out", str(target), *extra], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(f"made {target} in {time.perf_counter() - started:.0f} s", flush=True)
        runs.append(target)
    return runs


def make_ab_runs(count: int, out: Path, extra: list[str]) -> list[Path]:
    runs = []
    for k in range(1, count + 1):
        target = out / f"ab{k}"
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "jacobian_harness", "ab", "--base-python", sys.executable, "--new-python",
                        sys.executable, "--out", str(target), *extra], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(f"made {target} in {time.perf_counter() - started:.0f} s", flush=True)
        runs.append(target)
    return runs


def compare(base: Path, new: Path, new_document: dict | None = None) -> dict:
    return compare_runs(load_results(base), new_document or load_results(new), load_jacobians(base),
                        load_jacobians(new), Settings())


def correctness_alarms(comparison: dict) -> int:
    """Verdict changes and Jacobians beyond tolerance: on the same torch, every one is a false alarm."""
    s = comparison["summary"]
    return s["regressions"] + s["fixes"] + s["changed"] + s["drift"]




def flagged(comparison: dict) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """(pairs, cases, methods and operator families) called slower or faster."""
    pairs = [(p["case"], p["method"], p["speed"]["verdict"]) for p in comparison["pairs"]
             if p["speed"] and not p["control"] and p["speed"]["verdict"] in ("slower", "faster")]
    cases = [(c["case"], c["verdict"]) for c in comparison.get("cases", []) if c["verdict"] in ("slower", "faster")]
    methods = [(m["method"], m["verdict"]) for m in comparison.get("methods", [])
               if m["verdict"] in ("slower", "faster")]
    methods += [(f"family {f['family']}" + (f": {f['method']}" if f.get("method") else ""), f["verdict"])
                for f in comparison.get("families", []) if f["verdict"] in ("slower", "faster")]
    return pairs, cases, methods


def interval_widths(comparison: dict) -> tuple[float, float]:
    """Median log-width of the 95% intervals of NEW/BASE: over the library's pairs, and over the cases."""
    pairs = [np.log(p["speed"]["high"] / p["speed"]["low"]) for p in comparison["pairs"]
             if p["speed"] and not p["control"] and p["speed"].get("low")]
    cases = [np.log(c["high"] / c["low"]) for c in comparison["cases"] if c.get("low")]
    return float(np.median(pairs)), float(np.median(cases))


def print_interval_widths(sides: list[tuple[Path, Path]]) -> None:
    """How much side by side narrows the intervals: each ab's two sides (paired rounds) against the BASE
    sides of two different ab runs (separate runs, minutes apart, the same number of rounds)."""
    paired = [interval_widths(compare(base, new)) for base, new in sides]
    for name, index in (("pairs", 0), ("cases", 1)):
        width = float(np.median([w[index] for w in paired]))
        print(f"median 95% interval of {name}, side by side: log-width {width:.3f}, i.e. NEW/BASE x/÷ "
              f"{np.exp(width / 2):.3f}")
    separate = [interval_widths(compare(sides[k][0], sides[k + 1][0])) for k in range(len(sides) - 1)]
    if not separate:
        return
    for name, index in (("pairs", 0), ("cases", 1)):
        side_by_side, apart = np.median([w[index] for w in paired]), np.median([w[index] for w in separate])
        print(f"median 95% interval log-width of {name}: {side_by_side:.3f} side by side (one ab) vs "
              f"{apart:.3f} for separate runs (BASE of one ab vs BASE of the next): {side_by_side / apart:.2f}x")


def plant(document: dict, case_id: str | None, factor: float, library: str = "torch",
          method_id: str | None = None) -> tuple[dict, list]:
    """A copy of the document with every timing of case_id's library pairs (or of method_id's, in every case;
    of the one pair (case_id, method_id) where both are given) multiplied by factor."""
    planted = json.loads(json.dumps(document))
    pairs = []
    for record in planted["results"]:
        timing = record.get("time") or {}
        chosen = ((record["case"], record["method"]) == (case_id, method_id) if case_id and method_id
                  else record["method"] == method_id if method_id else record["case"] == case_id)
        if chosen and record["backend"] == library and timing.get("samples_s"):
            for name in TIMING_LISTS:
                if timing.get(name):
                    timing[name] = [s * factor for s in timing[name]]
            pairs.append((record["case"], record["method"]))
    return planted, pairs


def library_only(document: dict, library: str = "torch") -> dict:
    """The document with only the library's records: the planted comparisons judge speed alone, and the other
    backends' pairs (controls, judged on their raw samples with a bootstrap each) would only cost time."""
    return {**document, "results": [r for r in document["results"] if r["backend"] == library]}


def first_found(ladder: list[float], found) -> float | None:
    """The smallest factor of the ladder for which found(factor) holds, or None. A larger slowdown is found
    whenever a smaller one is: bisect the ladder (each comparison takes seconds)."""
    low, high = 0, len(ladder)
    while low < high:
        middle = (low + high) // 2
        if found(ladder[middle]):
            high = middle
        else:
            low = middle + 1
    return ladder[low] if low < len(ladder) else None


def smallest_found(base: dict, new: dict, case_id: str, ladder: list[float], baseline: set) -> float | None:
    """The smallest factor of the ladder that, planted in case_id's library pairs alone, gets the case called
    slower and flags no other case or pair beyond what the unplanted comparison flagged (`baseline`); None if
    none does. Speed only: the Jacobians are not compared. (A method verdict the planted pairs move is theirs.)"""
    def found(factor: float) -> bool:
        pairs, cases, _ = flagged(compare_runs(base, plant(new, case_id, factor)[0], {}, {}, Settings()))
        others = {("case", c, v) for c, v in cases if c != case_id} | {
            ("pair", c, m, v) for c, m, v in pairs if c != case_id}
        return (case_id, "slower") in cases and others <= baseline

    return first_found(ladder, found)


def smallest_found_method(base: dict, new: dict, method_id: str, ladder: list[float], baseline: set) -> float | None:
    """As smallest_found, for a slowdown of one method in every case: the smallest factor at which the method
    is called slower and no other method is flagged beyond the unplanted comparison's."""
    def found(factor: float) -> bool:
        _, _, methods = flagged(compare_runs(base, plant(new, None, factor, method_id=method_id)[0], {}, {},
                                             Settings()))
        others = {("method", m, v) for m, v in methods if m != method_id and not _holds_method(m, method_id)}
        return (method_id, "slower") in methods and others <= baseline

    return first_found(ladder, found)


def _holds_method(group: str, method_id: str) -> bool:
    """Whether a flagged family group holds the planted method's pairs: the family with that method
    ("family det: M"), or a whole family ("family det"), whose pairs include M's. Either moving with the
    planted method is the plant seen again, not a false alarm (until 2026-12-08 they were counted as one, and
    torch.compile[jacfwd], whose families move with it, came out "not found up to 3x")."""
    return group.startswith("family ") and (": " not in group or group.endswith(f": {method_id}"))


def print_method_detection(base: dict, new: dict, ladder: list[float]) -> None:
    comparison = compare_runs(base, new, {}, {}, Settings())
    baseline = {("method", m, v) for m, v in flagged(comparison)[2]}
    found = {}
    for entry in [m for m in comparison.get("methods", []) if m.get("test") == "rounds"]:
        found[entry["method"]] = smallest_found_method(base, new, entry["method"], ladder, baseline)
        half_width = np.sqrt(entry["high"] / entry["low"])
        print(f"  {entry['method']}: {entry['pairs']} pairs, 95% interval x/÷ {half_width:.3f}, smallest found: "
              + (f"{found[entry['method']]:g}x" if found[entry["method"]] else f"none up to {ladder[-1]:g}x"),
              flush=True)
    factors = sorted(f for f in found.values() if f)
    if factors:
        print(f"smallest slowdown found, planted in one method (every case) at a time, over {len(found)} methods: "
              f"median {np.median(factors):g}x, best {factors[0]:g}x, worst {factors[-1]:g}x; not found up to "
              f"{ladder[-1]:g}x: {len(found) - len(factors)}")


def print_pair_detection(base: dict, new: dict, ladder: list[float], sample: int) -> None:
    """Per pair, in two stages (`ab --confirm-rounds`): the smallest factor at which a pair planted alone passes
    the screen (becomes a candidate), over a seeded sample of the pairs; and, for the pairs the A/A timed again
    (its own candidates: only they have confirmation rounds to plant into), the smallest factor called slower.
    A pair the A/A did not time again has no confirmation rounds here: its confirmation cannot be replayed."""
    from jacobian_harness.comparison.confirm import candidates

    comparison = compare_runs(base, new, {}, {}, Settings())
    if not comparison["summary"].get("stages"):
        return
    screened = [p for p in comparison["pairs"] if (p["speed"] or {}).get("stage")]
    again = [p for p in screened if p["speed"]["stage"] == "confirm"]
    if sample and sample < len(screened):
        screened = [screened[k] for k in sorted(np.random.default_rng(0).choice(len(screened), sample, replace=False))]

    def passes(pair: dict, factor: float) -> bool:
        planted = compare_runs(base, plant(new, pair["case"], factor, method_id=pair["method"])[0], {}, {}, Settings())
        return (pair["case"], pair["method"], pair["dtype"]) in candidates(planted["pairs"], Settings().min_effect)

    def called(pair: dict, factor: float) -> bool:
        planted = compare_runs(base, plant(new, pair["case"], factor, method_id=pair["method"])[0], {}, {}, Settings())
        return any(p["speed"]["verdict"] == "slower" for p in planted["pairs"]
                   if (p["case"], p["method"], p["dtype"]) == (pair["case"], pair["method"], pair["dtype"]))

    for what, pairs, found in (("passes the screen", screened, passes), ("is confirmed slower", again, called)):
        factors = [first_found(ladder, lambda f, pair=pair, found=found: found(pair, f)) for pair in pairs]
        hits = sorted(f for f in factors if f)
        if hits:
            print(f"a pair planted alone {what} from: median {np.median(hits):g}x, 90th percentile "
                  f"{np.quantile(hits, 0.9, method='higher'):g}x, best {hits[0]:g}x over {len(pairs)} pairs; not up "
                  f"to {ladder[-1]:g}x: {len(pairs) - len(hits)}", flush=True)


def print_detection(base_dir: Path, new_dir: Path, ladder: list[float], sample: int) -> None:
    base, new = library_only(load_results(base_dir)), library_only(load_results(new_dir))
    comparison = compare_runs(base, new, {}, {}, Settings())
    pairs, cases, _ = flagged(comparison)
    baseline = {("case", c, v) for c, v in cases} | {("pair", c, m, v) for c, m, v in pairs}
    judged = [c for c in comparison["cases"] if c.get("test") == "rounds"]
    if sample and sample < len(judged):  # a seeded sample of the cases: every case costs a few comparisons
        judged = [judged[k] for k in sorted(np.random.default_rng(0).choice(len(judged), sample, replace=False))]
    found = {}
    for entry in judged:
        found[entry["case"]] = smallest_found(base, new, entry["case"], ladder, baseline)
        half_width = np.sqrt(entry["high"] / entry["low"])
        print(f"  {entry['case']}: {entry['pairs']} pairs, 95% interval x/÷ {half_width:.3f}, smallest found: "
              + (f"{found[entry['case']]:g}x" if found[entry["case"]] else f"none up to {ladder[-1]:g}x"), flush=True)
    factors = sorted(f for f in found.values() if f)
    missed = len(found) - len(factors)
    if factors:
        print(f"smallest slowdown found, planted in one case at a time, over {len(found)} cases: median "
              f"{np.median(factors):g}x, 90th percentile {np.quantile(factors, 0.9, method='higher'):g}x, "
              f"best {factors[0]:g}x; not found up to {ladder[-1]:g}x: {missed}")
        for factor in ladder:
            print(f"  found at or below {factor:g}x: {sum(f <= factor for f in factors)} of {len(found)} cases")
    print_method_detection(base, new, ladder)
    print_pair_detection(base, new, ladder, sample)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", type=Path)
    parser.add_argument("--make", type=int, default=0, help="make this many runs first (into --out)")
    parser.add_argument("--out", type=Path, default=Path("reports/aa"))
    parser.add_argument("--ab", type=int, default=0, help="make this many interleaved A/A runs (into --out)")
    parser.add_argument("--ab-dirs", nargs="+", type=Path, default=[], help="outputs of `ab` runs made before")
    parser.add_argument("--run-args", nargs=argparse.REMAINDER, default=None,
                        help=f"options of the runs --make or --ab makes (default: {' '.join(RUN_ARGS)}; with "
                             f"--ab: {' '.join(AB_ARGS)})")
    parser.add_argument("--plant", default="seed.classifier", help="the case whose torch pairs are slowed")
    parser.add_argument("--factor", type=float, default=1.25)
    parser.add_argument("--detect", action="store_true",
                        help="per case, the smallest factor of --ladder found when planted in it alone")
    parser.add_argument("--ladder", default="1.05,1.1,1.125,1.15,1.2,1.25,1.3,1.4,1.5,2,3",
                        help="planted factors for --detect, ascending (default: %(default)s)")
    parser.add_argument("--detect-cases", type=int, default=20, metavar="N",
                        help="--detect on a seeded sample of N of the judged cases (0: all; default: %(default)s)")
    args = parser.parse_args()
    if args.ab or args.ab_dirs:
        made = args.ab_dirs or make_ab_runs(args.ab, args.out, args.run_args or AB_ARGS)
        sides = [(d / "base", d / "new") for d in made]
    else:
        runs = args.runs or make_runs(args.make, args.out, args.run_args or RUN_ARGS)
        sides = [(runs[0], later) for later in runs[1:]]
    if not sides:
        parser.error("give at least two runs (or --make N, --ab N, --ab-dirs)")
    pair_alarms = case_alarms = method_alarms = value_alarms = 0
    for base, new in sides:
        comparison = compare(base, new)
        pairs, cases, methods = flagged(comparison)
        pair_alarms += len(pairs)
        case_alarms += len(cases)
        method_alarms += len(methods)
        value_alarms += correctness_alarms(comparison)
        s = comparison["summary"]
        print(f"A/A {base} vs {new} ({comparison['settings']['clock']} clock): "
              f"{s['pairs']} pairs: {s['slower']} slower, {s['faster']} faster, {s['same']} same, "
              f"{s['inconclusive']} inconclusive; cases: {s['slower_cases']} slower, {s['faster_cases']} faster; "
              f"methods: {s.get('slower_methods', 0)} slower, {s.get('faster_methods', 0)} faster"
              + (f"; flagged: {(pairs + cases + methods)[:5]}" if pairs or cases or methods else ""))
        print("".join(f"  {inline_markdown(line)}\n" for line in first_screen_lines(comparison, "torch")[:2]), end="")
    print(f"false alarms over {len(sides)} A/A comparisons: speed {pair_alarms} pairs, {case_alarms} cases, "
          f"{method_alarms} methods; "
          f"correctness and numerics {value_alarms}")
    if args.ab_dirs or args.ab:
        print_interval_widths(sides)
    base, new = sides[0]
    planted_document, planted_pairs = plant(load_results(new), args.plant, args.factor)
    comparison = compare(base, new, planted_document)
    pairs, cases, methods = flagged(comparison)
    case = next((c for c in comparison["cases"] if c["case"] == args.plant), None)
    found_pairs = [(c, m) for c, m, v in pairs if (c, m) in planted_pairs and v == "slower"]
    other_pairs = [(c, m, v) for c, m, v in pairs if (c, m) not in planted_pairs]
    other_cases = [(c, v) for c, v in cases if c != args.plant]
    judged = (f"{case['verdict']} ({case['ratio']:.3g} [{case['low']:.3g}, {case['high']:.3g}])" if case
              else "not judged")
    print(f"planted {args.factor:g}x in the {len(planted_pairs)} torch pairs of {args.plant}: case {judged}"
          + f", {len(found_pairs)} of its pairs flagged slower; other cases flagged: {len(other_cases)}"
          + (f" {other_cases[:5]}" if other_cases else "") + f"; other pairs flagged: {len(other_pairs)}"
          + (f" {other_pairs[:5]}" if other_pairs else "") + f"; methods flagged: {methods}")
    if args.detect:
        print_detection(base, new, [float(f) for f in args.ladder.split(",")], args.detect_cases)
    return 0


if __name__ == "__main__":
    sys.exit(main())
