"""Where a finished run's time went, from its results.json alone: wall time, worker capacity (wall x workers),
the pairs' own time (wall_s of every record: inputs, f, preparation, timed calls), preparation (prepare_s:
tracing, compilation, first calls), the timed calls themselves (samples x calls per sample), and the harness
efficiency (timed calls / capacity). Per method and per pack, the pairs' time.

    python benchmarks/run_cost.py reports/latest [--top 15]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path


def cost(document: dict) -> dict:
    env, options = document.get("environment", {}), document.get("options", {})
    wall = env.get("wall_s") or 0.0
    jobs = max(1, options.get("jobs") or 1)
    pairs = prepare = timed = 0.0
    by_method: dict[str, float] = defaultdict(float)
    by_pack: dict[str, float] = defaultdict(float)
    packs = {case_id: summary.get("pack") or "" for case_id, summary in document.get("cases", {}).items()}
    for record in document["results"]:
        spent = record.get("wall_s") or 0.0
        pairs += spent
        by_method[record["method"]] += spent
        by_pack[packs.get(record["case"], "")] += spent
        time = record.get("time") or {}
        prepare += time.get("prepare_s") or 0.0
        timed += sum(time.get("samples_s") or ()) * (time.get("number") or 1)
    capacity = wall * jobs
    return {"wall_s": wall, "jobs": jobs, "capacity_s": capacity, "pairs_s": pairs, "prepare_s": prepare,
            "timed_s": timed, "efficiency": timed / capacity if capacity else None,
            "outside_pairs_s": capacity - pairs, "records": len(document["results"]),
            "cases": len(document.get("cases", {})), "by_method": dict(by_method), "by_pack": dict(by_pack)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", help="a run directory or its results.json")
    parser.add_argument("--top", type=int, default=15, help="methods to list (default: %(default)s)")
    args = parser.parse_args(argv)
    path = Path(args.run)
    path = path / "results.json" if path.is_dir() else path
    try:
        document = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        print(f"run_cost.py: cannot read {path}: {exc}", file=sys.stderr)
        return 2
    c = cost(document)
    share = (lambda x: f"{100 * x / c['capacity_s']:.0f}%") if c["capacity_s"] else (lambda x: "n/a")
    print(f"{c['records']} pairs on {c['cases']} cases: wall {c['wall_s']:.0f} s x {c['jobs']} workers = "
          f"{c['capacity_s']:.0f} s of capacity")
    print(f"  in the pairs      {c['pairs_s']:8.0f} s  {share(c['pairs_s'])}")
    print(f"    preparation     {c['prepare_s']:8.0f} s  {share(c['prepare_s'])}")
    print(f"    timed calls     {c['timed_s']:8.0f} s  {share(c['timed_s'])}  (the harness efficiency)")
    print(f"  outside the pairs {c['outside_pairs_s']:8.0f} s  {share(c['outside_pairs_s'])}  (process start, "
          f"imports, generating cases, calibration, messages, judging)")
    for pack, spent in sorted(c["by_pack"].items(), key=lambda item: -item[1]):
        print(f"  pack {pack or '(case files)':12} {spent:8.0f} s in its pairs")
    print("  slowest methods (their pairs' time):")
    for method, spent in sorted(c["by_method"].items(), key=lambda item: -item[1])[:args.top]:
        print(f"    {spent:8.1f} s  {method}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
