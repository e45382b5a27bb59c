"""Standalone speed repro (no harness): time one Jacobian call in two Python environments, interleaved.

    python benchmarks/repros/speed_ab.py --base-python .tox/torch214/bin/python \
        --new-python .tox/torch215/bin/python benchmarks/repros/speed_snippets/cumsum_jacrev.py

A snippet is a plain Python file that builds its inputs at module level and defines `jacobian()`, the call to
time (torch only, float64). Each round starts a fresh process per side (A B or B A alternately, so that
neither side always runs second), which sets one thread, runs the snippet, calls `jacobian()` a few times to
warm up and reports the median of timeit repeats. The figure is the median over rounds of the per-round
ratio NEW/BASE, with a 95% interval from a t-test on the rounds' log ratios: a claimed speed change of the
harness reproduces when this interval excludes 1 on the same side.
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
import json, os, runpy, statistics, sys, timeit
import torch
torch.set_num_threads(1)
namespace = runpy.run_path(sys.argv[1])
jacobian = namespace["jacobian"]
for _ in range(3):
    jacobian()
timer = timeit.Timer(jacobian)
number, _ = timer.autorange()
number = max(1, number // 4)
samples = [t / number for t in timer.repeat(repeat=15, number=number)]
print(json.dumps({"median_s": statistics.median(samples), "torch": torch.__version__}))
"""


def one_round(python: str, snippet: str) -> dict:
    done = subprocess.run([python, "-c", CHILD, snippet], capture_output=True, text=True, check=False,
                          env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    if done.returncode != 0:
        sys.exit(f"{python} failed on {snippet}: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("snippet")
    parser.add_argument("--base-python", required=True)
    parser.add_argument("--new-python", required=True)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    ratios, versions = [], {}
    for k in range(args.rounds):
        order = (("base", args.base_python), ("new", args.new_python))
        results = {side: one_round(python, args.snippet) for side, python in (order if k % 2 == 0 else order[::-1])}
        versions = {side: r["torch"] for side, r in results.items()}
        base_s, new_s = results["base"]["median_s"], results["new"]["median_s"]
        ratios.append(new_s / base_s)
        print(f"round {k + 1}: BASE {base_s * 1e6:.1f} us, NEW {new_s * 1e6:.1f} us, NEW/BASE {ratios[-1]:.3f}",
              flush=True)
    logs = [math.log(r) for r in ratios]
    centre = statistics.mean(logs)
    half = stats.t.ppf(0.975, len(logs) - 1) * statistics.stdev(logs) / math.sqrt(len(logs))
    print(f"{args.snippet}: torch {versions['base']} -> {versions['new']}: NEW/BASE median "
          f"{statistics.median(ratios):.3f}, geometric mean {math.exp(centre):.3f} [95% interval "
          f"{math.exp(centre - half):.3f}, {math.exp(centre + half):.3f}] over {len(ratios)} interleaved rounds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
