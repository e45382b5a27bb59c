"""What the second-order checks add to `jacobian-harness run --quick` on the built-in library.

Runs the quick library twice in one go, without the second-order checks and with them (the default
selection), and prints both wall times, the load before and after, and the checks' share of the pairs'
summed time in the default run, which is the figure to quote. Each run compiles into its own empty cache
(`run --cold`), so that neither finds what the other compiled (before that, the wall times of two runs one
after the other differed by which one warmed the caches: 557 s without, then 464 s with); the page cache
still favours the second. Both runs use the same worker count; run it on a quiet machine.

    python benchmarks/second_order_cost.py [--jobs N] [extra run options, e.g. --cases 'op.*']
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Every method but the second-order checks: run's --methods takes shell globs ("[!s]" is any character but s).
FIRST_ORDER_ONLY = ["--methods", "fd.[!s]*", "--methods", "torch.[!s]*", "--methods", "jax.[!s]*",
                    "--methods", "autograd.[!s]*", "--methods", "tensorflow.*"]


def load() -> str:
    return Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"


def timed_run(out: Path, extra: list[str]) -> tuple[float, dict]:
    script = Path(sys.executable).parent / "jacobian-harness"
    started = time.perf_counter()
    result = subprocess.run([str(script), "run", "--quick", "--cold", "--out", str(out), *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - started
    if result.returncode not in (0, 1):
        sys.exit(f"run failed (exit {result.returncode}): {result.stderr[-1000:]}")
    return wall, json.loads((out / "results.json").read_text())


def main(argv: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        print(f"load before: {load()}")
        base_wall, base = timed_run(Path(tmp) / "first-order", FIRST_ORDER_ONLY + argv)
        print(f"without the second-order checks: {base_wall:.0f} s, {len(base['results'])} pairs (load {load()})")
        full_wall, full = timed_run(Path(tmp) / "default", argv)
        print(f"with them (the default):         {full_wall:.0f} s, {len(full['results'])} pairs (load {load()})")
        second = [r for r in full["results"] if r.get("quantity") == "second-order"]
        share = sum(r.get("wall_s") or 0 for r in second) / sum(r.get("wall_s") or 0 for r in full["results"])
        # Both runs compile cold, but the first still warms the page cache (imports) for the second. The share of
        # the summed pair time, within one run, is not biased by the order.
        print(f"wall time ratio: {full_wall / base_wall:.3f} (both with cold compile caches)")
        print(f"the {len(second)} second-order pairs are {100 * share:.1f}% of the default run's summed pair "
              f"time: they add {100 * share / (1 - share):.0f}% to what the first-order pairs take")


if __name__ == "__main__":
    main(sys.argv[1:])
