"""The comparator: pick a reference Jacobian, then give every (case, method) a verdict.

Reference: the case's analytic Jacobian when it has one. Otherwise the float64 results are grouped into
clusters that agree within tolerance, and each cluster scores one vote per *backend* (framework) in it,
not per method: torch's eleven methods can share one wrong formula, and must not outvote JAX and
autograd. Finite differences break a tie between clusters, and overrule a single framework that is the
only one to vote (a user's torch function); methods declared to diverge do not vote. They also overrule
several frameworks that agree with each other when every finite-difference scheme agrees with the others
and f is smooth at the point (finite differences at points moved a little either way barely change):
that is one mistake in the case's own code that every framework inherits, most often a value taken out
of the graph (`.item()`, `float(t)`, a NumPy round trip), which every AD method differentiates as a
constant while finite differences see the whole function.

Tolerances and the elementwise comparison of Jacobian blocks: harness/tolerances.py.
"""

from __future__ import annotations

import re

from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable, Sequence

import numpy as np

from jacobian_harness.adapters.base import METHODS
from jacobian_harness.casedef import Case
from jacobian_harness.evaluate import Evaluation
from jacobian_harness.records import Record, quantity_of
from jacobian_harness.tolerances import Diff, diff, tolerance

@dataclass
class Reference:
    blocks: list[np.ndarray] | None
    source: str
    tolerance_key: str = "float64"
    value: np.ndarray | None = None
    members: list[str] = field(default_factory=list)
    # Said in the verdict of every AD method that differs from a finite-difference reference chosen over an
    # AD consensus: what the user most likely has to fix.
    hint: str = ""


# How far the smoothness probe moves each differentiated input, relative to max(1, |x|): far beyond a
# central difference's step (eps**(1/3), 6e-6), so that a kink at the point shows as a jump, and small
# enough that a smooth Jacobian barely changes.
PROBE_MOVE = 1e-4
# f is called smooth at the point when the moved Jacobians differ from the one there by less than this
# fraction of the gap between the AD consensus and the finite differences.
PROBE_MARGIN = 0.1
GRAPH_BREAK_HINT = ("likely a graph break: a value taken out of the graph (.item(), float(t), .numpy(), "
                    ".tolist(), a NumPy or math call) is differentiated as a constant; keep it a tensor")

# probe(method id, relative move): that method's Jacobian blocks at the case's point moved by that much, or
# None where it failed there.
Probe = Callable[[str, float], "list[np.ndarray] | None"]


