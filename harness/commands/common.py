"""What the commands share: usage errors and exit codes, the common options, where a run's files go. A command
module (harness.commands.<name>) defines `add_arguments(parser)` and `run(args) -> exit code`, which reads the
arguments once into a typed request (harness.commands.requests) and runs it; harness.cli only parses and
dispatches."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the commands import what they run when they run it
    from jacobian_harness.run_schema import RunDocument

import argparse
import os
from pathlib import Path

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """Bad usage or input; the message says what was wrong."""


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, as for every other bad input
        raise UsageError(message)


def pair_options(parser):
    """What to evaluate and how to time it: shared by `run` and `ab`."""
    parser.add_argument("--cases", action="append", metavar="PATTERN", help="shell-style glob on case ids (repeatable)")
    parser.add_argument("--methods", action="append", metavar="PATTERN",
                        help="shell-style glob on method ids, e.g. 'torch.func.*' (repeatable)")
    parser.add_argument("--dtype", choices=("float64", "float32", "both"), default="float64",
                        help="float32 results are judged against the float64 reference (default: %(default)s)")
    parser.add_argument("--quick", action="store_true", help="short timing budget (3 samples or 10 ms per pair; "
                        "default: 5 samples or 100 ms)")
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads for every framework (default: 1)")
    parser.add_argument("--seed", type=int, default=None, help="override every case's input seed")
    parser.add_argument("--size", choices=("small", "medium", "large"), default="small",
                        help="size preset of the cases that have them (default: %(default)s)")
    parser.add_argument("--max-memory", default=None, metavar="SIZE",
                        help="skip a pair whose estimated peak memory is larger (e.g. 4G), or run it in chunks "
                             "where the method can (default: half the free memory, shared by the workers)")
    parser.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS",
                        help="kill a worker whose (case, method) pair has run this long and used this much CPU "
                             "time, so that a busy machine does not count against it (a pair waiting without CPU: "
                             "after twice this); the pair becomes `timeout` (default: %(default)s)")
    parser.add_argument("--cache-dir", default=None, metavar="DIR",
                        help="where torch inductor and JAX keep what they compile, so that the next run does not "
                             "compile it again; `off` for none (default: $JACOBIAN_HARNESS_CACHE, else "
                             "~/.cache/jacobian-harness). The report says whether it was warm or cold")
    parser.add_argument("--cold", action="store_true",
                        help="compile into an empty temporary cache, removed afterwards: preparation as a first "
                             "run pays it (the kept cache is left alone)")
    verbose_option(parser)


def verbose_option(parser):
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print every (case, method) pair as its case finishes (default: the failing ones, and "
                             "a progress display on a terminal or a line per case elsewhere)")


def case_source_options(parser):
    parser.add_argument("--pack", action="append", default=None, metavar="NAME",
                        help="case pack (repeatable): 'builtin' (the built-in library, the default), 'opinfo' (every "
                             "differentiable operator of the installed torch, from its OpInfo database), an installed "
                             "plugin's, or 'all'")
    parser.add_argument("--samples", type=samples_count, default=None, metavar="N",
                        help=f"sample inputs per operator in a generated pack such as opinfo: the first N, or "
                             f"'all' (default: {DEFAULT_SAMPLES})")
    parser.add_argument("--case-file", action="append", default=[], metavar="FILE",
                        help="a Python file of @case definitions (repeatable)")
    parser.add_argument("--no-builtin", action="store_true", help="leave out the built-in case library")


DEFAULT_SAMPLES = 3  # sample inputs per op of a generated pack: see cases/opinfo/__init__.py for why
ALL_SAMPLES = "all"


def samples_count(text: str) -> int | str:
    """--samples: a count of at least 1, or 'all'."""
    if text == ALL_SAMPLES:
        return ALL_SAMPLES
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a count nor 'all'") from None
    if count < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (or 'all'), not {count}")
    return count


def packs_of(args) -> list[str]:
    """The packs that parsed arguments of case_source_options name (a request's: requests.CaseSource.packs)."""
    return packs_from(args.pack, args.no_builtin)


def packs_from(pack: list[str] | tuple[str, ...] | None, no_builtin: bool) -> list[str]:
    """--pack (default builtin), less builtin with --no-builtin."""
    packs = list(dict.fromkeys(pack or ["builtin"]))  # a pack named twice (tox's posargs) is one pack
    return [p for p in packs if p != "builtin"] if no_builtin else packs


def pack_options_from(samples: int | str | None) -> dict:
    samples = DEFAULT_SAMPLES if samples is None else samples
    if samples != ALL_SAMPLES and (not isinstance(samples, int) or samples < 1):
        raise UsageError(f"--samples must be at least 1 or 'all', not {samples!r}")
    return {"samples": samples}


def load_cases(packs: list[str], pack_options: dict, case_files) -> list[str]:
    """The ids of the packs' cases, then those of the case files (and any registered in this process)."""
    from jacobian_harness.casedef import CASES, CaseError, load_case_file, load_library

    try:
        case_ids = load_library(packs, pack_options)
        for path in case_files:
            load_case_file(path)
    except CaseError as exc:
        raise UsageError(str(exc)) from None
    # Then the cases of no pack: those of case files, and any registered in this process (harness.api).
    return list(dict.fromkeys(case_ids + [case_id for case_id, case in CASES.items() if not case.pack]))


def prepare_out(path: str) -> Path:
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {path}: cannot create directory: {exc.strerror}") from None
    if not os.access(out, os.W_OK):
        raise UsageError(f"--out {path}: directory is not writable")
    return out


def choose_compile_cache(cache_dir: str | None, cold: bool):
    """The run's harness.caches.CompileCache from --cache-dir and --cold; a command runs inside its
    `applied()`, entered before any framework is imported."""
    from jacobian_harness.caches import CacheError, CompileCache

    try:
        return CompileCache.choose(cache_dir, cold)
    except CacheError as exc:
        raise UsageError(str(exc)) from None


def select_or_fail(names, patterns, what: str) -> list[str]:
    """jacobian_harness.runner.select, with a pattern that matches nothing as a usage error."""
    from jacobian_harness.runner import SelectionError, select

    try:
        return select(names, patterns, what)
    except SelectionError as exc:
        raise UsageError(str(exc)) from None


def write_run(out: Path, document: RunDocument, arrays: dict, *, kind: str = "run", step_summary: bool = True):
    """A run's files: the document and its Jacobians (harness.document.save), then every registered view of
    its kind (harness.render.outputs: report.md, report.html, the CI job summary, ...); the Views written."""
    from jacobian_harness.document import save
    from jacobian_harness.render.outputs import write_outputs

    save(out, document, arrays)
    return write_outputs(kind, document, out, step_summary=step_summary)


def load_run(path: str, jacobians: bool = True):
    """(document, Jacobian arrays ({} without `jacobians`), directory) of a saved run; an unreadable one is a
    usage error."""
    from jacobian_harness.document import load, load_with_jacobians
    from jacobian_harness.results import ResultsError

    try:
        if not jacobians:
            return load(path), {}, Path(path) if Path(path).is_dir() else Path(path).parent
        return load_with_jacobians(path)
    except ResultsError as exc:
        raise UsageError(str(exc)) from None
