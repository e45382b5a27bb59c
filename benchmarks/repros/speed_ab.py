"""Standalone speed repro (no harness): time Jacobian calls in two Python environments, interleaved.

    python benchmarks/repros/speed_ab.py --base-python .tox/torch214/bin/python \
        --new-python .tox/torch215/bin/python benchmarks/repros/speed_snippets/clip_at_bound.py

A snippet is a plain Python file that builds its inputs at module level and defines either `jacobian()`, the
one call to time, or `JACOBIANS`, a dict of named calls (one per method of a case; torch only). Each round
starts a fresh process per side (A B or B A alternately, so that neither side always runs second), which
sets one thread, runs the snippet and, for each call in turn, calls it a few times to warm up and takes the
median of timeit repeats. Per call, the figure is the median over rounds of the per-round ratio NEW/BASE,
with a 95% interval from a t-test on the rounds' log ratios. With several calls, the snippet's figure is the
harness's case figure done by hand: per round, the mean over calls of log(NEW/BASE), then the same t-test.
A claimed speed change of the harness reproduces when this interval excludes 1 on the same side.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys

from scipy import stats

CHILD = """
import json, runpy, statistics, sys, timeit
import torch
torch.set_num_threads(1)
namespace = runpy.run_path(sys.argv[1])
calls = namespace.get("JACOBIANS") or {"jacobian": namespace["jacobian"]}
medians = {}
for name, call in calls.items():
    for _ in range(3):
        call()
    timer = timeit.Timer(call)
    number, _ = timer.autorange()
    number = max(1, number // 4)
    medians[name] = statistics.median(t / number for t in timer.repeat(repeat=15, number=number))
print(json.dumps({"median_s": medians, "torch": torch.__version__}))
"""


def one_round(python: str, snippet: str) -> dict:
    done = subprocess.run([python, "-c", CHILD, snippet], capture_output=True, text=True, check=False,
                          env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    if done.returncode != 0:
        sys.exit(f"{python} failed on {snippet}: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def interval(logs: list[float]) -> str:
    """Geometric mean of the ratios with its 95% t-interval, from per-round log ratios."""
    centre = statistics.mean(logs)
    half = stats.t.ppf(0.975, len(logs) - 1) * statistics.stdev(logs) / math.sqrt(len(logs))
    return f"{math.exp(centre):.3f} [95% interval {math.exp(centre - half):.3f}, {math.exp(centre + half):.3f}]"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("snippet")
    parser.add_argument("--base-python", required=True)
    parser.add_argument("--new-python", required=True)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    if args.rounds < 2:
        parser.error("--rounds must be at least 2 (the interval needs two rounds)")
    logs: dict[str, list[float]] = {}
    versions = {}
    for k in range(args.rounds):
        order = (("base", args.base_python), ("new", args.new_python))
        results = {side: one_round(python, args.snippet) for side, python in (order if k % 2 == 0 else order[::-1])}
        versions = {side: r["torch"] for side, r in results.items()}
        for name, base_s in results["base"]["median_s"].items():
            logs.setdefault(name, []).append(math.log(results["new"]["median_s"][name] / base_s))
        print(f"round {k + 1}: " + ", ".join(
            f"{name} {results['base']['median_s'][name] * 1e6:.1f} -> {results['new']['median_s'][name] * 1e6:.1f} us"
            for name in results["base"]["median_s"]), flush=True)
    print(f"{args.snippet}: torch {versions['base']} -> {versions['new']}, {args.rounds} interleaved rounds, NEW/BASE:")
    for name, per_round in logs.items():
        print(f"  {name}: median {math.exp(statistics.median(per_round)):.3f}, geometric mean {interval(per_round)}")
    if len(logs) > 1:
        per_round_mean = [statistics.mean(values) for values in zip(*logs.values(), strict=True)]
        print(f"  all {len(logs)} calls (per round, the mean log ratio): geometric mean {interval(per_round_mean)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
