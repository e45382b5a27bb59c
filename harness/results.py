"""Results on disk: versioned JSON plus the Jacobians in an .npz, both written atomically.

Schema (version 1) of `results.json`:

    schema_version  1
    kind            "jacobian-harness.run"
    environment     python, platform, cpu, threads, versions {torch, jax, jaxlib, autograd, numpy, ...},
                    started_at / finished_at (UTC ISO 8601), command
    options         dtype, quick, seed, threads, timing policy, cases / methods patterns
    cases           {case id: {description, tags, source, input_shapes, wrt, divergences: [...]}}
    results         list of records: case, method, backend, mode, dtype, status, message,
                    backend_version, max_abs_err, max_rel_err, worst_index ([block, *index]),
                    worst {got, expected}, reference (how it was chosen), jacobian {key, blocks} (npz keys),
                    time {median_s, iqr_s, repeats, number, prepare_s, samples_s}, f_time_s, ratio (J time /
                    f time, f run the way the method runs it), optional warnings, traceback, f_time_note

Non-finite floats are written as the strings "nan", "inf", "-inf" so that the file stays strict JSON.
`jacobians.npz` holds one array per Jacobian block, keyed "<case>|<method>|<dtype>|<block>", plus
"<case>|reference|float64|<block>"; it is read with allow_pickle=False.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

SCHEMA_VERSION = 1
KIND = "jacobian-harness.run"


class ResultsError(Exception):
    """A results file is missing, unreadable, or of another schema; the message names it."""


def atomic_write(path: Path, write) -> None:
    """Write through a temporary file in the same directory, then rename: readers never see half a file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results are meant to be shared
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        _fsync_directory(path.parent)  # the rename itself survives a power loss
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _strict(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    if isinstance(value, np.generic):
        return _strict(value.item())
    return value


def write_json(path: Path, document: dict) -> None:
    # Compact: every timing sample is kept, and one per line would multiply the file's size.
    text = json.dumps(_strict(document), separators=(",", ":"), allow_nan=False) + "\n"
    atomic_write(path, lambda handle: handle.write(text.encode()))


def write_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    atomic_write(path, lambda handle: np.savez_compressed(handle, **arrays))


def jacobian_key(case_id: str, method_id: str, dtype: str, block: int | None) -> str:
    """The npz key of one block; with block=None, the prefix shared by a record's blocks."""
    prefix = f"{case_id}|{method_id}|{dtype}"
    return prefix if block is None else f"{prefix}|{block}"


def load_results(path: str | Path) -> dict:
    """Read and validate a results.json (or the directory holding one)."""
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such results file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{path}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path}: not valid JSON (truncated or corrupt?): {exc}") from None
    if not isinstance(document, dict) or document.get("kind") != KIND:
        raise ResultsError(f"{path}: not a jacobian-harness results file")
    if document.get("schema_version") != SCHEMA_VERSION:
        raise ResultsError(f"{path}: schema_version {document.get('schema_version')!r} is not supported "
                           f"(this harness reads {SCHEMA_VERSION})")
    if not isinstance(document.get("results"), list):
        raise ResultsError(f"{path}: 'results' is missing or not a list")
    return document


def load_jacobians(directory: str | Path) -> dict[str, np.ndarray]:
    path = Path(directory) / "jacobians.npz"
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such file") from None
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{path}: cannot read: {exc}") from None
