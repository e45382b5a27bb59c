"""What a result depends on besides the code under test: interpreter, machine, threads, library versions."""

from __future__ import annotations

import os
import platform
import sys
from datetime import datetime, UTC
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jacobian_harness.run_schema import Environment

CORE_PACKAGES = ("jacobian-harness",)
# TORCHINDUCTOR_COMPILE_THREADS: inductor compiles in a pool of one process per CPU by default, which on a
# machine shared by several workers would steal the cores the others are timing on.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TORCHINDUCTOR_COMPILE_THREADS")


def limit_threads(threads: int) -> None:
    """Fix BLAS/OpenMP/XLA thread counts. Variables only bind frameworks imported later, so call it first."""
    for variable in THREAD_VARIABLES:
        os.environ[variable] = str(threads)
    if threads == 1:
        flags = os.environ.get("XLA_FLAGS", "")
        if "xla_cpu_multi_thread_eigen" not in flags:
            os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false").strip()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: without it, NumPy's already-loaded BLAS keeps its own count
        return
    threadpool_limits(threads)


WORKER_MEMORY = 2 << 30  # a worker with torch, JAX and autograd loaded holds about 1.5 GiB


def available_memory() -> int | None:
    """Bytes the kernel could hand out now without swapping (MemAvailable: free plus reclaimable cache)."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass  # not Linux: fall back to the free pages
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return None


def default_jobs() -> int:
    """One worker per CPU, but no more than free memory holds (each imports every framework)."""
    free = available_memory()
    by_memory = max(1, free // WORKER_MEMORY) if free else os.cpu_count() or 1
    return max(1, min(os.cpu_count() or 1, by_memory))


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def collect(threads: int) -> Environment:
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu": _cpu(),
        "cpu_count": os.cpu_count(),
        "threads": threads,
        "thread_variables": {v: os.environ.get(v) for v in THREAD_VARIABLES + ("XLA_FLAGS",)},
        "versions": {p: _version(p) for p in packages()},
        "backends": backend_versions(),
        "started_at": now(),
        "command": " ".join(sys.argv),
    }


def packages() -> tuple[str, ...]:
    """The distributions whose versions a run records: ours and every registered backend's (Backend.packages)."""
    from jacobian_harness.adapters.base import BACKENDS, load_adapters

    load_adapters()
    return tuple(dict.fromkeys(CORE_PACKAGES + tuple(p for b in BACKENDS.values() for p in b.packages)))


def backend_versions() -> dict[str, str | None]:
    """Every registered backend (the built-in adapters and installed plugins) and its installed version, or
    None where its framework is not installed; nothing is imported."""
    from jacobian_harness.adapters.base import BACKENDS, load_adapters

    load_adapters()
    return {name: backend.version() if backend.installed() else None for name, backend in BACKENDS.items()}


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
