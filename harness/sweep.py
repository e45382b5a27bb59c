"""Sweeps: how each method's cost grows with the input and output sizes, and where forward mode wins.

A family is a case whose input factory takes `n_in` and `n_out`; a sweep evaluates every method at each
point of its grid, with the usual verdicts, and writes the results in the run schema (each record's
`size` is its point). `rule()` reads only saved records; harness.render.sweep draws them.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from dataclasses import dataclass

from jacobian_harness.records import Record
from jacobian_harness import casedef
from jacobian_harness.casedef import Case, make_case
from jacobian_harness.timing import cost_of_calls_s

FAMILIES: dict[str, Family] = {}

# Powers of two along each axis through a common centre: where one mode overtakes the other.
DEFAULT_GRID = tuple([{"n_in": n, "n_out": 16} for n in (2, 4, 8, 32, 64, 128)]
                     + [{"n_in": 16, "n_out": n} for n in (2, 4, 8, 16, 32, 64, 128)])
QUICK_GRID = tuple([{"n_in": n, "n_out": 16} for n in (2, 8, 64)] + [{"n_in": 16, "n_out": n} for n in (2, 16, 64)])


@dataclass(frozen=True)
class Family:
    id: str
    case: Case
    grid: tuple[dict, ...] = DEFAULT_GRID
    quick_grid: tuple[dict, ...] = QUICK_GRID


def family(*, id: str, grid=DEFAULT_GRID, quick_grid=QUICK_GRID, **case_fields):
    """Declare a sweep family: `@family(id="sweep.mlp", inputs=lambda rng, n_in, n_out: (...))`."""

    def declare(function):
        if id in FAMILIES:
            raise ValueError(f"sweep family {id!r} is defined twice")
        FAMILIES[id] = Family(id, make_case(function, id=id, **case_fields), tuple(grid), tuple(quick_grid))
        return FAMILIES[id]

    return declare


def load_families() -> None:
    """Load the sweep families of the entry point group `jacobian_harness.sweeps` (the built-in ones:
    `cases.sweeps`, which registers them on import)."""
    from jacobian_harness.plugins import SWEEP_GROUP, load_plugins

    load_plugins(SWEEP_GROUP, "sweep family pack")


def point_id(family_id: str, point: dict) -> str:
    return f"{family_id}[" + ",".join(f"{k}={v}" for k, v in point.items()) + "]"


def point_cases(family_: Family, quick: bool) -> list[tuple[str, dict]]:
    """Register the family's case once per grid point and return (id, point) pairs; a point is evaluated
    with `Options(size=point)`, which hands it to the input factory."""
    pairs = []
    for point in family_.quick_grid if quick else family_.grid:
        case_id = point_id(family_.id, point)
        # Set, not registered: running a sweep again in one process replaces its points.
        casedef.CASES[case_id] = dataclasses.replace(family_.case, id=case_id)
        pairs.append((case_id, point))
    return pairs


# -- analysis of saved records ------------------------------------------------------------------------------

def grid_size(record: Record) -> tuple[int, int] | None:
    """(n_in, n_out) of a sweep record: its grid point."""
    size = record.get("size")
    return (size["n_in"], size["n_out"]) if isinstance(size, dict) else None


def _best_by_mode(records: list[Record], sizes, calls: int | None = None) -> dict[tuple, dict[str, float]]:
    """(backend, n_in, n_out, *rest of sizes(r)) -> {mode: cost of `calls` calls of its fastest agreeing method}."""
    best: dict[tuple[str, int, int], dict[str, float]] = defaultdict(dict)
    for r in records:
        size, median = sizes(r), cost_of_calls_s(r.get("time"), calls)
        if r["status"] != "agree" or size is None or median is None:
            continue
        if r["mode"] not in ("forward", "reverse"):
            continue
        key = (r["backend"], *size)
        best[key][r["mode"]] = min(median, best[key].get(r["mode"], math.inf))
    return best


# A threshold is stated as a rule only where it rests on this many points and this share of them follows it:
# with two points, any threshold fits one of them.
RULE_MIN_POINTS = 3
RULE_MIN_SHARE = 0.8


def rule(records: list[Record], sizes=grid_size, unit: str = "points", calls: int | None = None) -> dict[str, dict]:
    """Per backend: forward mode wins when n_in < n_out / k; the k that misclassifies fewest points.

    `sizes(record)` gives a record's (n_in, n_out, *more), or None to leave it out; records of equal
    sizes(r) are one point (a grid point of a sweep; one case of a run). Each point votes
    for the faster mode (fastest agreeing method of each). Candidate thresholds are the points' own
    n_out/n_in ratios (and their geometric midpoints); the smallest error wins. `calls`: compare the modes
    by what that many calls cost, preparation included (harness.timing.cost_of_calls_s); None: warm calls.
    A rule with too little support (RULE_MIN_POINTS, RULE_MIN_SHARE) says so instead of stating a threshold.
    """
    points: dict[str, list[tuple[float, bool, float]]] = defaultdict(list)
    for (backend, n_in, n_out, *_), modes in _best_by_mode(records, sizes, calls).items():
        if "forward" in modes and "reverse" in modes:
            points[backend].append((n_out / n_in, modes["forward"] < modes["reverse"],
                                    modes["reverse"] / modes["forward"]))
    rules = {}
    for backend, votes in points.items():
        ratios = sorted({ratio for ratio, _, _ in votes})
        # The ratios, their midpoints, and one beyond each end (where every point votes for one mode).
        candidates = (ratios + [math.sqrt(a * b) for a, b in zip(ratios, ratios[1:], strict=False)]
                      + [ratios[0] / 2, ratios[-1] * 2])

        def errors(k, votes=votes):
            return sum((ratio > k) != forward_wins for ratio, forward_wins, _ in votes)

        k = min(candidates, key=lambda c: (errors(c), abs(math.log(c))))
        follow, total = len(votes) - errors(k), len(votes)
        supported = total >= RULE_MIN_POINTS and follow >= RULE_MIN_SHARE * total
        forward = sum(forward_wins for _, forward_wins, _ in votes)
        if supported:
            text = (f"{backend}: forward mode is faster when n_in < n_out / {k:.3g} "
                    f"({follow} of {total} {unit} follow this rule)")
        else:
            text = (f"{backend}: no rule: forward mode was faster in {forward} of {total} {unit}, and the best "
                    f"threshold (n_in < n_out / {k:.3g}) fits only {follow} of them; a rule needs at least "
                    f"{RULE_MIN_POINTS} {unit}, {RULE_MIN_SHARE:.0%} of them following it")
        rules[backend] = {"k": k, "misclassified": errors(k), "points": total, "supported": supported,
                          "text": text}
    return rules


def rule_lines(records: list[Record], sizes=grid_size, unit: str = "points") -> list[str]:
    """The rule for warm calls and for one call with its preparation, as Markdown list items."""
    lines = []
    for calls, label in ((None, "per call, once prepared"), (1, "for one call, preparation included")):
        found = rule(records, sizes, unit, calls)
        lines += [f"- {label}: {r['text']}" for r in found.values()]
    return lines or ["- (not enough agreeing forward and reverse results)"]