def choose_reference(case: Case, evaluations: Sequence[Evaluation], probe: Probe | None = None,
                     quantity: str = "jacobian") -> Reference:
    """The reference for the methods that return `quantity` ("jacobian": the Jacobian, or the Hessian of an
    order-2 case; "second-order": the second-order check's scalar) from float64 evaluations of one case, by
    the rule of the module docstring; only methods returning that quantity vote (a check's projection never
    does). Without `probe`, finite differences never overrule several frameworks that agree."""
    ok = [e for e in evaluations if e.ok and quantity_of(e.record) == quantity]
    value = _reference_value(ok)
    if quantity == "jacobian" and case.analytic is not None and ok:
        try:
            blocks = _blocks(case.analytic(*ok[0].inputs))
        except Exception as exc:  # the case's own code: its failure is reported on every pair
            return Reference(None, f"none: the case's analytic Jacobian failed: {type(exc).__name__}: {exc}",
                             value=value)
        return Reference(blocks, "analytic", value=value)
    voters = [e for e in ok if e.record["mode"] != "fd"
              and case.divergence_for(e.record["method"], e.record["backend_version"]) is None]
    fd = [e for e in ok if e.record["mode"] == "fd"
          and case.divergence_for(e.record["method"], e.record["backend_version"]) is None]
    clusters = _clusters(case, voters)
    if not clusters:
        if fd:
            return Reference(fd[0].jacobian, f"finite differences ({fd[0].record['method']}): no AD method ran",
                             "fd", value, [fd[0].record["method"]])
        return Reference(None, "none: no method produced a Jacobian", value=value)
    fd_tol = tolerance(case, "fd")

    def score(cluster):
        backends = {e.record["backend"] for e in cluster}
        fd_support = any(diff(_jacobian(f), _jacobian(cluster[0]), equal_nan=case.equal_nan, **fd_tol).ok for f in fd)
        return len(backends), fd_support

    scores = {id(c): score(c) for c in clusters}
    ranked = sorted(clusters, key=lambda c: scores[id(c)], reverse=True)
    if len(ranked) > 1 and scores[id(ranked[0])] == scores[id(ranked[1])]:
        described = " vs ".join("{" + ", ".join(e.record["method"] for e in c) + "}" for c in ranked[:2])
        return Reference(None, f"none: equally supported results disagree: {described}", value=value)
    best = ranked[0]
    backends = sorted({e.record["backend"] for e in best})
    if len(backends) == 1 and fd and not scores[id(best)][1]:
        # One framework alone, contradicted by finite differences: its methods may share one wrong
        # formula (a custom backward), so the independent witness wins, at its own tolerance.
        return Reference(fd[0].jacobian, f"finite differences ({fd[0].record['method']}): the only framework, "
                         f"{backends[0]}, disagrees with them", "fd", value, [fd[0].record["method"]])
    if fd and not scores[id(best)][1] and probe is not None:
        smooth = _smooth_and_contradicted(case, best, fd, probe)
        if smooth is not None:
            schemes = ", ".join(f.record["method"] for f in fd)
            return Reference(fd[0].jacobian, f"finite differences ({schemes}, which agree, and f is smooth here: "
                             f"{smooth}) over the consensus of {', '.join(backends)}", "fd", value,
                             [f.record["method"] for f in fd], hint=GRAPH_BREAK_HINT)
    support = " + finite differences" if scores[id(best)][1] else ""
    return Reference(best[0].jacobian, f"consensus of {', '.join(backends)}{support}", value=value,
                     members=[e.record["method"] for e in best])


def _smooth_and_contradicted(case: Case, consensus: list[Evaluation], fd: list[Evaluation],
                             probe: Probe) -> str | None:
    """How the probe showed f smooth where every finite-difference scheme agrees with the others and all
    contradict the AD consensus; None when they do not all agree, or a moved point jumps (a kink: there the
    AD convention and a central difference legitimately differ) or cannot be evaluated."""
    if len(fd) < 2:
        return None  # one scheme alone is no evidence against several frameworks
    tol = tolerance(case, "fd")
    if not all(diff(_jacobian(f), _jacobian(fd[0]), equal_nan=case.equal_nan, **tol).ok for f in fd[1:]):
        return None
    gap = _largest_difference(_jacobian(consensus[0]), _jacobian(fd[0]))
    changes = []
    for move in (PROBE_MOVE, -PROBE_MOVE):
        moved = probe(fd[0].record["method"], move)
        change = None if moved is None else _largest_difference(moved, _jacobian(fd[0]))
        if gap is None or change is None or not change < PROBE_MARGIN * gap:
            return None
        changes.append(change)
    return (f"moved by {PROBE_MOVE:g} relative, {fd[0].record['method']} changes by at most {max(changes):.2g}, "
            f"the AD consensus differs by {gap:.2g}")


