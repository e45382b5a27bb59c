"""Where a run's time went, from its document alone: the instrument's own cost beside what it measured.

    wall        the run's length (environment.wall_s)
    capacity    wall x workers: the time the run had
    pairs       the pairs' own time (every record's wall_s: inputs, f, preparation, timed calls)
    prepare     preparation (every record's time.prepare_s: tracing, compiling, first calls)
    timed       the timed calls themselves (samples x calls per sample)
    outside     capacity - pairs: process start, imports, making cases, calibration, messages, judging
    efficiency  timed / capacity: how much of the run was the measurement itself

Preparation depends on the compile cache's state at the start (harness.caches): `compile_cache` says which.
"""

from __future__ import annotations

from jacobian_harness.run_schema import Cost, RunDocument

from collections import defaultdict


def run_cost(document: RunDocument) -> Cost:
    """The figures above, per method and per pack too (the pairs' time)."""
    environment, options = document.get("environment", {}), document.get("options", {})
    wall = environment.get("wall_s") or 0.0
    jobs = max(1, options.get("jobs") or 1)
    pairs = prepare = timed = 0.0
    by_method: dict[str, float] = defaultdict(float)
    by_pack: dict[str, float] = defaultdict(float)
    packs = {case_id: summary.get("pack") or "" for case_id, summary in document.get("cases", {}).items()}
    for record in document.get("results", []):
        spent = record.get("wall_s") or 0.0
        pairs += spent
        by_method[record["method"]] += spent
        by_pack[packs.get(record["case"], "")] += spent
        time = record.get("time") or {}
        prepare += time.get("prepare_s") or 0.0
        timed += sum(time.get("samples_s") or ()) * (time.get("number") or 1)
    capacity = wall * jobs
    cache = environment.get("compile_cache") or {}
    return {"wall_s": round(wall, 3), "jobs": jobs, "capacity_s": round(capacity, 3), "pairs_s": round(pairs, 3),
            "prepare_s": round(prepare, 3), "timed_s": round(timed, 3),
            "outside_pairs_s": round(capacity - pairs, 3),
            "efficiency": round(timed / capacity, 4) if capacity else None,
            "compile_cache": cache.get("state"),
            "by_method": {m: round(s, 3) for m, s in sorted(by_method.items(), key=lambda item: -item[1])},
            "by_pack": {p: round(s, 3) for p, s in sorted(by_pack.items(), key=lambda item: -item[1])}}


def cost_line(cost: Cost) -> str:
    """One sentence of the figures, for the console and the report's first screen: the rest of the pairs is
    inputs, f and warm-up calls; outside the pairs, process start, imports and judging."""
    capacity = cost["capacity_s"]

    def part(seconds: float, what: str = "") -> str:
        share = f"{100 * seconds / capacity:.0f}%" if capacity else "n/a"
        return f"{seconds:.0f} s ({share}{what})"

    cache = f"; compile caches {cost['compile_cache']}" if cost.get("compile_cache") else ""
    rest = cost["pairs_s"] - cost["prepare_s"] - cost["timed_s"]
    return (f"{cost['wall_s']:.0f} s wall x {cost['jobs']} worker(s) = {capacity:.0f} s: preparation "
            f"{part(cost['prepare_s'], cache)}, timed calls {part(cost['timed_s'], ': the harness efficiency')}, "
            f"rest of the pairs {part(rest)}, outside the pairs {part(cost['outside_pairs_s'])}")
