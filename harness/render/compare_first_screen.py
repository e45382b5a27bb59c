"""The first screen of a comparison's report: is it safe to upgrade, and what changed in correctness, numerics
and speed, each in one line with its largest items and, for speed, what it could have seen."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from jacobian_harness.comparison.document import NOISY_PAIR
from jacobian_harness.render.formatting import err, ratio_and_interval
from jacobian_harness.render.view import Bold, Code, Inline, Span, span

CASES_SHOWN = 3  # slower and faster cases named on the first screen


def answer_line(summary: Mapping[str, Any], library: str) -> Bold:
    """The first line: is it safe to upgrade?"""
    counts = (("regressions", "correctness regression(s)"), ("drift", "Jacobian(s) beyond tolerance"),
              ("slower_backed", "slowdown(s) backed by timing rounds"))
    blockers = [f"{summary[name]} {what}" for name, what in counts if summary.get(name)]
    if blockers:
        return Bold(f"Not safe to upgrade {library} as it stands: {', '.join(blockers)}.")
    if summary.get("too_noisy"):
        return Bold(f"Safe to upgrade {library} by what was checked: no correctness regression, no Jacobian beyond "
                    f"tolerance; speed not judged: machine too noisy.")
    return Bold(f"Safe to upgrade {library} by what was checked: no correctness regression, no Jacobian beyond "
                f"tolerance, no slowdown backed by timing rounds.")


def first_screen_lines(document: Mapping[str, Any], library: str) -> list[Span]:
    """A few lines: correctness, numerics, speed by case (with intervals), each with its largest items."""
    return [_correctness_line(document), _numerics_line(document["summary"])] + _speed_lines(document, library)


def _correctness_line(document: Mapping[str, Any]) -> Span:
    summary = document["summary"]
    # Which changes are regressions, fixes or "other" is harness.comparison's call, kept on each pair
    # (`correctness`): one kind, e.g. `expected-divergence -> agree`, can be a fix (a declared bug gone) on one
    # pair and another change (a convention gone, or another sample) on the next.
    def by_kind(correctness: set[str]) -> list[Inline]:
        counts = Counter(f"{p['base_status']} -> {p['new_status']}" for p in document["pairs"]
                         if p["correctness"] in correctness)
        return joined([span(f"{n} ", Code(kind))
                        for kind, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))])

    other, failing = by_kind({"changed"}), by_kind({"regression", "fix"})
    costly = [p for p in document["pairs"] if p["correctness"] in ("regression", "fix")
              and speed_verdict(p) in ("slower", "faster")]
    weighed = joined([span(Code(p["case"]), " ", Code(p["method"]), f" {_fixed_or_broken(p)}, and "
                            f"x{p['speed']['ratio']:.2f} {p['speed']['verdict']}") for p in costly[:CASES_SHOWN]])
    return span(f"correctness: {summary['regressions']} regressions, {summary['fixes']} fixes, {summary['changed']} "
                f"other verdict changes", span(" (", *other, ")") if other else "",
                span("; by kind: ", *failing) if failing else "",
                span("; with a speed change: ", *weighed, ", ..." if len(costly) > CASES_SHOWN else "")
                if costly else "",
                f"; {summary['declared_changes']} expected divergences changed form as declared per version "
                f"(declared bugs or conventions: see 'Changed as declared per version')"
                if summary.get("declared_changes") else "")


def _fixed_or_broken(pair: Mapping[str, Any]) -> str:
    return "fixed" if pair["correctness"] == "fix" else "broken"


def _numerics_line(summary: Mapping[str, Any]) -> Span:
    compared = summary.get("jacobians_compared")
    if compared is not None:
        largest = summary.get("largest_change")
        where = span(f"; largest relative change {err(largest['max_rel_change'])} (", Code(largest["case"]), " ",
                     Code(largest["method"]), f" {largest['dtype']})") if largest else ""
        fixed = summary.get("jacobians_fixed")
        line = span(f"numerics: {summary['jacobians_changed']} of {compared} Jacobians changed at all (not bit for "
                    f"bit the same), {summary['drift']} of them beyond tolerance"
                    + (f" and {fixed} moved to the reference with a fix" if fixed else ""), where)
    else:  # a comparison document written before values were told apart
        line = span(f"numerics: {summary['drift']} Jacobians changed beyond tolerance")
    if summary.get("sample_changed_cases"):
        line = span(line, f" ({summary['sample_changed_cases']} cases have another sample behind the same id: their "
                          f"Jacobians are not compared)")
    return line


def _speed_lines(document: Mapping[str, Any], library: str) -> list[Span]:
    summary: Mapping[str, Any] = document["summary"]
    lines: list[Span] = []
    detectable = summary.get("detectable")
    if detectable is not None and "pair" not in detectable:
        return [span(f"speed: not compared: no {library} pair was timed on both sides (a run with ",
                     Code("--no-timing"), ")")]
    if summary.get("too_noisy") and detectable:
        # What was called stands; what was not is what this noise hides.
        called = summary.get("slower") or summary.get("slower_cases") or summary.get("slower_methods")
        lines.append(span(Bold(f"speed {'judged only in part' if called else 'not judged'}: machine too noisy: the "
                          f"median pair could have been called slower only beyond {_times(detectable['pair'])} (this "
                          f"check must see x{NOISY_PAIR:g}); " + ("smaller slowdowns went unseen. " if called else
                                                                  "\"nothing slower\" would say nothing. ")
                          + "Time again on a quieter machine, or with more rounds (ab --rounds, --confirm-rounds)")))
    for field, what in (("case", f"all of a case's {library} pairs"),
                        ("method", "all of a method's pairs, every case"),
                        ("family", "the pairs of an operator family's cases, all or of one method")):
        lines += _group_line(document, field, what, detectable)
    geomean = f"{summary['geomean_ratio']:.3f}" if summary["geomean_ratio"] else "n/a"
    lines.append(span(f"speed by pair: {summary['slower']} slower, {summary['faster']} faster, {summary['same']} "
                      f"same, {summary['inconclusive']} inconclusive; geometric mean NEW/BASE {geomean} (not counting "
                      f"{summary.get('control_pairs', 0)} pairs of other frameworks)", _two_stages(summary),
                      _could_see(detectable, "pair")))
    return lines


GROUPS = {"case": "cases", "method": "methods", "family": "families"}  # a group's field -> the document's list


def _group_line(document: Mapping[str, Any], field: str, what: str,
                detectable: Mapping[str, float | None] | None) -> list[Span]:
    """The line of one kind of group (cases, methods, operator families): which were called, of how many."""
    groups = document.get(GROUPS[field], [])
    judged = [g for g in groups if g.get("verdict")]
    if field != "case" and not any(g.get("test") == "rounds" for g in groups):
        return []  # methods and families are judged on rounds only (and older comparison documents have none)
    named = []
    for verdict, order in (("slower", -1), ("faster", 1)):
        group = sorted((g for g in judged if g["verdict"] == verdict), key=lambda g: order * g["ratio"])
        if group:
            shown = joined([span(Code(group_name(g, field)), f" {ratio_and_interval(g)}")
                            for g in group[:CASES_SHOWN]])
            named.append(span(f"{len(group)} {verdict} (", *shown, f"{', ...' if len(group) > CASES_SHOWN else ''})"))
    single = judged and all(g.get("test") == "spread" for g in judged)
    return [span(f"speed by {field} ({what}, NEW/BASE [95% interval]",
                 span("; single runs: indicative only, ", Code("run --rounds"), " or ", Code("ab"), " judges speed")
                 if single else "", "): ", *(joined(named, "; ") if named else ["none slower or faster"]),
                 f" of {len(judged)} {GROUPS[field]}; the rest within noise", _could_see(detectable, field))]


def group_name(group: Mapping[str, Any], field: str) -> str:
    """A group's name: its case or method, or its family (with the method, for a family's pairs of one method)."""
    return f"{group['family']}: {group['method']}" if field == "family" and group.get("method") else group[field]


def _two_stages(summary: Mapping[str, Any]) -> str:
    """How many pairs the screen picked, and what their confirmation made of them."""
    stages = summary.get("stages")
    if not stages:
        return ""
    return (f"; two stages: {stages['screened']} pairs screened, {stages['candidates']} candidates timed again in "
            f"{stages['rounds'][1]} rounds a side: {stages['confirmed']} confirmed, {stages['fell_back']} fell back "
            f"to noise" + (f", {stages['reversed']} reversed" if stages["reversed"] else ""))


def _times(ratio: float | None) -> str:
    return "any change (too few samples to call one)" if ratio is None else f"x{ratio:.2f}"


def _could_see(detectable: Mapping[str, float | None] | None, family: str) -> str:
    """What a family's verdicts could have called (absent from older comparison documents)."""
    if not detectable or family not in detectable:
        return ""
    ratio = detectable[family]
    if ratio is None:
        return f"; at this noise no {family} could have been called slower or faster"
    return (f"; the median {family} would have been called slower from {_times(ratio)} (faster below "
            f"x{1 / ratio:.2f})")


def joined(items: Sequence[Inline], separator: str = ", ") -> list[Inline]:
    """items with `separator` between them."""
    return [part for i, item in enumerate(items) for part in ((separator, item) if i else (item,))]


def speed_verdict(pair: Mapping[str, Any]) -> str | None:
    return None if pair.get("control") or not pair["speed"] else pair["speed"]["verdict"]
