"""The run's journal: each finished evaluation is appended durably the moment it completes, so that a run
killed at any point (SIGKILL, Ctrl-C, power loss) loses at most the pairs in flight, and
`run --resume DIR` finishes it without redoing the others.

    DIR/journal/records.jsonl   line 1: a header {kind, schema_version, options, versions}; then one line
                                per finished evaluation {case, method, dtype, timing, moved, file, status}
    DIR/journal/<file>.npz      that evaluation (record, Jacobian, value, inputs) in the workers' wire
                                format (harness.worker: an npz, read with allow_pickle=False)

The .npz is written atomically before its line; each line is one write() followed by fsync. A last line
cut short by a kill is cut off when the journal is opened again; a line whose .npz is missing counts as
not done. Once the run's results.json is written in full, the journal is removed.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

from jacobian_harness.evaluate import Evaluation, Options
from jacobian_harness.records import pair_key
from jacobian_harness.results import atomic_write

KIND = "jacobian-harness.journal"
SCHEMA_VERSION = 1
RECORDS = "records.jsonl"
_DEFAULT_OPTIONS = Options()


class JournalError(Exception):
    """A journal is missing, corrupt or of another run; the message names the file."""


def _key(case_id: str, method_id: str, options: Options) -> tuple[str, str, str, str, float]:
    # The timing policy tells a timed pair from the untimed reference-only evaluation of the same method,
    # `moved` the comparator's smoothness probe from the evaluation at the case's own point.
    return case_id, method_id, options.dtype, repr(options.timing), options.moved


class Journal:
    def __init__(self, directory: Path, header: dict, done: dict[tuple, str]):
        self.directory = directory
        self.header = header
        self.done = done          # key -> .npz file name, for the evaluations already finished
        self.reused = 0           # how many of them this run took instead of evaluating again
        self._lock = threading.Lock()
        self._next = len(done)

    @classmethod
    def start(cls, out: Path, header: dict) -> Journal:
        """A new, empty journal in OUT (an older one there is replaced)."""
        directory = Path(out) / "journal"
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        journal = cls(directory, {"kind": KIND, "schema_version": SCHEMA_VERSION, **header}, {})
        journal._append(journal.header)
        return journal

    @classmethod
    def open(cls, out: Path) -> Journal:
        """The journal of an interrupted run in OUT, with the evaluations it finished."""
        path = Path(out) / "journal" / RECORDS
        try:
            lines = path.read_bytes().split(b"\n")
        except FileNotFoundError:
            raise JournalError(f"{path}: no journal here: nothing to resume (was the run finished?)") from None
        except OSError as exc:
            raise JournalError(f"{path}: cannot read: {exc.strerror}") from None
        entries = []
        for number, line in enumerate(lines, 1):
            if not line:
                continue
            try:
                entries.append(json.loads(line))
            except (json.JSONDecodeError, UnicodeDecodeError):
                if number == len(lines):  # the last line, cut short by a kill mid-write: drop it, so that
                    os.truncate(path, path.stat().st_size - len(line))  # the next line starts clean
                    break
                raise JournalError(f"{path}:{number}: corrupt journal line") from None
        if not entries or entries[0].get("kind") != KIND:
            raise JournalError(f"{path}: not a jacobian-harness journal")
        if entries[0].get("schema_version") != SCHEMA_VERSION:
            raise JournalError(f"{path}: journal schema_version {entries[0].get('schema_version')!r} is not "
                               f"supported (this harness writes {SCHEMA_VERSION})")
        done = {}
        for entry in entries[1:]:
            try:
                key = (*pair_key(entry), entry["timing"], entry.get("moved", 0.0))
                name = entry["file"]
            except (KeyError, TypeError):
                raise JournalError(f"{path}: a journal line lacks case, method, dtype, timing or file") from None
            if isinstance(name, str) and "/" not in name and (path.parent / name).is_file():
                done[key] = name
        return cls(path.parent, entries[0], done)

    def wrap(self, evaluate: Callable[[str, str, Options], Evaluation]) -> Callable[[str, str, Options], Evaluation]:
        """`evaluate`, answering finished pairs from the journal and journaling the others."""
        def journaled(case_id: str, method_id: str, options: Options = _DEFAULT_OPTIONS) -> Evaluation:
            key = _key(case_id, method_id, options)
            stored = self.load(key)
            if stored is not None:
                return stored
            evaluation = evaluate(case_id, method_id, options)
            self.add(key, evaluation)
            return evaluation
        return journaled

    def load(self, key: tuple) -> Evaluation | None:
        from jacobian_harness.worker import evaluation_from_bytes

        name = self.done.get(key)
        if name is None:
            return None
        with self._lock:
            self.reused += 1
        return evaluation_from_bytes((self.directory / name).read_bytes())

    def add(self, key: tuple, evaluation: Evaluation) -> None:
        from jacobian_harness.worker import evaluation_to_bytes

        payload = evaluation_to_bytes(evaluation)
        with self._lock:
            name = f"{self._next:06d}.npz"
            self._next += 1
            atomic_write(self.directory / name, lambda handle: handle.write(payload))
            case_id, method_id, dtype, timing, moved = key
            self._append({"case": case_id, "method": method_id, "dtype": dtype, "timing": timing, "moved": moved,
                          "file": name, "status": evaluation.record.get("status")})
            self.done[key] = name

    def _append(self, entry: dict) -> None:
        line = (json.dumps(entry, separators=(",", ":")) + "\n").encode()
        fd = os.open(self.directory / RECORDS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            os.write(fd, line)  # one write: a kill leaves the line whole or cut, never interleaved
            os.fsync(fd)
        finally:
            os.close(fd)

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
