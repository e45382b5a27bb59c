"""The typed requests of the commands that run pairs. A command reads its arguments once into one frozen
request (`RunRequest.from_args`), which checks them with the same one-line usage errors as before, and runs it
with a plain function that tests call without argv (`run.execute_run`, `ab.execute_ab`). Nothing below a
command sees argparse's Namespace.

A field is named as its option's argparse dest (`--case-file` -> case_file), so that a usage error can name
the option it came from, and a run's journal keeps the selection under the names it always had."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the commands import what they run when they run it
    from jacobian_harness.run_schema import Environment, RunDocument

import os
import sys
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from jacobian_harness.commands.common import (UsageError, choose_compile_cache, load_cases, pack_options_from,
                                              packs_from, select_or_fail)


def _tuple(values) -> tuple[str, ...] | None:
    return None if values is None else tuple(values)


def _list(values) -> list[str] | None:
    return None if values is None else list(values)


def parse_shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise UsageError(f"--shard must look like K/N (e.g. 2/4), not {text!r}") from None
    if not 1 <= k <= n:
        raise UsageError(f"--shard {text}: K must be between 1 and N")
    return k, n


class Request:
    """A command's arguments, read once (`from_args`) into a frozen dataclass that checks them when made."""

    @classmethod
    def from_args(cls, args):
        """The request of a parsed command line: the fields this class has, taken from their dests."""
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)})


@dataclass(frozen=True, kw_only=True)
class CaseSource(Request):
    """Where the cases come from (common.case_source_options): `run`, `ab` and `list`."""
    pack: tuple[str, ...] | None = None     # --pack; None: the built-in library
    samples: int | str | None = None        # sample inputs per operator of a generated pack: a count or "all"
                                            # (None: the default)
    case_file: tuple[str, ...] = ()
    no_builtin: bool = False

    def __post_init__(self) -> None:  # lists from argparse or JSON, frozen as tuples
        object.__setattr__(self, "pack", _tuple(self.pack))
        object.__setattr__(self, "case_file", tuple(self.case_file or ()))

    @property
    def packs(self) -> list[str]:
        """The packs to load: --pack (default builtin), less builtin with --no-builtin."""
        return packs_from(self.pack, self.no_builtin)

    @property
    def pack_options(self) -> dict:
        return pack_options_from(self.samples)

    def load_cases(self) -> list[str]:
        """The ids of the cases of the packs and case files (common.load_cases)."""
        return load_cases(self.packs, self.pack_options, self.case_file)


@dataclass(frozen=True, kw_only=True)
class PairRequest(CaseSource):
    """What to evaluate and how to time it: the options `run` and `ab` share (common.pair_options)."""
    # Which pairs
    cases: tuple[str, ...] | None = None    # shell-style patterns on case ids (None: all)
    methods: tuple[str, ...] | None = None  # ... on method ids
    dtype: str = "float64"                  # float64, float32 or both
    # How they run and are timed
    quick: bool = False
    threads: int = 1
    seed: int | None = None
    size: str = "small"
    max_memory: str | None = None           # as given (e.g. 4G); None: half the free memory
    timeout: float = 300.0
    cache_dir: str | None = None
    cold: bool = False
    verbose: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "cases", _tuple(self.cases))
        object.__setattr__(self, "methods", _tuple(self.methods))
        if not self.timeout > 0:
            raise UsageError(f"--timeout must be a positive number of seconds, not {self.timeout:g}")
        if self.seed is not None and self.seed < 0:
            raise UsageError(f"--seed must be a non-negative integer, not {self.seed}")
        if self.threads < 1:
            raise UsageError(f"--threads must be at least 1, not {self.threads}")

    @property
    def dtypes(self) -> list[str]:
        return ["float64", "float32"] if self.dtype == "both" else [self.dtype]

    def max_memory_bytes(self, jobs: int) -> int | None:
        from jacobian_harness.memory import default_max_memory, parse_size

        if self.max_memory is None:
            return default_max_memory(jobs) or None
        try:
            size = parse_size(self.max_memory)
        except ValueError as exc:
            raise UsageError(f"--max-memory: {exc}") from None
        if size <= 0:
            raise UsageError(f"--max-memory must be positive, not {self.max_memory!r}")
        return size

    def options(self, dtype: str, jobs: int):
        """The evaluation options (harness.evaluate.Options) of one dtype, for `jobs` workers."""
        from jacobian_harness.evaluate import Options
        from jacobian_harness.timing import DEFAULT, QUICK

        return Options(dtype=dtype, timing=QUICK if self.quick else DEFAULT, threads=self.threads, seed=self.seed,
                       size=self.size, max_memory=self.max_memory_bytes(jobs))

    def worker_setup(self, cache, python: str | None = None, log: Path | None = None):
        """How a worker (harness.worker) of this request starts: its cases, threads, timeout, interpreter,
        log file, and the environment of the compile cache `cache` (harness.caches.CompileCache)."""
        from jacobian_harness.worker import WorkerSetup

        return WorkerSetup(packs=tuple(self.packs), pack_options=self.pack_options,
                           case_files=tuple(str(Path(p).resolve()) for p in self.case_file),
                           threads=self.threads, timeout_s=self.timeout, python=python or sys.executable,
                           log=None if log is None else str(log), env=cache.environment())

    def new_document(self, command: str, options, *, jobs: int, rounds: int, selected_methods,
                     skipped: dict[str, str], shard: str | None = None,
                     environment: Environment | None = None) -> RunDocument:
        """The empty run document (harness.document.new_document) of this request's selection."""
        from jacobian_harness.document import new_document

        return new_document(command, options, dtype=self.dtype, quick=self.quick, jobs=jobs, shard=shard,
                            rounds=rounds, cases=_list(self.cases), methods=_list(self.methods),
                            case_files=list(self.case_file), selected_methods=selected_methods, packs=self.packs,
                            samples=self.pack_options["samples"], skipped=skipped, environment=environment)


