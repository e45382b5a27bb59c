"""The comparison document (compare.json): every field named once, with its meaning, its schema version, the
settings that make one, and its one loader.

A comparison is a plain dict (written as it is by harness.results.write_json, keys in the order built here);
the TypedDicts below list its fields, and `harness.comparison.runs.compare_runs` builds the summary and each
pair through them. The run document (results.json) has its own definition and version (harness.document).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from jacobian_harness.results import ResultsError, read_json
from jacobian_harness.run_schema import KIND as RUN_KIND  # to tell a run's results passed as a comparison
from jacobian_harness.stats import ALPHA, MIN_EFFECT

KIND = "jacobian-harness.comparison"
SCHEMA_VERSION = 1  # of the comparison document (compare.json); the run document has its own
FILE_NAME = "compare.json"
# A comparison whose median pair could not have called a change this large judges no speed (Summary.too_noisy):
# "nothing slower" would then say nothing (issue 30: a whole-library `ab` on a busy machine, pair intervals
# x/÷ 1.28, called a real x2.9 Hessian slowdown inconclusive after Holm's adjustment over 1407 pairs).
NOISY_PAIR = 1.5


@dataclass(frozen=True)
class Settings:
    """What the caller asks of a comparison (the document's `settings` records it, with what was chosen)."""
    min_effect: float = MIN_EFFECT
    alpha: float = ALPHA
    library: str = "torch"  # the package whose versions are expected to differ
    clock: str = "cpu"      # "cpu": test the process-CPU-time samples where both runs have them; "wall"


class ComparisonSettings(TypedDict):
    """How the speed verdicts were reached."""
    min_effect: float             # smallest slowdown or speed-up called a change (0.1: 10%)
    alpha: float                  # significance level of each test (before Holm's adjustment)
    library: str                  # the package under test; other frameworks' pairs are controls
    noise_z: float                # the run-to-run noise widens single-run intervals at this many sd
    clock: str                    # the clock whose samples were tested: "cpu" or "wall"
    paired: bool                  # the two runs are the sides of one `ab`: rounds compared round by round
    test: str                     # the tests, in words


class Side(TypedDict):
    """One of the two runs compared (BASE or NEW)."""
    label: str                    # what the caller named it (its directory)
    environment: dict[str, Any]   # its run document's environment
    options: dict[str, Any]       # its run document's run options
    calibration_s: float | None   # median of its calibration samples (None: none recorded)
    partial: bool                 # the run was interrupted


class ValueChange(TypedDict):
    """How a pair's Jacobian moved from BASE to NEW (harness.comparison.values)."""
    max_abs_change: float | None  # largest |new - base|
    max_rel_change: float | None  # largest |new - base| / |base|, a 0 relative to its block's scale
    worst_index: list[int] | None  # [block, *index] of the entry furthest outside tolerance
    new: Any                      # NEW's value there
    base: Any                     # BASE's value there
    reason: str                   # why the two differ beyond tolerance (empty within it)


class SpeedVerdict(TypedDict, total=False):
    """A speed verdict (harness.stats.SpeedChange.as_record), of a pair or of a group of pairs."""
    ratio: float                  # NEW / BASE time (NEW divided by the machine's speed change first)
    low: float | None             # 95% interval of the ratio (None: a group of single runs, not judged)
    high: float | None
    p_slower: float               # one-sided p-values, before adjustment
    p_faster: float
    verdict: str                  # "slower", "faster", "same" or "inconclusive"
    p_slower_adjusted: float      # Holm-adjusted over the family (pairs, cases or methods timed in rounds)
    p_faster_adjusted: float
    # The smallest slowdown (NEW/BASE; its inverse for a speed-up) the test would have called at its noise, were
    # it the only change of its family (harness.stats.detectable_by_t, detectable_by_samples); None: none could
    # be called. Absent from comparisons written before 2026-12-07.
    detectable: float | None


class PairSpeed(SpeedVerdict, total=False):
    """A pair's speed verdict (harness.comparison.speed)."""
    test: str                     # "rounds" (per-round medians) or "samples" (one process's samples)
    rounds: list[int]             # with rounds: how many on each side, [BASE, NEW]
    paired: bool                  # with rounds: compared round by round (the sides of one `ab`)
    within_low: float             # with samples: the interval from the samples alone, before widening
    within_high: float
    run_noise_sigma: float        # with samples: the run-to-run noise (log sd) the interval was widened by
    # Two stages (an `ab` with confirmation rounds, harness.comparison.confirm); absent from comparisons of one
    # stage and from those written before 2026-12-08:
    stage: str                    # "screen": judged on the screen's rounds; "confirm": a candidate, timed again
    screen: SpeedVerdict          # with stage "confirm": the screen's verdict that made it a candidate
    outcome: str                  # with stage "confirm": "confirmed", "fell back" (to noise) or "reversed"


class GroupSpeed(SpeedVerdict, total=False):
    """A speed verdict over a group of library pairs (harness.comparison.speed.group_speeds)."""
    pairs: int                    # how many pairs the verdict stands on
    test: str                     # "rounds" (per-round scores) or "spread" (median against all groups')


class CaseSpeed(GroupSpeed, total=False):
    """The speed verdict of one case over its library pairs."""
    case: str


class MethodSpeed(GroupSpeed, total=False):
    """The speed verdict of one library method over its pairs in every case."""
    method: str


class FamilySpeed(GroupSpeed, total=False):
    """The speed verdict of an operator family (harness.families) over its library pairs, or over those of one
    method (`method` present)."""
    family: str
    method: str


class Pair(TypedDict):
    """One (case, method, dtype) pair of both runs."""
    case: str
    method: str
    dtype: str
    base_status: str              # the verdict in BASE (harness.records.VERDICTS)
    new_status: str               # the verdict in NEW
    correctness: str              # "regression", "fix", "changed" or "same" (harness.comparison.correctness)
    base_message: str             # why, in BASE
    new_message: str              # why, in NEW
    values: str | None            # "identical", "touched", "drift" or "fixed"; None: a side saved no Jacobian
    declared_change: bool         # both expected a divergence, declared differently (changed form per version)
    drift: ValueChange | None     # the change where it is beyond tolerance (values "drift")
    change: ValueChange | None    # the change where the Jacobian moved at all
    speed: PairSpeed | None       # None: not timed on both sides
    sample_changed: bool          # another input behind the same case id: a verdict change is no regression
    control: bool                 # a pair of another framework, same version: measures the machine only


class Stages(TypedDict):
    """How the pairs' speed verdicts were reached in two stages (harness.comparison.confirm)."""
    screened: int                 # library pairs judged on rounds in the screen
    candidates: int               # of those, timed again in the confirmation rounds
    confirmed: int                # candidates whose confirmation called the screen's change
    fell_back: int                # candidates whose confirmation called no change (noise)
    reversed: int                 # candidates whose confirmation called the opposite change
    rounds: list[int]             # rounds a side: [screen, confirmation]


class LargestChange(TypedDict):
    """The pair whose Jacobian moved most, relatively (a fix's move to the reference excluded)."""
    case: str
    method: str
    dtype: str
    max_rel_change: float | None
    max_abs_change: float | None


class Summary(TypedDict):
    """The counts a first screen and the exit code read."""
    pairs: int                    # pairs in both runs
    regressions: int              # correctness "regression"
    fixes: int                    # correctness "fix"
    changed: int                  # other verdict changes
    declared_changes: int         # expected divergences that changed form as declared per version
    drift: int                    # Jacobians beyond tolerance
    jacobians_compared: int       # pairs with a saved Jacobian on both sides
    jacobians_changed: int        # of those, not bit for bit the same
    jacobians_touched: int        # changed within tolerance
    jacobians_fixed: int          # a wrong value that became the reference's
    largest_change: LargestChange | None
    verdict_changes: dict[str, int]  # "BASE -> NEW" verdicts: how many pairs, most first
    sample_changed_cases: int     # cases with another input behind the same id
    slower: int                   # library pairs' speed verdicts of each kind
    faster: int
    same: int
    inconclusive: int
    geomean_ratio: float | None   # geometric mean of the library pairs' NEW / BASE ratios
    control_pairs: int            # timed pairs of other frameworks (not judged)
    slower_cases: int
    faster_cases: int
    slower_methods: int
    faster_methods: int
    slower_families: int          # families, and families x methods (absent before 2026-12-08)
    faster_families: int
    slower_backed: int            # slower verdicts backed by rounds (of pairs, cases, methods, families): these fail
    # Per kind of verdict ("pair": the library's timed pairs, "case", "method", "family": operator families, from
    # 2026-12-08): the median of its verdicts' smallest callable change (SpeedVerdict.detectable), None where the
    # median one could call none; a kind without verdicts is absent. Both fields are absent from comparisons
    # written before 2026-12-07.
    detectable: dict[str, float | None]
    too_noisy: bool               # the median pair could not have called a NOISY_PAIR change: speed not judged
    stages: Stages | None         # None: one stage (absent from comparisons written before 2026-12-08)
    failed: bool                  # a regression, drift or backed slowdown: the comparison fails (exit 1)


class Comparison(TypedDict):
    """The comparison document, compare.json."""
    schema_version: int           # SCHEMA_VERSION
    kind: str                     # KIND
    settings: ComparisonSettings
    base: Side
    new: Side
    calibration_scale: float      # NEW / BASE calibration time, dividing NEW's wall samples (1.0 on CPU time)
    noise_floor: dict[str, float]  # per decade of BASE time ("-4": 100 us), the run-to-run noise (log sd)
    environment_warnings: list[str]  # what differs between the runs besides the library under test
    only_in_base: list[list[str]]  # pair keys [case, method, dtype] in BASE only
    only_in_new: list[list[str]]
    summary: Summary
    cases: list[CaseSpeed]
    methods: list[MethodSpeed]
    families: list[FamilySpeed]   # operator families, whole and by method (absent before 2026-12-08)
    pairs: list[Pair]


class ComparisonError(ResultsError):
    """A comparison file is missing, unreadable, not a comparison, or of another schema; the message names it."""


def load_comparison(path: str | Path) -> Comparison:
    """Read and check a compare.json (or the directory holding one)."""
    path = Path(path)
    if path.is_dir():
        path = path / FILE_NAME
    document = read_json(path, "comparison", ComparisonError)
    kind = document.get("kind") if isinstance(document, dict) else None
    if kind == RUN_KIND:
        raise ComparisonError(f"{path}: a run's results (kind {RUN_KIND!r}), not a comparison: "
                              f"`jacobian-harness compare BASE NEW` makes a comparison of two runs")
    if kind != KIND:
        raise ComparisonError(f"{path}: not a jacobian-harness comparison (kind {kind!r}, expected {KIND!r})")
    if document.get("schema_version") != SCHEMA_VERSION:
        raise ComparisonError(f"{path}: comparison schema_version {document.get('schema_version')!r} is not "
                              f"supported (this harness reads {SCHEMA_VERSION}; compare the two runs again "
                              f"with this version, or use the jacobian-harness that wrote it)")
    return document
