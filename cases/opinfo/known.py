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
    where = { p = 1.0 }                     # optional: only on samples with these argument values (below)

`where` names the condition, not a sample index, so that a declaration holds for every sample that has it,
however many samples a run takes (`--samples`) and in whatever order op_db lists them: each key is one of the
sample's non-tensor arguments, by the operator's parameter name where its signature gives one (`p` for cdist),
else by position (`arg1` is the first argument after the input; `arg1` also works where a name exists), or a
keyword argument by its name; the value must equal the sample's (numbers compare as numbers). A case whose
sample lacks the argument is not covered. `sample_arguments` gives a sample's arguments as `where` sees them
(they are in each case's meta too, shown by `jacobian-harness list --pack opinfo --json`).

The fields after `cases` are Divergence's own, and an entry becomes Divergence records through the same function
a Python case declares with, `cases._common.diverging`, so that the two spellings cannot drift apart (the one
difference: `checked` defaults to none here, to the backend's checked versions there, Backend.checked). Write a
finding here when it is data about generated cases; a case written in Python declares its own with `diverging(...)`.

An entry may instead say `not_twice_differentiable = true` (with `cases` and `reason`, no methods): the
samples sit on a kink of the first derivative, where the second-order checks do not apply.
"""

from __future__ import annotations

import functools
import math
import re
import tomllib
from pathlib import Path

from jacobian_harness.casedef import CaseError, Divergence, id_matches
from jacobian_harness.cases._common import diverging

KNOWN = Path(__file__).with_name("known.toml")
NON_FINITE = ("inf", "-inf", "nan")
# The fields of an entry that are its Divergence records' own (the others say where it applies).
DIVERGENCE_FIELDS = ("kind", "reason", "issue", "versions", "checked", "raises")
FIELDS = {"cases", "methods", "not_twice_differentiable", "where", *DIVERGENCE_FIELDS}


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
        if not isinstance(entry.get("where", {}), dict) or not entry.get("where", True):
            raise CaseError(f"{KNOWN}, finding {number}: `where` must be a table of argument values, "
                            "e.g. where = { p = 1.0 }")
    return tuple(entries)


def _expanded(pattern: str) -> list[str]:
    """A `cases` glob with {a,b} alternatives (one level, as shells write them) as plain globs."""
    match = re.search(r"\{([^{}]*)\}", pattern)
    if not match:
        return [pattern]
    return [g for option in match.group(1).split(",")
            for g in _expanded(pattern[:match.start()] + option + pattern[match.end():])]


def _covers(entry: dict, case_id: str, arguments: dict | None = None) -> bool:
    patterns = entry["cases"] if isinstance(entry["cases"], list) else [entry["cases"]]
    if not any(id_matches(case_id, glob) for pattern in patterns for glob in _expanded(pattern)):
        return False
    arguments = arguments or {}
    return all(name in arguments and _same_value(arguments[name], value)
               for name, value in entry.get("where", {}).items())


def _same_value(given, declared) -> bool:
    """A sample's argument against a `where` value: numbers as numbers (1 == 1.0; a bool is not a number here),
    lists element by element, anything else by equality."""
    if isinstance(given, bool) or isinstance(declared, bool):
        return given is declared
    if given in NON_FINITE:  # kept as text in a case's meta: results.json is strict JSON
        given = float(given)
    if isinstance(given, (int, float)) and isinstance(declared, (int, float)):
        return float(given) == float(declared) or (math.isnan(given) and math.isnan(declared))
    if isinstance(given, (list, tuple)) and isinstance(declared, (list, tuple)):
        return len(given) == len(declared) and all(map(_same_value, given, declared))
    return given == declared


def divergences_of(entry: dict) -> tuple[Divergence, ...]:
    """A finding's Divergence records, one per method glob, built by `diverging` as a Python case's are."""
    return diverging(entry["methods"], **{"checked": (), **{name: entry[name] for name in DIVERGENCE_FIELDS
                                                            if name in entry}})


def divergences_for(case_id: str, arguments: dict | None = None) -> tuple[Divergence, ...]:
    """The declared findings that apply to this case (its id and, for `where`, its sample's arguments), one
    Divergence per method glob."""
    declared: list[Divergence] = []
    for entry in findings():
        if not _covers(entry, case_id, arguments) or entry.get("not_twice_differentiable"):
            continue
        declared += divergences_of(entry)
    return tuple(declared)


def not_twice_differentiable(case_id: str, arguments: dict | None = None) -> str:
    """Why the case's point is a kink of f's first derivative, from the data file ("" where it is not)."""
    return next((entry["reason"] for entry in findings()
                 if entry.get("not_twice_differentiable") and _covers(entry, case_id, arguments)), "")
