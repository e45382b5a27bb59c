"""The opinfo pack's known findings, declared in one data file (`known.toml`) so that the pack runs green on a
healthy install and a new finding stands out. Each entry:

    [[finding]]
    cases = "opinfo.linalg.det.s*"          # glob on case ids, or a list of them ({a,b} alternatives too; a
                                            # finding is declared on the samples where it occurs: strict)
    methods = ["torch.second-order[fwd-fwd]", "torch.second-order[rev-fwd]"]   # globs on method ids
    kind = "bug"                            # or "convention" (a documented choice at a kink or singular point)
    reason = "what is wrong, and how it was confirmed (the repro)"
    issue = "pytorch/pytorch#NNN"           # optional
    versions = "<2.15"                      # optional PEP 440 specifier of the backend's versions it affects
    checked = ["2.13.0", "2.14.1"]          # the versions on which it was confirmed by hand
    raises = "text"                         # optional: the methods raise an error containing it

The fields after `cases` are Divergence's own, and an entry becomes Divergence records through the same function
a Python case declares with, `cases._common.diverging`, so that the two spellings cannot drift apart (the one
difference: `checked` defaults to none here, to the backend's checked versions there, Backend.checked). Write a
finding here when it is data about generated cases; a case written in Python declares its own with `diverging(...)`.

An entry may instead say `not_twice_differentiable = true` (with `cases` and `reason`, no methods): the
samples sit on a kink of the first derivative, where the second-order checks do not apply.
"""

from __future__ import annotations

import functools
import re
import tomllib
from pathlib import Path

from jacobian_harness.casedef import CaseError, Divergence, id_matches
from jacobian_harness.cases._common import diverging

KNOWN = Path(__file__).with_name("known.toml")
# The fields of an entry that are its Divergence records' own (the others say where it applies).
DIVERGENCE_FIELDS = ("kind", "reason", "issue", "versions", "checked", "raises")
FIELDS = {"cases", "methods", "not_twice_differentiable", *DIVERGENCE_FIELDS}


@functools.cache
def findings() -> tuple[dict, ...]:
    try:
        entries = tomllib.loads(KNOWN.read_text()).get("finding", [])
    except tomllib.TOMLDecodeError as exc:
        raise CaseError(f"{KNOWN}: {exc}") from None
    for number, entry in enumerate(entries, 1):
        unknown = set(entry) - FIELDS
        needed = {"cases", "reason"} | (set() if entry.get("not_twice_differentiable") else {"methods", "kind"})
        missing = needed - set(entry)
        if unknown or missing:
            raise CaseError(f"{KNOWN}, finding {number}: " + (f"unknown field {sorted(unknown)[0]!r}" if unknown
                                                                else f"missing field {sorted(missing)[0]!r}"))
    return tuple(entries)


def _expanded(pattern: str) -> list[str]:
    """A `cases` glob with {a,b} alternatives (one level, as shells write them) as plain globs."""
    match = re.search(r"\{([^{}]*)\}", pattern)
    if not match:
        return [pattern]
    return [g for option in match.group(1).split(",")
            for g in _expanded(pattern[:match.start()] + option + pattern[match.end():])]


def _covers(entry: dict, case_id: str) -> bool:
    patterns = entry["cases"] if isinstance(entry["cases"], list) else [entry["cases"]]
    return any(id_matches(case_id, glob) for pattern in patterns for glob in _expanded(pattern))


def divergences_of(entry: dict) -> tuple[Divergence, ...]:
    """A finding's Divergence records, one per method glob, built by `diverging` as a Python case's are."""
    return diverging(entry["methods"], **{"checked": (), **{name: entry[name] for name in DIVERGENCE_FIELDS
                                                            if name in entry}})


def divergences_for(case_id: str, op=None) -> tuple[Divergence, ...]:
    """The declared findings that apply to this case, one Divergence per method glob."""
    declared: list[Divergence] = []
    for entry in findings():
        if not _covers(entry, case_id) or entry.get("not_twice_differentiable"):
            continue
        declared += divergences_of(entry)
    return tuple(declared)


def not_twice_differentiable(case_id: str) -> str:
    """Why the case's point is a kink of f's first derivative, from the data file ("" where it is not)."""
    return next((entry["reason"] for entry in findings()
                 if entry.get("not_twice_differentiable") and _covers(entry, case_id)), "")
