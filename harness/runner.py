"""The in-process runner: select (case, method) pairs, evaluate them, judge each case against its reference.

Selection and judging are separate from evaluation (`harness.evaluate.evaluate`), so another runner
(a worker subprocess, another Python environment, one shard of a CI matrix) only has to produce
Evaluations.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field, replace
from collections.abc import Callable, Iterable

import numpy as np

from harness.adapters.base import METHODS
from harness.casedef import CASES
from harness.compare import choose_reference, verdict
from harness.evaluate import Options, evaluate
from harness.timing import ONCE


class SelectionError(Exception):
    """A pattern matched nothing; the message names it."""


def select(names: Iterable[str], patterns: list[str] | None, what: str) -> list[str]:
    """Names matching any of the shell-style patterns (all names if none), in their registry order."""
    names = list(names)
    if not patterns:
        return names
    for pattern in patterns:
        if not any(fnmatch.fnmatchcase(n, pattern) for n in names):
            raise SelectionError(f"--{what} pattern {pattern!r} matches no {what[:-1]} "
                                 f"(`jacobian-harness list` shows them)")
    return [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in patterns)]


@dataclass
class CaseResult:
    case_id: str
    records: list[dict]
    jacobians: dict[tuple[str, str], list[np.ndarray]] = field(default_factory=dict)  # (method, dtype) -> blocks
    reference: list[np.ndarray] | None = None
    inputs: tuple[np.ndarray, ...] = ()


def run_case(case_id: str, method_ids: list[str], options: Options,
             progress: Callable[[dict], None] | None = None, dtypes: list[str] | None = None) -> CaseResult:
    """Evaluate the methods on one case in each dtype (default: options.dtype), add reference-only
    evaluations, and give every record a verdict against the one float64 reference."""
    case = CASES[case_id]
    method_ids = [m for m in method_ids if METHODS[m].order == case.order]
    evaluations = []
    for dtype in dtypes or [options.dtype]:
        for method_id in method_ids:
            evaluation = evaluate(case_id, method_id, replace(options, dtype=dtype))
            evaluations.append(evaluation)
            if progress:
                progress(evaluation.record)
    # The reference is always judged in float64, from every reference method, whatever the run selected.
    float64 = {e.record["method"]: e for e in evaluations if e.record["dtype"] == "float64"}
    once = replace(options, dtype="float64", timing=ONCE)
    for method_id, method in METHODS.items():
        if method.reference and method.order == case.order and method_id not in float64:
            float64[method_id] = evaluate(case_id, method_id, once)
    reference = choose_reference(case, list(float64.values()))
    records = [verdict(case, e, reference) for e in evaluations]
    inputs = next((e.inputs for e in float64.values() if e.inputs), ())
    jacobians = {(e.record["method"], e.record["dtype"]): e.jacobian for e in evaluations if e.jacobian is not None}
    return CaseResult(case_id, records, jacobians, reference.blocks, inputs)
