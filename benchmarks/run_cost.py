"""Where a run's time went (harness.cost): wall time, worker capacity (wall x workers), preparation (tracing,
compiling, first calls), the timed calls themselves, the harness efficiency (timed calls / capacity), the
rest; then per method and per pack, the pairs' time.

    python benchmarks/run_cost.py reports/latest [--top 15]           # a finished run, from its results.json
    python benchmarks/run_cost.py --cold-and-warm -- --quick [--cases 'op.*' ...]

The second form runs a chosen selection (the arguments after `--` go to `jacobian-harness run`) twice with
one new compile cache: first cold (empty: what a first run pays), then warm (what every later run pays),
and prints both side by side with the load before and after each. Its runs and the cache go under --out
(default: a new temporary directory, kept).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jacobian_harness.cost import cost_line, run_cost


def load_cost(path: Path) -> dict:
    path = path / "results.json" if path.is_dir() else path
    document = json.loads(path.read_text())
    return document.get("cost") or run_cost(document)


def print_cost(cost: dict, top: int) -> None:
    print(f"  {cost_line(cost)}")
    for pack, spent in cost["by_pack"].items():
        print(f"  pack {pack or '(case files)':12} {spent:8.0f} s in its pairs")
    print("  slowest methods (their pairs' time):")
    for method, spent in list(cost["by_method"].items())[:top]:
        print(f"    {spent:8.1f} s  {method}")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cold_and_warm(run_args: list[str], out: Path, top: int) -> int:
    cache = out / "cache"
    costs = {}
    for name in ("cold", "warm"):
        before = _load()
        started = time.monotonic()
        command = [sys.executable, "-m", "jacobian_harness", "run", *run_args, "--cache-dir", str(cache),
                   "--out", str(out / name)]
        completed = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if completed.returncode not in (0, 1):  # 1: a failing verdict, still a finished run
            print(f"run_cost.py: `{' '.join(command)}` exited {completed.returncode}", file=sys.stderr)
            return 2
        costs[name] = load_cost(out / name)
        print(f"{name}: {time.monotonic() - started:.0f} s for the command (load before {before}, after {_load()})")
        print_cost(costs[name], top)
    cold, warm = costs["cold"], costs["warm"]
    if cold["wall_s"]:
        print(f"warm / cold: wall {warm['wall_s'] / cold['wall_s']:.2f}, preparation "
              f"{warm['prepare_s'] / max(cold['prepare_s'], 1e-9):.2f}, timed calls "
              f"{warm['timed_s'] / max(cold['timed_s'], 1e-9):.2f}")
    print(f"runs and cache: {out}")
    return 0


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    run_args = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", nargs="?", help="a run directory or its results.json")
    parser.add_argument("--cold-and-warm", action="store_true",
                        help="run the selection after `--` twice with a new cache: cold, then warm")
    parser.add_argument("--out", default=None, help="where --cold-and-warm puts its runs and cache")
    parser.add_argument("--top", type=int, default=15, help="methods to list (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.cold_and_warm:
        out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="run-cost-"))
        return cold_and_warm(run_args, out, args.top)
    if not args.run:
        parser.error("give a run directory, or --cold-and-warm -- RUN ARGUMENTS")
    try:
        cost = load_cost(Path(args.run))
    except (OSError, json.JSONDecodeError, KeyError) as exc:
        print(f"run_cost.py: cannot read {args.run}: {exc}", file=sys.stderr)
        return 2
    print(f"{args.run}:")
    print_cost(cost, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
