"""Correctness between two runs: how each pair's verdict changed (regression, fix, other change), declared
divergences that changed form, and the cases whose input or declarations differ, where a verdict change says
nothing about the library under test.

A pair's correctness regresses when it fails in NEW (harness.records.FAILING) but not in BASE (or agreed in
BASE and is a bug declared for NEW's version), and is fixed the other way round.
"""

from __future__ import annotations

from jacobian_harness.comparison.document import Pair
from jacobian_harness.records import FAILING
from jacobian_harness.verdicts import INHERITED, UNCHECKED_NOTE


def correctness(base: dict, new: dict) -> str:
    """regression (fails in NEW only, or agreed in BASE and is a declared bug in NEW), fix (failed in BASE, or
    was a declared bug there, and agrees in NEW), changed (any other verdict change, e.g. a wrong value that
    became an error) or same."""
    base_status, new_status = base["status"], new["status"]
    if base_status == new_status:
        return "same"
    if new_status in FAILING and base_status not in FAILING:
        return "regression"
    if base_status in FAILING and new_status not in FAILING:
        return "fix"
    if base_status == "expected-divergence" and new_status == "agree" and _declared_bug(base):
        return "fix"  # a known bug, declared for BASE's version, gone in NEW's
    if base_status == "agree" and new_status == "expected-divergence" and _declared_bug(new):
        return "regression"  # a bug declared for NEW's version: its declaration keeps NEW's own run green only
    return "changed"


def correctness_on_another_input(base: dict, new: dict) -> str:
    """A verdict on another input (the same id, another sample) is no regression (or fix) of the library: it
    is a change."""
    return "same" if base["status"] == new["status"] else "changed"


def _declared_bug(record: dict) -> bool:
    declaration = record.get("declaration") or record.get("message", "")
    return declaration.removeprefix(INHERITED).startswith("bug:")


def declared_change(base: dict, new: dict) -> bool:
    """Both runs expected this pair to diverge, but by another declaration: a known bug or convention whose
    form changed with the version, as declared per version (wrong zeros that now raise, say). No regression,
    since it was declared; but the upgrade changed it, and the maintainer is told. Records name their
    declaration (`declaration`); where one side was written before that field, both sides' messages are
    compared without the note on unchecked versions, which names versions, not the declaration (a declared
    error whose text changed is then a change too)."""
    if not base["status"] == new["status"] == "expected-divergence":
        return False
    if base.get("declaration") and new.get("declaration"):
        return base["declaration"] != new["declaration"]
    return UNCHECKED_NOTE.sub("", base.get("message", "")) != UNCHECKED_NOTE.sub("", new.get("message", ""))


def samples_changed(base: dict, new: dict) -> set[str]:
    """The cases of both runs whose pack recorded a different sample digest (meta.digest): the same id names
    another input there, e.g. an opinfo sample that the newer torch's op_db draws differently."""
    changed = set()
    for case_id, summary in base.get("cases", {}).items():
        other = new.get("cases", {}).get(case_id)
        digests = ((summary.get("meta") or {}).get("digest"), ((other or {}).get("meta") or {}).get("digest"))
        if None not in digests and digests[0] != digests[1]:
            changed.add(case_id)
    return changed


def sample_digests_differ(base: dict, new: dict) -> bool:
    """The two records' own processes made another sample (an `ab` of two torches)."""
    return None not in (base.get("sample_digest"), new.get("sample_digest")) \
        and base["sample_digest"] != new["sample_digest"]


def declarations_changed(base: dict, new: dict) -> set[str]:
    """The cases of both runs whose declared divergences differ: the harness (its case library or a pack's
    known findings) changed between the runs, so a pair explained by another declaration there says nothing
    about the library under test."""
    return {case_id for case_id, summary in base.get("cases", {}).items()
            if case_id in new.get("cases", {})
            and summary.get("divergences") != new["cases"][case_id].get("divergences")}


def verdict_changes(pairs: list[Pair]) -> dict[str, int]:
    """How many pairs went from each verdict to each other one, "BASE -> NEW", most first."""
    counts: dict[str, int] = {}
    for pair in pairs:
        if pair["base_status"] != pair["new_status"]:
            kind = f"{pair['base_status']} -> {pair['new_status']}"
            counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def redeclared_warning(redeclared: set[str], library: str) -> list[str]:
    """The environment warning of cases whose declared divergences differ (none where none do)."""
    if not redeclared:
        return []
    return [f"the declared divergences of {len(redeclared)} cases differ between the runs (another version of "
            f"the harness or its packs' known findings: {', '.join(sorted(redeclared)[:3])}"
            f"{', ...' if len(redeclared) > 3 else ''}): an expected divergence explained differently there is "
            f"not called a change of {library}"]