@dataclass(frozen=True, kw_only=True)
class RunRequest(PairRequest):
    """`run`: the pairs, where they go, and how the run is split (--jobs, --shard, --rounds, --resume)."""
    out: str | None = None        # None: a new reports/runs/TIMESTAMP
    jobs: int | None = None       # None: one per CPU, at most one per 2 GiB of free memory (filled in here)
    shard: str | None = None      # K/N
    junit: str | None = None
    rounds: int = 1
    resume: str | None = None     # the directory of an interrupted run to finish
    no_timing: bool = False       # judge every pair from its first call, time none

    def __post_init__(self) -> None:
        jobs = self.jobs
        if jobs is None:
            from jacobian_harness.environment import default_jobs

            jobs = default_jobs()
            object.__setattr__(self, "jobs", jobs)
        if jobs < 0:
            raise UsageError(f"--jobs must be 0 (in this process) or a number of workers, not {jobs}")
        super().__post_init__()
        if self.rounds < 1 or (self.rounds > 1 and self.jobs == 0):
            raise UsageError(f"--rounds must be at least 1, and more than 1 needs worker processes (--jobs 1 or "
                             f"more), not --rounds {self.rounds} with --jobs {self.jobs}")
        parse_shard(self.shard)  # a bad --shard is a usage error before anything runs
        if self.no_timing and (self.quick or self.rounds > 1):
            raise UsageError(f"--no-timing times nothing: leave out {'--quick' if self.quick else '--rounds'}")

    def options(self, dtype: str, jobs: int):
        """PairRequest.options, with --no-timing: every pair judged from its first call (timing.ONCE)."""
        from jacobian_harness.timing import ONCE

        options = super().options(dtype, jobs)
        return replace(options, timing=ONCE) if self.no_timing else options

    @property
    def workers(self) -> int:
        """--jobs, with its default filled in when the request was made."""
        assert self.jobs is not None, "RunRequest.__post_init__ fills in --jobs"
        return self.jobs

    @property
    def out_dir(self) -> Path:
        """--out, once the run has chosen it (harness.commands.run names a new directory where it was not given)."""
        if self.out is None:
            raise ValueError("the run's output directory is chosen before anything is written into it")
        return Path(self.out)

    @property
    def shard_parts(self) -> tuple[int, int] | None:
        """(K, N) of --shard K/N."""
        return parse_shard(self.shard)

    def selection(self) -> dict:
        """What decides what the run evaluates, as JSON: kept in its journal, taken from there by --resume
        (harness.commands.run); case files by absolute path, so that the run resumes from anywhere."""
        fields_ = asdict(self)
        chosen = {name: list(fields_[name]) if isinstance(fields_[name], tuple) else fields_[name]
                  for name in RUN_SELECTION}
        chosen["case_file"] = [str(Path(p).resolve()) for p in self.case_file]
        return chosen

    def given_with_resume(self) -> str | None:
        """The first option of what the run evaluates (or --out) given beside --resume, which takes them all
        from the interrupted run."""
        defaults = RunRequest(jobs=self.jobs)
        for name in RUN_SELECTION + ("out",):
            if getattr(self, name) != getattr(defaults, name):
                return name
        return None


