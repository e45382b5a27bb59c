"""Files on disk: strict JSON and the Jacobians in an .npz, both written atomically (a reader never sees half
a file). What the run document holds is harness.document's; this module only writes and reads files."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from collections.abc import Mapping
from typing import Any

import numpy as np


class ResultsError(Exception):
    """A results file is missing, unreadable, or of another schema; the message names it."""


def read_json(path: Path, what: str, error: type[ResultsError] = ResultsError) -> Any:
    """The JSON in `path`; a missing, unreadable or corrupt file is `error`, naming the file and what it should
    have held ("results", "comparison")."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise error(f"{path}: no such {what} file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise error(f"{path}: not valid JSON (truncated or corrupt?): {exc}") from None


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


def write_json(path: Path, document: Mapping[str, Any]) -> None:
    # Compact: every timing sample is kept, and one per line would multiply the file's size.
    text = json.dumps(_strict(document), separators=(",", ":"), allow_nan=False) + "\n"
    atomic_write(path, lambda handle: handle.write(text.encode()))


def write_arrays(path: Path, arrays: dict[str, Any]) -> None:
    atomic_write(path, lambda handle: np.savez_compressed(handle, **arrays))


def jacobian_key(case_id: str, method_id: str, dtype: str, block: int | None) -> str:
    """The npz key of one block; with block=None, the prefix shared by a record's blocks."""
    prefix = f"{case_id}|{method_id}|{dtype}"
    return prefix if block is None else f"{prefix}|{block}"


def load_jacobians(directory: str | Path) -> dict[str, np.ndarray]:
    path = Path(directory) / "jacobians.npz"
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such file") from None
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{path}: cannot read: {exc}") from None
