"""A comparison's report (render.view.Report): is it safe to upgrade, then what changed from BASE to NEW;
compare.md is its markdown (render_comparison), compare.html its HTML. From a comparison document
(harness.comparison) only."""

from __future__ import annotations

from typing import Any

from collections.abc import Callable, Mapping, Sequence

from jacobian_harness.render.compare_first_screen import (GROUPS, answer_line, first_screen_lines, group_name,
                                                          joined,
                                                          speed_verdict)
from jacobian_harness.render.formatting import err, format_seconds, interval, ratio_and_interval
from jacobian_harness.render.view import (Block, Bold, Bullets, Code, Image, Inline, Paragraph, Report, Section, Span,
                                          Table, span, to_markdown)


def render_comparison(document: Mapping[str, Any]) -> str:
    """compare.md, from a comparison document (kind jacobian-harness.comparison) only."""
    return to_markdown(comparison_report(document))


def comparison_report(document: Mapping[str, Any]) -> Report:
    """The comparison's view: is it safe to upgrade, what changed in correctness, numerics and speed (each
    with its largest items); then one section per kind of change; speed by group, the plot and every pair in
    HTML only."""
    summary = document["summary"]
    library = document["settings"].get("library", "torch")
    return Report("Jacobian harness comparison", "FAIL" if summary["failed"] else "PASS",
                  _first_screen(document, library),
                  tuple(_change_sections(document, library) + _closing_sections(document)
                        + compare_html_sections(document, library)))


def _first_screen(document: Mapping[str, Any], library: str) -> tuple[Block, ...]:
    summary, base, new = document["summary"], document["base"], document["new"]

    def versus(common: str) -> Span:
        return span("BASE ", Code(base["label"]), f" ({library} {_version(base, library)}) vs NEW ",
                    Code(new["label"]), f" ({library} {_version(new, library)}):{common}")

    blocks: list[Block] = [
        Paragraph(versus(f" {summary['pairs']} common (case, method, dtype) pairs."), only="markdown"),
        Paragraph(versus(f"\n{summary['pairs']} common pairs."), only="html"),
        Paragraph(answer_line(summary, library)), Bullets(tuple(first_screen_lines(document, library)))]
    blocks += [Paragraph(Bold(f"{side['label']} did not finish: only its finished pairs are compared."),
                         only="markdown") for side in (base, new) if side.get("partial")]
    blocks += [Paragraph(w, css="fail", only="html") for w in document["environment_warnings"]]
    return tuple(blocks)


def _version(side: Mapping[str, Any], library: str):
    return side["environment"].get("versions", {}).get(library)


def _change_sections(document: Mapping[str, Any], library: str) -> list[Section]:
    """One section per kind of change, each with its count and a table of it (or "None.")."""
    pairs, summary = document["pairs"], document["summary"]
    sections = []
    if document["environment_warnings"]:
        sections.append(Section("Environment warnings", (
            Paragraph("The runs differ in more than the library under test:"),
            Bullets(tuple(document["environment_warnings"]))), only="markdown"))
    for title, rows, row in _change_groups(document):
        headers = _headers(row, library)
        table: Block = Table(headers, tuple(row(p) for p in rows)) if rows else Paragraph("None.")
        if title == "Touched within tolerance":
            touched = summary.get("jacobians_touched", 0)
            note = Paragraph("Jacobians that are not bit for bit the same, but within the dtype's tolerance: no "
                             "regression, but the formulas (or kernels) behind them changed"
                             + (f" (the {TOUCHED_SHOWN} largest changes; compare.json has every pair)"
                                if touched > len(rows) else "") + ".")
            sections.append(Section(f"{title} ({touched})", (note, table), only="markdown"))
        else:
            sections.append(Section(f"{title} ({len(rows)})", (table,), only="markdown"))
    if summary.get("stages"):
        sections.append(_stages_section(document))
    inconclusive = [p for p in pairs if speed_verdict(p) == "inconclusive"]
    if inconclusive:
        widest = sorted(inconclusive, key=lambda p: (p["speed"]["low"] or 0) - (p["speed"]["high"] or 0))[:20]
        sections.append(Section(f"Inconclusive speed ({len(inconclusive)})", (
            Paragraph("Too noisy, or too few samples, to call either way (widest intervals first, at most 20):"),
            Table(_headers(_speed_row, library) + ("why not called",),
                  tuple(_speed_row(p) + (_why_inconclusive(p["speed"], document["settings"], len(inconclusive)),)
                        for p in widest))), only="markdown"))
    return sections