def _largest_difference(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> float | None:
    """max |a - b| over all blocks; None unless the shapes match and every entry is finite."""
    if len(a) != len(b) or any(np.shape(x) != np.shape(y) for x, y in zip(a, b, strict=True)):
        return None
    if not all(np.isfinite(x).all() and np.isfinite(y).all() for x, y in zip(a, b, strict=True)):
        return None
    return max((float(np.abs(np.asarray(x) - np.asarray(y)).max(initial=0.0)) for x, y in zip(a, b, strict=True)),
               default=0.0)


def _clusters(case: Case, evaluations: Sequence[Evaluation]) -> list[list[Evaluation]]:
    tol = tolerance(case, "float64")
    clusters: list[list[Evaluation]] = []
    for e in evaluations:
        home = next((c for c in clusters if diff(_jacobian(e), _jacobian(c[0]), equal_nan=case.equal_nan, **tol).ok),
                    None)
        if home is None:
            clusters.append([e])
        else:
            home.append(e)
    return clusters


def _reference_value(ok: Sequence[Evaluation]) -> np.ndarray | None:
    # The NumPy function (used by finite differences) is the plainest statement of f.
    for e in sorted(ok, key=lambda e: e.record["mode"] != "fd"):
        if e.record["dtype"] == "float64":
            return e.value
    return None


def _blocks(analytic_result: Any) -> list[np.ndarray]:
    if isinstance(analytic_result, (tuple, list)):
        return [np.asarray(b, dtype=np.float64) for b in analytic_result]
    return [np.asarray(analytic_result, dtype=np.float64)]


def verdict(case: Case, evaluation: Evaluation, reference: Reference) -> Record:
    """The evaluation's record with its verdict and error figures filled in."""
    record = evaluation.record.copy()
    record.update(Record(max_abs_err=None, max_rel_err=None, worst_index=None, worst=None,
                         reference=reference.source))
    if record["status"] != "ok":
        return _declared_failure(case, record)
    unjudged = _without_a_reference(case, evaluation, reference, record)
    if unjudged is not None:
        return unjudged
    assert reference.blocks is not None  # _without_a_reference judged the record where it is None
    method = METHODS.get(record["method"])

    def as_returned(blocks: list[np.ndarray]) -> list[np.ndarray]:
        # A check returns a projection of the Jacobian: compare it with the same projection.
        if method is None or method.project is None:
            return blocks
        assert evaluation.problem is not None  # an evaluation that returned blocks kept its problem
        return [method.project(blocks, evaluation.problem)]

    tol = tolerance(case, "fd" if record["mode"] == "fd" or reference.tolerance_key == "fd" else record["dtype"])
    result = diff(_jacobian(evaluation), as_returned(reference.blocks), equal_nan=case.equal_nan, **tol)
    record.update(Record(max_abs_err=result.max_abs_err, max_rel_err=result.max_rel_err,
                         worst_index=result.worst_index,
                         worst=None if result.worst_index is None else {"got": result.got,
                                                                        "expected": result.expected}))
    declared = case.divergence_for(record["method"], record["backend_version"])
    if declared is None and method is not None and method.project is not None and not result.ok:
        # A check mixes its backend's forward and reverse mode: a convention declared for any method of
        # that backend explains it too. Inherited, it claims nothing, so agreeing is no stale declaration.
        inherited = _backend_divergence(case, record)
        if inherited is not None:
            record["declaration"] = inherited.describe()
            return _judged(record, "expected-divergence", f"{INHERITED}{inherited.describe()}")
    if declared is None:
        return _undeclared(record, result, reference)
    if result.ok:
        return _judged(record, "unexpected-agree", f"declared {declared.kind} did not occur ({declared.reason}): "
                                                   f"the backend changed; update or remove the declaration")
    if declared.raises is not None:
        return _judged(record, "disagree", f"declared to raise {declared.raises!r}, but returned a value that "
                                           f"differs from the reference: {_describe(result)}")
    if declared.expected is not None and not diff(
            _jacobian(evaluation), as_returned(_blocks(declared.expected(*evaluation.inputs))),
            equal_nan=case.equal_nan, **tol).ok:
        return _judged(record, "disagree", f"differs from the reference and from the declared {declared.kind} "
                                           f"value: {_describe(result)}")
    return _judged(record, "expected-divergence", _declared(declared, record))


def _judged(record: Record, status: str, message: str) -> Record:
    record["status"], record["message"] = status, message
    return record


def _jacobian(evaluation: Evaluation) -> list[np.ndarray]:
    """The blocks of an evaluation that returned a value (its status is ok)."""
    if evaluation.jacobian is None:
        raise ValueError(f"{evaluation.record['case']} / {evaluation.record['method']}: no Jacobian to judge")
    return evaluation.jacobian


def _without_a_reference(case: Case, evaluation: Evaluation, reference: Reference, record: Record) -> Record | None:
    """The record judged `disagree` where f's own value differs from the reference value or there is no
    reference Jacobian; None where the Jacobian can be judged."""
    if reference.value is not None:
        value_diff = diff([_value(evaluation)], [reference.value], equal_nan=True,
                          **tolerance(case, record["dtype"]))
        if not value_diff.ok:
            return _judged(record, "disagree", f"f itself differs from the reference value ({value_diff.reason}): "
                                               f"check the {record['backend']} implementation of the case")
    if reference.blocks is None:
        return _judged(record, "disagree", f"no reference: {reference.source}")
    return None


def _value(evaluation: Evaluation) -> np.ndarray:
    if evaluation.value is None:
        raise ValueError(f"{evaluation.record['case']} / {evaluation.record['method']}: no value of f to judge")
    return evaluation.value


def _undeclared(record: Record, result: Diff, reference: Reference) -> Record:
    """The verdict of a method with no declared divergence: agree or disagree, with why."""
    record["status"] = "agree" if result.ok else "disagree"
    record["message"] = "" if result.ok else _describe(result)
    if not result.ok and reference.hint and record["mode"] != "fd":
        record["message"] = (f"{reference.hint}: the AD methods agree with each other, finite "
                             f"differences see the whole function ({_describe(result)})")
    return record


# How a record's message names a declaration inherited from a sibling method, and the note on a declaration
# never confirmed on the installed version (harness.comparison.correctness reads messages written before `declaration`).
INHERITED = "inherited from the backend's declared "
UNCHECKED_NOTE = re.compile(r" \[declared from [^\]]*\]")


def _declared(declared, record: Record) -> str:
    """The declaration's description, saying so when it was never confirmed on this backend version; the
    record keeps which declaration explained it (`declaration`: a comparison tells a known bug whose form
    changed with the version, as declared, from one that stayed)."""
    text = record["declaration"] = declared.describe()
    if declared.checked and not declared.was_checked_on(record.get("backend_version")):
        text += (f" [declared from {record['backend']} {', '.join(declared.checked)}; not yet checked on "
                 f"{record.get('backend_version')}]")
    return text


def _backend_divergence(case: Case, record: Record, raising: str | None = None):
    """A declaration that applies to another method of the record's backend; with `raising`, only one that
    declares an error this message contains."""
    siblings = [m for m in METHODS.values() if m.backend == record["backend"] and m.id != record["method"]]
    return next((d for m in siblings for d in case.divergences if d.applies_to(m.id, record["backend_version"])
                 and (raising is None or (d.raises is not None and d.raises in raising))), None)


def _declared_failure(case: Case, record: Record) -> Record:
    """A method that fails where a known bug is declared is an expected divergence, not an error."""
    declared = case.divergence_for(record["method"], record["backend_version"])
    method = METHODS.get(record["method"])
    if declared is None and record["status"] == "error" and method is not None and method.project is not None:
        # A check runs its backend's forward and reverse rules: a declared error of a sibling method that
        # it raises too is the same bug, inherited (as a declared wrong value is, in `verdict`).
        inherited = _backend_divergence(case, record, raising=record["message"])
        if inherited is not None:
            return _judged(record, "expected-divergence",
                           f"{INHERITED}{_declared(inherited, record)}; {record['message']}")
    if record["status"] not in ("error", "crash") or declared is None or declared.kind != "bug":
        return record
    if declared.raises is not None and declared.raises not in record["message"]:
        record["message"] = f"declared to raise {declared.raises!r}, but: {record['message']}"
    elif declared.raises is None and declared.expected is not None:
        # The bug was declared as a wrong value: failing instead is a change the maintainer must see.
        record["message"] = (f"declared {declared.kind} returns a wrong value (see the case's declaration), "
                             f"but this failed instead: {record['message']}")
    else:
        record["message"] = f"{_declared(declared, record)}; {record['message']}"
        record["status"] = "expected-divergence"
    return record


def _describe(result: Diff) -> str:
    if result.worst_index is None:
        return result.reason
    block, *index = result.worst_index
    return (f"{result.reason}: worst at block {block} index {tuple(index)}: "
            f"got {result.got!r}, expected {result.expected!r}")
