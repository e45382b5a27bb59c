"""Does the harness's median agree with torch.utils.benchmark.Timer.blocked_autorange?

Acceptance figure: on the same closure and the same thread count, the harness's median is within 5% of
Timer's. The closures are built by the harness's own method builders, so both timers time exactly the call
the harness times in a run. The two timers alternate `--repeat` rounds on each closure (harness, Timer,
harness, Timer, ...); each round gives one ratio harness/Timer, and a closure's figure is the median of its
rounds' ratios, printed with their spread (lowest and highest), so that a burst of load on a shared
machine, which hits one round, does not decide it.

    python benchmarks/timer_agreement.py [--threads 1] [--repeat 15] [--policy quick]

It prints figures; it is not a test, so it always exits 0.
"""

from __future__ import annotations

import argparse
import os
import statistics

import numpy as np
import torch
from torch.utils.benchmark import Timer

from jacobian_harness.adapters.base import METHODS, Problem, load_adapters
from jacobian_harness.timing import DEFAULT, QUICK, measure

SHAPES = [(32, 784), (784, 10), (256, 256)]  # (inputs, outputs): tall, wide and square Jacobians
HIDDEN = 64
METHOD_IDS = ["torch.func.jacrev", "torch.func.jacfwd", "torch.autograd.functional.jacobian",
              "torch.autograd.functional.jacobian[vectorize]"]
TOLERANCE = 0.05


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


POLICIES = {"default": DEFAULT, "quick": QUICK}  # the harness's timing policies: a run's, and --quick's


def harness_median(call, policy=DEFAULT) -> float:
    # The builder already ran, so `prepare` just hands the closure over; torch on CPU needs no sync.
    return measure(lambda: call, lambda result: None, policy)[1].median_s


def timer_median(call, threads: int) -> float:
    # Same wall-clock budget as the harness's DEFAULT policy, so neither side gets more samples of luck.
    timer = Timer(stmt="call()", globals={"call": call}, num_threads=threads)
    return timer.blocked_autorange(min_run_time=DEFAULT.budget_s).median


def compare(call, threads: int, repeat: int, policy=DEFAULT) -> tuple[float, float, list[float]]:
    """Both sides' median of medians, and the ratio harness/Timer of each round (one of each, back to back)."""
    ours, theirs = [], []
    for _ in range(repeat):
        ours.append(harness_median(call, policy))
        theirs.append(timer_median(call, threads))
    return statistics.median(ours), statistics.median(theirs), [a / b for a, b in zip(ours, theirs, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=15, help="alternating rounds per closure (default: %(default)s)")
    parser.add_argument("--policy", choices=sorted(POLICIES), default="default",
                        help="the harness's timing policy: a run's (default) or --quick's")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)  # Timer sets num_threads itself; the harness runs under this

    print(f"torch {torch.__version__}, threads={args.threads}, rounds={args.repeat}, harness policy {args.policy}, "
          f"load {_load()}")
    print(f"{'closure':<62} {'harness':>11} {'Timer':>11} {'ratio':>6} {'spread':>13}  within {TOLERANCE:.0%}")
    ratios = []
    for name, call in closures():
        ours, theirs, rounds = compare(call, args.threads, args.repeat, POLICIES[args.policy])
        ratio = statistics.median(rounds)
        ratios.append(ratio)
        ok = "yes" if abs(ratio - 1) <= TOLERANCE else "NO"
        print(f"{name:<62} {ours * 1e3:9.4f}ms {theirs * 1e3:9.4f}ms {ratio:6.3f} "
              f"{min(rounds):6.3f}-{max(rounds):5.3f}  {ok}")
    within = sum(abs(r - 1) <= TOLERANCE for r in ratios)
    worst = max(ratios, key=lambda r: abs(r - 1))
    print(f"{within}/{len(ratios)} closures within {TOLERANCE:.0%}; median ratio harness/Timer "
          f"{statistics.median(ratios):.3f} (closures from {min(ratios):.3f} to {max(ratios):.3f}); worst {worst:.3f}; "
          f"load {_load()}")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())

if __name__ == "__main__":
    main()
