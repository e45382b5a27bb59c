"""Does `compare` cry wolf? A/A comparisons of runs of the same torch, and one planted slowdown.

    python benchmarks/aa_check.py RUN1 RUN2 RUN3 RUN4 [--plant CASE] [--factor 1.25]
    python benchmarks/aa_check.py --make 4 --quick --out reports/aa     # makes the runs first

Compares RUN1 with each later run (three A/A comparisons for four runs) and prints the speed verdicts of
each: on runs of the same torch, any `slower` or `faster` is a false alarm. Then it plants a slowdown: a
copy of RUN2 with every timing sample of CASE's torch pairs multiplied by --factor (the samples, so the
test sees exactly what a real 25% slowdown of those pairs would give), compared with RUN1. It prints which
pairs were flagged: the planted ones should be, and nothing else.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

from harness.changes import Settings, compare_runs
from harness.results import load_jacobians, load_results


def make_runs(count: int, out: Path, extra: list[str]) -> list[Path]:
    runs = []
    for k in range(1, count + 1):
        target = out / f"run{k}"
        subprocess.run([sys.executable, "-m", "harness", "run", "--out", str(target), *extra], check=False,
                       stdout=subprocess.DEVNULL)
        runs.append(target)
    return runs


def compare(base: Path, new: Path, new_document: dict | None = None) -> dict:
    base_document = load_results(base)
    new_document = new_document or load_results(new)
    return compare_runs(base_document, new_document, load_jacobians(base), load_jacobians(new), Settings())


def flagged(comparison: dict) -> list[tuple[str, str, str]]:
    return [(p["case"], p["method"], p["speed"]["verdict"]) for p in comparison["pairs"]
            if p["speed"] and not p["control"] and p["speed"]["verdict"] in ("slower", "faster")]


def plant(document: dict, case_id: str, factor: float, library: str = "torch") -> tuple[dict, list]:
    planted = json.loads(json.dumps(document))
    pairs = []
    for record in planted["results"]:
        if record["case"] == case_id and record["backend"] == library and (record.get("time") or {}).get("samples_s"):
            record["time"]["samples_s"] = [s * factor for s in record["time"]["samples_s"]]
            pairs.append((record["case"], record["method"]))
    return planted, pairs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", type=Path)
    parser.add_argument("--make", type=int, default=0, help="make this many runs first (into --out)")
    parser.add_argument("--out", type=Path, default=Path("reports/aa"))
    parser.add_argument("--quick", action="store_true", help="with --make: quick runs")
    parser.add_argument("--plant", default="seed.classifier", help="the case whose torch pairs are slowed")
    parser.add_argument("--factor", type=float, default=1.25)
    args = parser.parse_args()
    runs = args.runs or make_runs(args.make, args.out, ["--quick"] if args.quick else [])
    if len(runs) < 2:
        parser.error("give at least two runs (or --make N)")
    false_alarms = 0
    for later in runs[1:]:
        comparison = compare(runs[0], later)
        alarms = flagged(comparison)
        false_alarms += len(alarms)
        summary = comparison["summary"]
        print(f"A/A {runs[0].name} vs {later.name}: {summary['pairs']} pairs, {summary['slower']} slower, "
              f"{summary['faster']} faster, {summary['same']} same, {summary['inconclusive']} inconclusive"
              + (f"; flagged: {alarms[:5]}" if alarms else ""))
    print(f"false alarms over {len(runs) - 1} A/A comparisons: {false_alarms}")
    planted_document, planted_pairs = plant(load_results(runs[1]), args.plant, args.factor)
    comparison = compare(runs[0], runs[1], planted_document)
    hits = flagged(comparison)
    found = [(c, m) for c, m, verdict in hits if (c, m) in planted_pairs and verdict == "slower"]
    others = [(c, m, v) for c, m, v in hits if (c, m) not in planted_pairs]
    print(f"planted {args.factor:g}x in {len(planted_pairs)} torch pairs of {args.plant}: {len(found)} flagged slower, "
          f"{len(others)} other pairs flagged" + (f": {others[:5]}" if others else ""))
    shutil.rmtree(args.out / "planted", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