def _stages_section(document: Mapping[str, Any]) -> Section:
    """The screen's candidates and what their confirmation made of them (harness.comparison.confirm)."""
    stages, settings = document["summary"]["stages"], document["settings"]
    timed_again = sorted((p for p in document["pairs"] if (p["speed"] or {}).get("stage") == "confirm"),
                         key=lambda p: (p["speed"]["outcome"] != "confirmed", _p_value(p["speed"]["screen"]) or 1))
    screen, confirm = stages["rounds"]
    note = Paragraph(f"Two stages. The screen timed {stages['screened']} {settings.get('library', 'torch')} pairs in "
                     f"{screen} rounds a side; a pair whose NEW/BASE passed {settings['min_effect']:.0%} with an "
                     f"unadjusted one-sided p below 0.05 became a candidate. The {stages['candidates']} candidates "
                     f"were timed again in {confirm} more rounds a side of fresh processes and judged on those alone, "
                     f"Holm-adjusted over the candidates only: {stages['confirmed']} confirmed, {stages['fell_back']} "
                     f"fell back to noise" + (f", {stages['reversed']} reversed" if stages["reversed"] else "") + ".")
    rows = tuple((Code(p["case"]), Code(p["method"]), p["dtype"], ratio_and_interval(p["speed"]["screen"]),
                  _p_text(p["speed"]["screen"], adjusted=False), ratio_and_interval(p["speed"]),
                  _p_text(p["speed"]),
                  p["speed"]["outcome"]) for p in timed_again)
    table: Block = Table(("case", "method", "dtype", "screen NEW/BASE", "screen p", "confirmation NEW/BASE",
                          "p (adjusted)", "outcome"), rows) if rows else Paragraph("No pair was a candidate.")
    return Section(f"Screened and confirmed ({stages['candidates']} candidates)", (note, table))


# (title, rows, row function) of one kind of change
ChangeGroup = tuple[str, Sequence[Mapping[str, Any]], Callable[[Mapping[str, Any]], tuple[Inline, ...]]]


def _change_groups(document: Mapping[str, Any]) -> list[ChangeGroup]:
    """(title, rows, row function) of each kind of change, in the order compare.md shows them."""
    pairs, cases, methods = document["pairs"], document.get("cases", []), document.get("methods", [])
    families = document.get("families", [])
    return [
        ("Correctness regressions", [p for p in pairs if p["correctness"] == "regression"], _status_row),
        ("Fixes", [p for p in pairs if p["correctness"] == "fix"], _status_row),
        ("Other verdict changes", [p for p in pairs if p["correctness"] == "changed"], _status_row),
        ("Changed as declared per version", [p for p in pairs if p.get("declared_change")], _declared_row),
        ("Numerics drift", [p for p in pairs if p["drift"]], _drift_row),
        ("Touched within tolerance", sorted((p for p in pairs if p.get("values") == "touched"),
                                            key=lambda p: -(p["change"]["max_rel_change"] or 0.0))[:TOUCHED_SHOWN],
         _drift_row),
        ("Slower cases", sorted((c for c in cases if c["verdict"] == "slower"), key=lambda c: -c["ratio"]), _case_row),
        ("Faster cases", sorted((c for c in cases if c["verdict"] == "faster"), key=lambda c: c["ratio"]), _case_row),
        ("Slower methods", sorted((m for m in methods if m["verdict"] == "slower"), key=lambda m: -m["ratio"]),
         _method_row),
        ("Faster methods", sorted((m for m in methods if m["verdict"] == "faster"), key=lambda m: m["ratio"]),
         _method_row),
        ("Slower operator families", sorted((f for f in families if f["verdict"] == "slower"),
                                            key=lambda f: -f["ratio"]), _family_row),
        ("Faster operator families", sorted((f for f in families if f["verdict"] == "faster"),
                                            key=lambda f: f["ratio"]), _family_row),
        ("Slower", sorted((p for p in pairs if speed_verdict(p) == "slower"), key=lambda p: -p["speed"]["ratio"]),
         _speed_row),
        ("Faster", sorted((p for p in pairs if speed_verdict(p) == "faster"), key=lambda p: p["speed"]["ratio"]),
         _speed_row),
    ]


