"""Standalone repros of a run's findings: for each failing pair whose case can write one (Case.repro; the
opinfo pack's cases can), a short script under `<out>/repros/` that prints the method's and the reference's
result without the harness. The record gets the script's path (`repro`), so that reports can point at it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import re
import sys
from pathlib import Path

from jacobian_harness.records import FAILING

REPROS = "repros"


def file_name(case_id: str, method_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{case_id}--{method_id}").strip("_") + ".py"


def write_repros(out: Path, document: Mapping[str, Any]) -> int:
    """Write the repro scripts of the document's failing pairs; returns how many were written."""
    from jacobian_harness.casedef import CASES
    from jacobian_harness.results import atomic_write

    written = 0
    for record in document["results"]:
        case = CASES.get(record["case"])
        if record["status"] not in FAILING or record.get("dtype") != "float64" or case is None or case.repro is None:
            continue
        try:
            script = case.repro(record["method"], record.get("reference") or "the reference")
        except Exception as exc:  # noqa: BLE001  (a pack's writer must not cost the run its results)
            record["note"] = f"no repro: its writer failed: {type(exc).__name__}: {exc}"
            print(f"jacobian-harness: no repro for {record['case']} / {record['method']}: {type(exc).__name__}: "
                  f"{exc}", file=sys.stderr)
            continue
        path = Path(out) / REPROS / file_name(record["case"], record["method"])
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda handle, text=script: handle.write(text.encode()))
        record["repro"] = f"{REPROS}/{path.name}"
        written += 1
    return written
