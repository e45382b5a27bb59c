"""The run document (`results.json`) as typed definitions: every field named once, with its meaning.

harness/document.py creates, merges, saves and loads documents of this shape; every command and view reads
only them. The comparison document has its own definitions (harness/comparison/document.py).

History of the format (`schema_version`; `document.load` reads every version listed here):
    1  the first: no `options.command`, `environment.backends` nor the case summaries' `position`;
       backend versions only under `environment.versions` (tensorflow's not at all). Read and upgraded
       (`document.upgrade`): the command is told from the options, the backends from the versions.
    2  `options.command` says which command wrote it; `environment.backends` names every registered backend
       with its version. Later additions that older version 2 files lack (readers must allow their absence):
       `environment.compile_cache`, `cost`, `skipped_cases`, the case summaries' `position` and
       `not_twice_differentiable`, the records' `quantity`, `declaration` and `sample_digest`,
       `options.ab_confirm_rounds` and the timings' `confirm_round_medians_s` (`ab`'s second stage), the
       case summaries' `family`, `options.samples` as "all" (`--samples all`), an opinfo case's
       `meta.arguments` (its sample's non-tensor arguments, which known.toml's `where` matches).

Non-finite floats are written as the strings "nan", "inf", "-inf" so that the file stays strict JSON.
`jacobians.npz` beside it holds one array per Jacobian block, keyed "<case>|<method>|<dtype>|<block>", plus
"<case>|reference|float64|<block>"; it is read with allow_pickle=False.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

from jacobian_harness.records import Record

SCHEMA_VERSION = 2
READS = (1, 2)  # the schema versions `document.load` accepts (older ones are upgraded)
KIND = "jacobian-harness.run"
Command = Literal["run", "ab", "sweep", "merge", "check"]
COMMANDS: tuple[Command, ...] = ("run", "ab", "sweep", "merge", "check")


class CompileCache(TypedDict, total=False):
    """The compile cache a run had (harness.caches.CompileCache.describe)."""
    state: str                        # warm (entries at the start), cold (empty) or off
    directory: str | None             # None for a temporary (--cold) cache
    temporary: bool
    entries_before: dict[str, int]    # files per framework's cache, at the start
    entries_after: dict[str, int]


class Environment(TypedDict, total=False):
    """What a result depends on besides the code under test (harness.environment.collect)."""
    python: str
    implementation: str
    platform: str
    cpu: str                          # after `merge` of parts from several machines: "N machines"
    cpu_count: int | None
    threads: int
    thread_variables: dict[str, str | None]
    versions: dict[str, str | None]   # package -> version (harness.environment.packages)
    backends: dict[str, str | None]   # every registered backend -> its version, None where not installed
    started_at: str                   # UTC, ISO 8601
    finished_at: str
    wall_s: float                     # the run's length
    command: str                      # the command line
    compile_cache: CompileCache
    machines: list[str]               # after `merge` of parts from several machines: their cpus


class RunOptions(TypedDict, total=False):
    """What was asked: the command, the selection and how pairs were evaluated and timed."""
    command: Command                  # which command wrote the document
    dtype: str                        # float64, float32 or both
    quick: bool
    seed: int | None                  # None: each case's own seed
    threads: int
    jobs: int
    shard: str | None                 # "K/N": the K-th of N parts of whole cases (harness.runner.shard_cases)
    size: str | dict[str, Any]
    max_memory: int | None            # bytes a pair may need, or None
    rounds: int
    timing: dict[str, Any]            # harness.timing.TimingPolicy's fields
    cases: list[str] | None           # the patterns given, or None
    methods: list[str] | None
    case_files: list[str]
    selected_methods: list[str]
    packs: list[str]
    samples: int | str | None         # samples per operator of a generated pack: a count, or "all"
    ab_rounds: int                    # `ab`: its timing rounds
    ab_id: str                        # `ab`: the two sides of one A/B share it
    ab_timed: list[str] | str         # `ab`: the backends its rounds timed, or "all" with --time-controls
    ab_confirm_rounds: int            # `ab`: confirmation rounds of the screen's candidates (0: one stage)
    merged_from: list[str]            # `merge`: the part directories
    sweep: dict[str, Any]             # `sweep`: {family, grid}


class DivergenceSummary(TypedDict):
    """A declared divergence, as the document keeps it (harness.divergence.Divergence)."""
    methods: str
    kind: str
    reason: str
    issue: str | None
    versions: str | None


class CaseSummary(TypedDict, total=False):
    """One case of the run (document.case_summary and document.add_case)."""
    id: str
    description: str
    tags: list[str]
    family: str                       # its operator family (harness.families), "" for none
    source: str                       # "library" or the defining file
    row_independent: bool
    per_sample: bool
    order: int                        # 1: a Jacobian of f; 2: the Hessian of a scalar f
    sizes: dict[str, dict[str, Any]]
    not_twice_differentiable: str     # why the second-order checks do not apply; "" where they do
    analytic: bool                    # whether the case has an analytic Jacobian
    pack: str
    meta: dict[str, Any]              # what the pack records: a sample's fingerprint, torch's own expectations
    divergences: list[DivergenceSummary]
    input_shapes: list[list[int]]
    wrt: list[int] | None             # the differentiated inputs
    output_shape: list[int] | None
    n_in: int | None                  # full first-order Jacobians only
    n_out: int | None
    calibration_s: list[float]        # the worker's calibration samples (harness.timing.calibrate)
    seed: int
    position: int                     # the case's place in the whole selection, also in a `--shard` part


class Cost(TypedDict, total=False):
    """Where a run's time went (harness.cost.run_cost); merged documents keep none (their parts' differ)."""
    wall_s: float
    jobs: int
    capacity_s: float                 # wall x workers
    pairs_s: float                    # every record's wall_s
    prepare_s: float                  # tracing, compiling, first calls
    timed_s: float                    # the timed calls themselves
    outside_pairs_s: float            # capacity - pairs: process start, imports, judging
    efficiency: float | None          # timed / capacity
    compile_cache: str | None
    by_method: dict[str, float]
    by_pack: dict[str, float]


class Interrupted(TypedDict):
    """An interrupted run: what it holds, and the command that finishes it."""
    cases_finished: int
    cases_planned: int
    evaluations_journaled: int
    resume: str


class RunDocument(TypedDict, total=False):
    """results.json."""
    schema_version: int
    kind: str                         # KIND
    environment: Environment
    options: RunOptions
    cases: dict[str, CaseSummary]
    skipped_cases: dict[str, str]     # what a pack could not make into a case: id -> reason
    results: list[Record]             # one per (case, method, dtype)
    cost: Cost
    partial: bool                     # the run did not finish (or a merged part did not)
    interrupted: Interrupted
    resumed_pairs: int                # how many evaluations `run --resume` took from the journal