def _headers(row, library: str) -> tuple[str, ...]:
    return {_status_row: ("case", "method", "dtype", "BASE", "NEW", "speed NEW/BASE [95% interval]", "NEW message"),
            _declared_row: ("case", "method", "dtype", "BASE: expected because", "NEW: expected because"),
            _drift_row: ("case", "method", "dtype", "max abs change", "max rel change", "worst element"),
            _speed_row: ("case", "method", "dtype", "NEW/BASE [95% interval]", "p"),
            _case_row: ("case", f"{library} pairs", "NEW/BASE [95% interval]", "p"),
            _method_row: ("method", "pairs (cases x dtypes)", "NEW/BASE [95% interval]", "p"),
            _family_row: ("operator family[: method]", f"{library} pairs", "NEW/BASE [95% interval]", "p")}[row]


def _closing_sections(document: Mapping[str, Any]) -> list[Section]:
    """The pairs only one side has, how speed is judged, and the two environments."""
    settings, base, new = document["settings"], document["base"], document["new"]
    only_one_side = tuple(
        Paragraph(span(f"{len(document[name])} pairs only in {name[8:].upper()}: ",
                       *joined([Code(f"{c} {m} {d}") for c, m, d in document[name][:10]]),
                       " ..." if len(document[name]) > 10 else ""))
        for name in ("only_in_base", "only_in_new") if document[name])
    fields = ["python", "platform", "cpu", "cpu_count", "threads", "started_at"]
    rows = [(f, str(base["environment"].get(f)), str(new["environment"].get(f))) for f in fields]
    base_versions, new_versions = base["environment"].get("versions", {}), new["environment"].get("versions", {})
    rows += [(p, str(base_versions.get(p)), str(new_versions.get(p)))
             for p in sorted(set(base_versions) | set(new_versions))]
    return [Section("", only_one_side, only="markdown"),
            Section("How speed is judged", (Paragraph(_speed_method(settings, base, new, document["pairs"])),
                                            Paragraph(_READING)),
                    only="markdown"),
            Section("Environments", (Table(("", f"BASE {base['label']}", f"NEW {new['label']}"), tuple(rows)),),
                    only="markdown")]


def compare_html_sections(document: Mapping[str, Any], library: str) -> list[Section]:
    """Speed by case and by method, the plot of every pair's NEW/BASE, and every pair: sortable, HTML only."""
    def group_table(field: str) -> Table:
        return Table((field, "pairs", "NEW/BASE", "interval", "test", "speed"), tuple(
            (Code(group_name(g, field)), str(g.get("pairs")), _number(g.get("ratio")),
             interval(g.get("low"), g.get("high")), str(g.get("test")), str(g.get("verdict")))
            for g in document.get(GROUPS[field], [])))

    every = Table(("case", "method", "dtype", "BASE", "NEW", "correctness", "drift (max abs)", "NEW/BASE", "interval",
                   "speed"), tuple(_html_pair_row(p) for p in document["pairs"]))
    groups = [Section(f"Speed by case ({library} pairs together)", (group_table("case"),), only="html"),
              Section(f"Speed by method ({library}'s pairs of each method, over every case)",
                      (group_table("method"),), only="html"),
              Section(f"Speed by operator family ({library}'s pairs of its cases, all or of one method)",
                      (group_table("family"),), only="html")]
    return ([g for g, field in zip(groups, ("cases", "methods", "families"), strict=True) if document.get(field)]
            + [Section("NEW/BASE per (case, method), with 95% intervals", (Image("speed.png", "speed plot"),),
                       only="html"),
               Section("Every pair", (every,), only="html")])


