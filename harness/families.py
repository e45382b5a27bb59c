"""Operator families: cases whose derivatives go through the same rules (det, solve, norm, ...), so that a
comparison finds a speed change confined to some operators as such (torch 2.15.0's det-family forward rules:
op.slogdet's forward-over-forward x2.9, op.det's x1.3, one pair of a dozen in each case).

A dict plus a one-line registrar, like the other registries: a family is a name and the globs of the ids of
its cases (a pack's generated ids included); a case can also name its own (Case.family), which wins.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

FAMILIES: dict[str, tuple[str, ...]] = {}


def register_family(name: str, *patterns: str) -> None:
    """Cases whose id matches one of `patterns` (globs) are of family `name` (added to its earlier patterns)."""
    FAMILIES[name] = FAMILIES.get(name, ()) + patterns


def family_of(case_id: str, declared: str = "") -> str:
    """The family a case declares, else the first registered family one of whose globs its id matches, else ""."""
    if declared:
        return declared
    return next((name for name, patterns in FAMILIES.items()
                 if any(fnmatchcase(case_id, pattern) for pattern in patterns)), "")