# The fields of a RunRequest that decide what a run evaluates: its journal keeps them (RunRequest.selection).
RUN_SELECTION = ("cases", "methods", "dtype", "quick", "seed", "threads", "size", "shard", "case_file", "no_builtin",
                 "rounds", "pack", "samples", "no_timing")


@dataclass(frozen=True, kw_only=True)
class AbRequest(PairRequest):
    """`ab`: the two environments, the rounds, and where the two runs and their comparison go."""
    base_python: str
    new_python: str
    rounds: int = 8
    confirm_rounds: int = 16      # the screen's candidates timed again in these (0: one stage)
    jobs: int = 1
    out: str = "reports/ab"
    library: str = "torch"
    time_controls: bool = False

    def __post_init__(self) -> None:
        if self.rounds < 4 or self.rounds % 2:
            raise UsageError(f"--rounds must be an even number of at least 4 (two fresh processes a side), "
                             f"not {self.rounds}")
        if self.confirm_rounds and (self.confirm_rounds < 4 or self.confirm_rounds % 2):
            raise UsageError(f"--confirm-rounds must be 0 (no second stage) or an even number of at least 4, not "
                             f"{self.confirm_rounds}")
        for name in ("base_python", "new_python"):
            path = getattr(self, name)
            if not (Path(path).is_file() and os.access(path, os.X_OK)):
                raise UsageError(f"--{name.replace('_', '-')} {path}: not an executable file")
        if not self.timeout > 0:  # ab's order of checks: its own, then --timeout, --jobs, --seed, --threads
            raise UsageError(f"--timeout must be a positive number of seconds, not {self.timeout:g}")
        if self.jobs < 1:
            raise UsageError(f"--jobs must be at least 1, not {self.jobs}")
        super().__post_init__()


def with_compile_cache(request: PairRequest, body) -> int:
    """What `run` and `ab` do first: limit the threads and enter the compile cache (both before any framework
    is imported), then body(cache) inside it."""
    from jacobian_harness.environment import limit_threads

    limit_threads(request.threads)
    cache = choose_compile_cache(request.cache_dir, request.cold)
    with cache.applied():
        return body(cache)


def selected_pairs(request: PairRequest) -> tuple[list[str], list[str]]:
    """The request's case ids and method ids, from its packs and case files; a pattern that matches nothing
    is a usage error."""
    from jacobian_harness.adapters import METHODS, load_adapters

    case_ids = request.load_cases()
    load_adapters()
    return select_or_fail(case_ids, request.cases, "cases"), select_or_fail(METHODS, request.methods, "methods")


@dataclass(frozen=True, kw_only=True)
class SweepRequest(Request):
    """`sweep`: every method of a family's order timed at each point of its grid of sizes, in this process."""
    family: str
    methods: tuple[str, ...] | None = None
    dtype: str = "float64"
    out: str = "reports/sweep"
    quick: bool = False           # a smaller grid and a short timing budget
    threads: int = 1
    verbose: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "methods", _tuple(self.methods))
        if self.threads < 1:
            raise UsageError(f"--threads must be at least 1, not {self.threads}")


@dataclass(frozen=True, kw_only=True)
class CompareRequest(Request):
    """`compare`: two saved runs, where the comparison goes, and how a speed change is judged."""
    base: str
    new: str
    out: str = "reports/compare"
    min_effect: float = 0.10
    alpha: float = 0.01
    library: str = "torch"

    def __post_init__(self) -> None:
        if not 0 <= self.min_effect < 10:
            raise UsageError(f"--min-effect must be a fraction such as 0.1, not {self.min_effect:g}")
        if not 0 < self.alpha < 1:
            raise UsageError(f"--alpha must be between 0 and 1, not {self.alpha:g}")


@dataclass(frozen=True, kw_only=True)
class MergeRequest(Request):
    """`merge`: the result directories of a run's shards, and where the merged run goes."""
    parts: tuple[str, ...]
    out: str
    allow_different_machines: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "parts", tuple(self.parts))


@dataclass(frozen=True, kw_only=True)
class ReportRequest(Request):
    """`report`: the saved run whose report.md and report.html are rendered again."""
    results: str


@dataclass(frozen=True, kw_only=True)
class ListRequest(CaseSource):
    """`list`: the backends, methods, cases (of these case sources) and sweep families."""
    json: bool = False            # machine-readable output
    check: bool = False           # import every framework to confirm that it loads
