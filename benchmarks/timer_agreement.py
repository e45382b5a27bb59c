"""Does the harness's median agree with torch.utils.benchmark.Timer.blocked_autorange?

Acceptance figure: on the same closure and the same thread count, the harness's median is within 10%
of Timer's. The closures are built by the harness's own method builders, so both timers time exactly
the call the harness times in a run.

    python benchmarks/timer_agreement.py [--threads 1] [--repeat 3]

It prints figures; it is not a test, so it always exits 0.
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
import torch
from torch.utils.benchmark import Timer

from harness.adapters.base import METHODS, Problem, load_adapters
from harness.timing import DEFAULT, measure

SHAPES = [(32, 784), (784, 10), (256, 256)]  # (inputs, outputs): tall, wide and square Jacobians
HIDDEN = 64
METHOD_IDS = ["torch.func.jacrev", "torch.func.jacfwd", "torch.autograd.functional.jacobian",
              "torch.autograd.functional.jacobian[vectorize]"]
TOLERANCE = 0.10


def mlp_problem(n_in: int, n_out: int) -> Problem:
    """A float64 two-layer tanh MLP with seeded weights, as the Problem a method builder receives."""
    rng = np.random.default_rng(0)
    w1, b1 = (torch.from_numpy(rng.standard_normal(s) / np.sqrt(n_in)) for s in [(HIDDEN, n_in), HIDDEN])
    w2, b2 = (torch.from_numpy(rng.standard_normal(s) / np.sqrt(HIDDEN)) for s in [(n_out, HIDDEN), n_out])
    fn = lambda x: torch.tanh(w2 @ torch.tanh(w1 @ x + b1) + b2)  # noqa: E731
    return Problem(fn=fn, args=(torch.from_numpy(rng.standard_normal(n_in)),), out_shape=(n_out,))


def closures():
    load_adapters()
    for n_in, n_out in SHAPES:
        problem = mlp_problem(n_in, n_out)
        for method_id in METHOD_IDS:
            yield f"mlp {n_in}->{n_out}  {method_id}", METHODS[method_id].build(torch, problem)


def harness_median(call) -> float:
    # The builder already ran, so `prepare` just hands the closure over; torch on CPU needs no sync.
    return measure(lambda: call, lambda result: None, DEFAULT)[1].median_s


def timer_median(call, threads: int) -> float:
    # Same wall-clock budget as the harness's DEFAULT policy, so neither side gets more samples of luck.
    timer = Timer(stmt="call()", globals={"call": call}, num_threads=threads)
    return timer.blocked_autorange(min_run_time=DEFAULT.budget_s).median


def compare(call, threads: int, repeat: int) -> tuple[float, float]:
    # Interleave the two timers and keep the median of each side's medians, so that a burst of load
    # on a shared machine hits both sides alike instead of biasing whichever ran during it.
    ours, theirs = [], []
    for _ in range(repeat):
        ours.append(harness_median(call))
        theirs.append(timer_median(call, threads))
    return statistics.median(ours), statistics.median(theirs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)  # Timer sets num_threads itself; the harness runs under this

    print(f"torch {torch.__version__}, threads={args.threads}, repeat={args.repeat}")
    print(f"{'closure':<62} {'harness':>11} {'Timer':>11} {'ratio':>6}  within 10%")
    ratios = []
    for name, call in closures():
        ours, theirs = compare(call, args.threads, args.repeat)
        ratio = ours / theirs
        ratios.append(ratio)
        ok = "yes" if abs(ratio - 1) <= TOLERANCE else "NO"
        print(f"{name:<62} {ours * 1e3:9.4f}ms {theirs * 1e3:9.4f}ms {ratio:6.3f}  {ok}")
    within = sum(abs(r - 1) <= TOLERANCE for r in ratios)
    worst = max(ratios, key=lambda r: abs(r - 1))
    print(f"{within}/{len(ratios)} closures within 10%; worst ratio harness/Timer = {worst:.3f}")


if __name__ == "__main__":
    main()