def _html_pair_row(p: Mapping[str, Any]) -> tuple[Inline, ...]:
    speed = p["speed"] or {}
    return (Code(p["case"]), Code(p["method"]), p["dtype"], p["base_status"], p["new_status"],
            "changed as declared" if p.get("declared_change") else p["correctness"],
            _number((p["drift"] or {}).get("max_abs_change"), ".2g"), _number(speed.get("ratio")),
            interval(speed.get("low"), speed.get("high")),
            "control" if p.get("control") else speed.get("verdict", ""))


def _number(value, digits: str = ".3g") -> str:
    return format(value, digits) if isinstance(value, (int, float)) else ""


TOUCHED_SHOWN = 30  # rows of the "touched within tolerance" table
_READING = ("How to read the speed columns: NEW/BASE is the ratio of median times (above 1: NEW is slower), "
            "with its 95% interval. `test` in compare.json says how a pair was tested: `rounds` (per-round "
            "medians of fresh processes; round by round for both sides of an `ab`), `samples` (the raw "
            "samples of single runs) or, for a case or a method, `spread` (single runs: its median log ratio "
            "against the spread of all cases' or methods'). Pairs with `control: true` are of the frameworks "
            "that are not under test (the same versions on both sides): they measure the machine, are shown, and never "
            "fail the comparison. An interval wholly below or above 1 is still `inconclusive` where the "
            "change is smaller than --min-effect, or where its p-value, adjusted for the number of pairs "
            "tested (Holm), is above alpha: among hundreds of unchanged pairs a few intervals exclude 1 by "
            "chance alone. `detectable` on each verdict is the smallest slowdown it would have called at its noise "
            "(the first screen gives the median per pair, case and method): what \"none slower\" can vouch for.")


def _why_inconclusive(speed: Mapping[str, Any], settings: Mapping[str, Any], tested: int) -> str:
    """Why a speed change was not called, in the terms of the reading note above."""
    low, high, ratio = speed.get("low"), speed.get("high"), speed.get("ratio")
    if low is None or high is None:
        return "no interval (too few pairs or samples)"
    if low <= 1 <= high:
        return "the interval includes 1"
    bound = 1 + settings["min_effect"]
    if 1 / bound < ratio < bound:
        return f"the change is below --min-effect {settings['min_effect']:.0%}"
    p_value = _p_value(speed)
    if p_value is not None and p_value > settings["alpha"]:
        return (f"the interval excludes 1, but p = {p_value:.2g} (adjusted for many pairs) is above alpha "
                f"{settings['alpha']:g}")
    if speed.get("test") == "samples":
        return "single runs: indicative only (time with --rounds or `ab` to test it)"
    return "not called at alpha"


