"""The compile caches a run owns: where torch inductor and JAX keep what they compiled, so that the next run
(or the next stage of a CI job) does not compile the same graphs again.

Preparation (tracing, compiling, first calls) is most of a run's time: `torch.compile` and jitted JAX
compile every case anew in every process, and un-jitted JAX compiles each primitive it meets. Both
frameworks have persistent caches keyed by what was compiled (the graph, the options, the framework's
version), so a hit gives the same code a compile would have: the timed calls do not change, only the
first call gets cheaper. What a run measured as preparation therefore depends on the cache's state, and the
run says which it was (`describe`, kept in results.json's environment and shown in the report):

- warm: the cache held entries when the run started (the default cache, after a first run);
- cold: it was empty: every compile was paid, as in a user's first run (`--cold` gives an empty temporary
  cache, removed after the run, and leaves the default one alone);
- off: no cache (`--cache-dir off`), what a default install of both frameworks does in a new process
  (JAX keeps no persistent cache unless told to; torch's own default one is switched off too).

The settings are environment variables, read by the frameworks when they start: `applied` sets them in this
process while a run lasts (before any framework is imported), and `environment` gives them to worker processes.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

CACHE_VARIABLE = "JACOBIAN_HARNESS_CACHE"  # the default cache directory, if set
OFF = "off"


def default_directory() -> Path:
    """$JACOBIAN_HARNESS_CACHE, else $XDG_CACHE_HOME/jacobian-harness, else ~/.cache/jacobian-harness."""
    given = os.environ.get(CACHE_VARIABLE)
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "jacobian-harness"


# One entry per framework: its subdirectory of the cache, and the variables that point it there. torch:
# inductor's FX graph cache and AOT autograd cache (compiled kernels and graphs) live under
# TORCHINDUCTOR_CACHE_DIR. JAX: its persistent compilation cache, for every compile however short (the
# defaults keep only compiles over a second, which leaves out the thousands of small ones of un-jitted
# transforms that make most of JAX's preparation here).
FRAMEWORKS: dict[str, tuple[str, dict[str, str]]] = {
    "torch": ("torchinductor", {"TORCHINDUCTOR_CACHE_DIR": "{dir}", "TORCHINDUCTOR_FX_GRAPH_CACHE": "1",
                                "TORCHINDUCTOR_AUTOGRAD_CACHE": "1"}),
    "jax": ("jax", {"JAX_COMPILATION_CACHE_DIR": "{dir}", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
                    "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}),
}
# With the cache off: torch's own default cache (under /tmp) would otherwise still serve hits, and JAX's would
# where the user's environment names a directory for it.
OFF_VARIABLES = {"TORCHINDUCTOR_FX_GRAPH_CACHE": "0", "TORCHINDUCTOR_AUTOGRAD_CACHE": "0",
                 "JAX_ENABLE_COMPILATION_CACHE": "false"}


class CacheError(Exception):
    """The cache directory cannot be used; the message says which and why."""


class CompileCache:
    """One run's cache: a directory (or none, when off), whether it is a temporary one, and its state at the
    start, taken before any framework wrote to it."""

    def __init__(self, directory: Path | None, temporary: bool = False):
        self.directory, self.temporary = directory, temporary
        self.entries_before = self.entries() if directory is not None else {}

    @classmethod
    def choose(cls, cache_dir: str | None, cold: bool) -> CompileCache:
        """--cache-dir (a directory, or `off`) and --cold as a run was given them."""
        if cache_dir == OFF:
            if cold:
                raise CacheError("--cold needs a cache to start empty; leave out --cache-dir off")
            return cls(None)
        if cold:
            parent = Path(cache_dir) if cache_dir else None
            if parent is not None:
                _make(parent)
            return cls(Path(tempfile.mkdtemp(prefix="cold-", dir=parent)), temporary=True)
        directory = Path(cache_dir) if cache_dir else default_directory()
        _make(directory)
        return cls(directory)

    @property
    def state(self) -> str:
        if self.directory is None:
            return OFF
        return "warm" if any(self.entries_before.values()) else "cold"

    def environment(self) -> dict[str, str]:
        """The variables that point every framework at this cache (or switch the caches off)."""
        if self.directory is None:
            return dict(OFF_VARIABLES)
        variables = {}
        for subdirectory, settings in FRAMEWORKS.values():
            place = str((self.directory / subdirectory).resolve())
            variables.update({name: value.format(dir=place) for name, value in settings.items()})
        return variables

    @contextmanager
    def applied(self):
        """The variables set in this process while the run lasts (for --jobs 0, and every process it starts),
        as they were afterwards; a temporary cache is removed at the end. Frameworks read them when they are
        imported: enter it before torch or JAX is, as harness.environment.limit_threads is called."""
        variables = self.environment()
        saved = {name: os.environ.get(name) for name in variables}
        os.environ.update(variables)
        try:
            yield self
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            self.close()

    def entries(self) -> dict[str, int]:
        """Files per framework's subdirectory: a rough size of what the cache holds."""
        if self.directory is None:
            return {}
        return {name: _count_files(self.directory / subdirectory) for name, (subdirectory, _) in FRAMEWORKS.items()}

    def describe(self) -> dict:
        """What results.json keeps of the cache: where, its state at the start, entries before and after."""
        return {"state": self.state, "directory": None if self.temporary or self.directory is None
                else str(self.directory), "temporary": self.temporary,
                "entries_before": self.entries_before, "entries_after": self.entries()}

    def close(self) -> None:
        """Remove a temporary (cold) cache; a kept one stays for the next run."""
        if self.temporary and self.directory is not None:
            try:
                shutil.rmtree(self.directory)
            except OSError as exc:  # the run's results are written: a leftover temporary directory is no failure
                print(f"jacobian-harness: could not remove the cold cache {self.directory}: {exc}", file=sys.stderr)


def _make(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CacheError(f"--cache-dir {directory}: cannot create it ({exc.strerror}); give a writable "
                         f"directory, or `--cache-dir off`") from None
    if not os.access(directory, os.W_OK):
        raise CacheError(f"--cache-dir {directory}: not writable; give a writable directory, or `--cache-dir off`")


def _count_files(directory: Path) -> int:
    if not directory.is_dir():
        return 0
    return sum(len(files) for _, _, files in os.walk(directory))