def _speed_method(settings: Mapping[str, Any], base: Mapping[str, Any], new: Mapping[str, Any],
                  pairs: Sequence[Mapping[str, Any]]) -> str:
    clock = {"cpu": "process CPU time (time spent descheduled by other jobs on the machine does not count)",
             "wall": "wall-clock time"}[settings.get("clock", "wall")]
    paired = (" The two runs are the two sides of one `ab`: each round timed every pair on both sides back to "
              "back, so pairs (and cases, and methods) are tested on their per-round log ratios NEW/BASE, in which "
              "what the machine did during the round cancels." if settings.get("paired") else "")
    stages = (" In two stages (`ab --confirm-rounds`): the pairs the rounds screened as candidates were timed "
              "again, and only those rounds judge them, Holm-adjusted over the candidates; the others keep their "
              "verdicts of the screen." if settings.get("paired") and any(
                  (p["speed"] or {}).get("stage") for p in pairs) else "")
    return (f"Speed is compared on {clock}. A change is called when NEW/BASE passes "
            f"{settings['min_effect']:.0%} and a one-sided test at alpha {settings['alpha']:g}. Pairs timed in "
            f"rounds of fresh processes (`run --rounds`, `ab`) are tested on their per-round medians (a t-test on "
            f"the logs, each pair's variance moderated towards that of all pairs), with p-values "
            f"Holm-adjusted for the number of pairs (and, apart, of cases and of methods), so that "
            f"unchanged code is called changed with probability below alpha in the whole comparison.{paired}"
            f"{stages} Pairs "
            f"of single runs are tested on their raw samples (Mann-Whitney U) with 95% bootstrap intervals "
            f"widened by the suite's run-to-run spread ({settings.get('noise_z', 3):g} robust sd per decade of "
            f"time); they cannot see how a pair's speed varies between processes, so they are indicative "
            f"and never fail the comparison. Wall-clock samples are divided by "
            f"the ratio of a NumPy calibration workload timed before each case (whole runs: "
            f"{_seconds(base['calibration_s'])} vs {_seconds(new['calibration_s'])}).")


def _p_value(change: Mapping[str, Any], adjusted: bool = True) -> float | None:
    """The p-value of the change's direction, Holm-adjusted where it was (harness.comparison) unless not
    `adjusted` (a screen's, which picks candidates unadjusted)."""
    side = "slower" if change["ratio"] >= 1 else "faster"
    return change.get(f"p_{side}_adjusted", change.get(f"p_{side}")) if adjusted else change.get(f"p_{side}")


def _p_text(change: Mapping[str, Any], adjusted: bool = True) -> str:
    p_value = _p_value(change, adjusted)
    return "" if p_value is None else f"{p_value:.2g}"


def _group_row(field: str):
    """The row of a speed verdict over a group of pairs (harness.comparison.speed.group_speeds), named by `field`."""
    def row(group: Mapping[str, Any]) -> tuple[Inline, ...]:
        return Code(group_name(group, field)), str(group["pairs"]), ratio_and_interval(group), _p_text(group)

    return row


_case_row, _method_row, _family_row = _group_row("case"), _group_row("method"), _group_row("family")


def _seconds(value) -> str:
    return format_seconds(value) if isinstance(value, (int, float)) else "n/a"


def _status_row(p: Mapping[str, Any]) -> tuple[Inline, ...]:
    return (Code(p["case"]), Code(p["method"]), p["dtype"], p["base_status"], p["new_status"], _speed_beside(p),
            p.get("new_message", "")[:160])


def _speed_beside(p: Mapping[str, Any]) -> str:
    """A changed pair's speed, beside its verdict change: a maintainer weighs a fix against its cost."""
    speed = p["speed"]
    if not speed:
        return "not timed on both sides"
    return f"{ratio_and_interval(speed)} {speed['verdict']}"


def _declared_row(p: Mapping[str, Any]) -> tuple[Inline, ...]:
    return (Code(p["case"]), Code(p["method"]), p["dtype"], p.get("base_message", "")[:160],
            p.get("new_message", "")[:160])


def _drift_row(p: Mapping[str, Any]) -> tuple[Inline, ...]:
    d = p["drift"] or p["change"]  # beyond tolerance, or touched within it
    where = "" if d.get("worst_index") is None else f"{d['worst_index']}: {d.get('base')!r} -> {d.get('new')!r}"
    return (Code(p["case"]), Code(p["method"]), p["dtype"], err(d.get("max_abs_change")),
            err(d.get("max_rel_change")), where or d.get("reason", ""))


def _speed_row(p: Mapping[str, Any]) -> tuple[Inline, ...]:
    s = p["speed"]
    return (Code(p["case"]), Code(p["method"]), p["dtype"], ratio_and_interval(s), f"{_p_value(s):.2g}")
