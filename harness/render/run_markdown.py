"""A run's report (render.view.Report): the verdict, the failures and which method to use first; the details
after. report.md is its markdown (render_markdown), report.html its HTML (render.html). Built from a saved run
document only (never from live objects)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import re
from collections import Counter

from jacobian_harness.records import (FAILING, NOT_RECOMMENDED_MODES, NOT_RUN, VERDICTS, agreeing_ad, fastest_agreeing,
                                      headline, median_s, no_fastest, pair_key, quantity_of, row_key, summary_counts)
from jacobian_harness.render.formatting import (LEGEND, SYMBOLS, backend_versions, err, format_seconds, number,
                                                time_cell)
from jacobian_harness.render.run_html import html_agreement_section, html_sections
from jacobian_harness.render.view import (Block, Bold, Code, Inline, Paragraph, Report, Section, Table, span,
                                          to_markdown)
from jacobian_harness.cost import cost_line
from jacobian_harness.sweep import rule_lines
from jacobian_harness.timing import cost_of_calls_s


# How many calls the report's answer counts preparation over: one Jacobian, and a loop of a hundred.
CALLS_SHOWN = (1, 100)


def render_markdown(document: Mapping[str, Any]) -> str:
    """report.md: the verdict, the failures and which method to use first; the details after."""
    return to_markdown(run_report(document))


def run_report(document: Mapping[str, Any]) -> Report:
    """The run report's view: the verdict, the failures and which method to use first; the details after (the
    per-case tables only up to DETAILED_CASES cases); the heat map, plots and every pair in HTML only."""
    records = document["results"]
    key = row_key(records)
    cases = list(dict.fromkeys(key(r) for r in records))
    sections = html_agreement_section(document) + _failure_sections(document) + _pack_section(document, records)
    detailed = len(cases) <= DETAILED_CASES
    timed = any(median_s(r) is not None for r in records)  # none with --no-timing: no speed to show
    if detailed and timed:
        sections += _which_method_section(records, cases, key)
    sections += _expected_section(records)
    if detailed:
        sections += _agreement_sections(records, cases, key)
        sections += _timing_sections(document, cases, key) if timed else []
        sections += _not_run_section(records)
    else:
        sections.append(Section("", (Paragraph(
            f"{len(cases)} cases: the per-case tables (which method to use, agreement, timing, not run) are "
            f"in report.html and results.json."),), only="markdown"))
    sections += html_sections(document) + [_environment_section(document.get("environment", {}))]
    return Report("Jacobian harness report", headline(document), _first_screen(document), tuple(sections))


def _first_screen(document: Mapping[str, Any]) -> tuple[Block, ...]:
    """How many pairs fail and which verdicts, on which versions; how long it took; whether it finished."""
    records, interrupted = document["results"], document.get("interrupted")
    env, options = document.get("environment", {}), document.get("options", {})
    counts = summary_counts(records)
    failures = [r for r in records if r["status"] in FAILING]
    blocks: list[Block] = []
    if document.get("partial"):
        finished = f"{interrupted['cases_finished']} of {interrupted['cases_planned']} cases finished" \
            if interrupted else "Not every case finished"
        kept = f"; {interrupted['evaluations_journaled']} evaluations are kept in the journal" if interrupted else ""
        resume = span(" ", Code(interrupted["resume"]), " finishes the run.") if interrupted else ""
        blocks.append(Paragraph(span(Bold(f"Interrupted: {finished}{kept}."), resume,
                                     " What follows covers the finished cases."), only="markdown"))
    blocks.append(Paragraph(
        f"{len(failures)} failing of {len(records)} (case, method) pairs on "
        f"{len({r['case'] for r in records})} cases in {options.get('dtype', '?')}: "
        + (", ".join(f"{counts[v]} {v}" for v in VERDICTS if counts[v]) or "none") + ".\n"
        f"{backend_versions(env)}, {env.get('threads')} thread(s), "
        f"{_jobs(options.get('jobs'))}{_timing(options)}, "
        f"started {env.get('started_at')}.", only="markdown"))
    blocks.append(Paragraph(
        f"{len(records)} (case, method) pairs: " + ", ".join(f"{counts[v]} {v}" for v in VERDICTS if counts[v])
        + f".\n{backend_versions(env)}, started {env.get('started_at')}.", only="html"))
    if document.get("cost"):
        blocks.append(Paragraph(f"Time: {cost_line(document['cost'])}."))
    if document.get("partial"):
        blocks.append(Paragraph(Bold("This run did not finish: the report covers the pairs that did."),
                                css="fail", only="html"))
    return tuple(blocks)


def _timing(options: Mapping[str, Any]) -> str:
    """How the run timed its pairs: quick, full, or not at all (--no-timing: a policy that takes no samples)."""
    policy = options.get("timing") or {}
    if policy and not (policy.get("min_repeats") or policy.get("budget_s")):
        return "no timing"
    return f"{'quick' if options.get('quick') else 'full'} timing"


def _failure_sections(document: Mapping[str, Any]) -> list[Section]:
    """The failing pairs, first order then second, with what a pack knows of each (notes); in HTML, with their
    dtype and without notes."""
    records = document["results"]
    failures = [r for r in records if r["status"] in FAILING]
    if not failures:
        return [Section("", (Paragraph("No failures: every method that ran agrees with the reference or "
                                       "diverges as declared."),), only="markdown")] if records else []
    pairs = {pair_key(r): r for r in records}
    first, second = _by_order(failures)
    sections = [Section("Failures", (_failure_table(first, document, pairs),) if first else (), only="markdown")]
    if second:
        sections.append(Section(f"Second-order failures ({SECOND_ORDER})",
                                (_failure_table(second, document, pairs),), 3, only="markdown"))
    return sections + [
        Section(title, (Table(("case", "method", "dtype", "verdict", "message"),
                              tuple((Code(r["case"]), Code(r["method"]), r["dtype"], r["status"], r.get("message", ""))
                                    for r in group)),), only="html")
        for title, group in (("Failures", first), ("Second-order failures", second)) if group]


def _failure_table(group: Sequence[Mapping[str, Any]], document: Mapping[str, Any],
                   pairs: Mapping[tuple, Any]) -> Table:
    notes = [_finding_notes(r, document, pairs) for r in group]
    extra = ("notes",) if any(notes) else ()
    return Table(("case", "method", "verdict", "max rel err", "message") + extra,
                 tuple((Code(r["case"]), Code(r["method"]), r["status"], err(r.get("max_rel_err")),
                        r.get("message", "")) + ((n,) if extra else ())
                       for r, n in zip(group, notes, strict=True)))


def _expected_section(records: Sequence[Mapping[str, Any]]) -> list[Section]:
    expected = [r for r in records if r["status"] == "expected-divergence"]
    if not expected:
        return []
    return [Section("Expected divergences", (Table(
        ("case", "method", "max abs err", "worst element", "declared"),
        tuple((Code(r["case"]), Code(r["method"]), err(r.get("max_abs_err")), _worst(r), r.get("message", ""))
              for r in expected)),), only="markdown")]


def _agreement_sections(records: Sequence[Mapping[str, Any]], cases: list[str], key) -> list[Section]:
    """Each case's verdict by each method that ran: first-order methods, then second-order checks."""
    cell = {(key(r), r["method"]): r for r in records}
    ran = _ran(records)
    left_out = len({r["method"] for r in records}) - len(ran)
    blocks: list[Block] = [Paragraph(LEGEND)]
    if left_out:
        what = "method that ran on none of these cases has" if left_out == 1 else \
            "methods that ran on none of these cases have"
        blocks.append(Paragraph(f"{left_out} {what} no column (see Not run)."))
    sections = [Section("Agreement", (), only="markdown")]
    first_order = [m for m in ran if not _second_order_method(m, records)]
    second_order = [m for m in ran if _second_order_method(m, records)]
    for second, columns in ((False, first_order), (True, second_order)):
        rows = [c for c in cases if any((c, m) in cell for m in columns)]
        if not columns or not rows:
            continue
        table = Table(("case",) + tuple(Code(m) for m in columns),
                      tuple((Code(c),) + tuple(SYMBOLS.get(cell[(c, m)]["status"], "?") if (c, m) in cell else ""
                                               for m in columns) for c in rows))
        if second:
            sections.append(Section(f"Second order: {SECOND_ORDER}", (Paragraph(SECOND_ORDER_NOTE), table), 3,
                                    only="markdown"))
        else:
            blocks.append(table)
    sections[0] = Section("Agreement", tuple(blocks), only="markdown")
    return sections


def _ran(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """The methods that ran on at least one case (the columns of the per-method tables)."""
    return [m for m in dict.fromkeys(r["method"] for r in records)
            if any(r["method"] == m and r["status"] not in NOT_RUN for r in records)]


def _timing_sections(document: Mapping[str, Any], cases: list[str], key) -> list[Section]:
    """The fastest agreeing method per case and per framework, the mode rule, and every pair's time and J/f."""
    records = document["results"]
    cell = {(key(r), r["method"]): r for r in records}
    ran, best = _ran(records), fastest_agreeing(records)
    backends = list(dict.fromkeys(r["backend"] for r in records if r.get("mode") not in NOT_RECOMMENDED_MODES))
    per_backend = {b: {key(r): r for r in fastest_agreeing([r for r in records if r["backend"] == b]).values()}
                   for b in backends}
    return [
        Section("Timing details", (Paragraph(TIMING_NOTE), Table(
            ("case", "fastest agreeing", "median", "IQR", "samples", "J/f", "slowest agreeing", "slowest / fastest"),
            tuple(_fastest_row(c, best.get(c), [r for r in records if key(r) == c]) for c in cases))),
            only="markdown"),
        Section("Fastest agreeing method of each framework", (Table(
            ("case",) + tuple(backends),
            tuple((Code(c),) + tuple(_method_and_time(per_backend[b].get(c)) for b in backends) for c in cases)),),
            3, only="markdown"),
        _mode_rule_section(document),
        Section("Median time per (case, method)", (Table(
            ("case",) + tuple(Code(m) for m in ran),
            tuple((Code(c),) + tuple(time_cell(cell.get((c, m)), best.get(c)) for m in ran) for c in cases)),
            Paragraph("Bold: the fastest agreeing method of the case. Preparation (tracing, compilation) and the "
                      "first call are timed apart, in `prepare_s` of results.json.")), 3, only="markdown"),
        Section("J/f cost ratio per (case, method)", (Table(
            ("case",) + tuple(Code(m) for m in ran),
            tuple((Code(c),) + tuple(_ratio(cell.get((c, m))) for m in ran) for c in cases)),), 3, only="markdown"),
    ]


TIMING_NOTE = ("Median of the timed samples (each sample: one call, forward pass included); J/f is that median over "
               "the median time of f itself in the same backend. Finite differences are timed but not recommended: "
               "they agree only within their looser tolerance.")


def _not_run_section(records: Sequence[Mapping[str, Any]]) -> list[Section]:
    others = [r for r in records if r["status"] in NOT_RUN]
    if not others:
        return []
    return [Section("Not run", (Table(("case", "method", "status", "why"),
                                      tuple((Code(r["case"]), Code(r["method"]), r["status"], r.get("message", ""))
                                            for r in others)),), only="markdown")]


def _environment_section(env: Mapping[str, Any]) -> Section:
    return Section("Environment", (Table(("", ""), tuple(
        [(k, f"{v}") for k, v in env.items() if k != "versions"]
        + [(f"version of {k}", f"{v}") for k, v in env.get("versions", {}).items()])),), only="markdown")


SECOND_ORDER = "w^T f''(x)[u, v] by each composition of jvp and vjp"
SECOND_ORDER_NOTE = ("For fixed random directions u, v and output weight w, each check computes the second "
                     "derivative of f along u and v by one composition (outer-inner: fwd-rev is forward over "
                     "reverse, as torch.func.hessian), judged against a reference chosen among them (one vote "
                     "per framework) with finite differences as the outside check. A formula can be right at "
                     "first order and wrong here; `skip` marks a case whose f is not twice differentiable at "
                     "its point.")


DETAILED_CASES = 200  # more cases than this: report.md leaves the per-case tables to report.html


def _finding_notes(record: Mapping[str, Any], document: Mapping[str, Any], pairs: Mapping[tuple, Any]) -> str:
    """What a pack knows about a failing pair: what the framework's own test of this method expects, how the
    same pair fared at the moved twin (or at the original), and the standalone repro."""
    cases = document.get("cases", {})
    meta = (cases.get(record["case"]) or {}).get("meta") or {}
    notes = []
    expectation = (meta.get("torch_tests") or {}).get(record.get("mode"))
    if expectation:
        notes.append(f"torch's tests: {expectation}")
    other = meta.get("moved_from") or (record["case"] + ".moved" if record["case"] + ".moved" in cases else None)
    if other:
        twin = pairs.get((other, record["method"], record["dtype"]))
        where = "at the original" if meta.get("moved_from") else "moved"
        notes.append(f"{where}: {twin['status'] if twin else 'not run'}")
    if record.get("repro"):
        notes.append(f"repro: `{record['repro']}`")
    return "; ".join(notes)


def _pack_section(document: Mapping[str, Any], records: Sequence[Mapping[str, Any]]) -> list[Section]:
    """For runs with a generated pack: what it covered, what it could not check and why (counted by reason),
    and where the jax counterparts were."""
    skipped = document.get("skipped_cases") or {}
    cases = document.get("cases", {})
    packs = Counter(c.get("pack") or "" for c in cases.values())
    if not skipped and set(packs) <= {"builtin", ""}:
        return []
    rows = []
    for pack in dict.fromkeys(list(packs) + [skipped_pack(i) for i in skipped]):
        ops = {(c["meta"].get("op"), c["meta"].get("variant")) for c in cases.values()
               if c.get("pack") == pack and c.get("meta", {}).get("op")}
        with_jax = {(c["meta"]["op"], c["meta"].get("variant")) for c in cases.values()
                    if c.get("pack") == pack and not str(c.get("meta", {}).get("jax", "none")).startswith("none")}
        rows.append([pack or "(case files)", str(packs.get(pack, 0)), str(len(ops)) if ops else "",
                     str(len(with_jax)) if ops else "", str(sum(1 for i in skipped if skipped_pack(i) == pack))])
    sections = [Section("Case packs", (Table(("pack", "cases", "operators", "with a jax counterpart", "not checked"),
                                             tuple(tuple(row) for row in rows)),), only="markdown")]
    if skipped:
        reasons = Counter(re.sub(r"\b\d+\b", "N", reason) for reason in skipped.values())
        sections.append(Section("Not checked, by reason", (
            Paragraph(span("Samples (or whole operators, ", Code(".*"), ") that the pack could not turn into a case; ",
                           Code("skipped_cases"), " in results.json lists each.")),
            Table(("samples", "reason"), tuple((str(n), reason) for reason, n in reasons.most_common()))),
            3, only="markdown"))
    return sections


def skipped_pack(case_id: str) -> str:
    return case_id.split(".", 1)[0]


def _second_order_method(method: str, records: Sequence[Mapping[str, Any]]) -> bool:
    return any(r["method"] == method and quantity_of(r) == "second-order" for r in records)


def _by_order(records: Sequence[Mapping[str, Any]]) -> tuple[Sequence[Mapping[str, Any]], Sequence[Mapping[str, Any]]]:
    """(first-order records, second-order check records)."""
    return ([r for r in records if quantity_of(r) != "second-order"],
            [r for r in records if quantity_of(r) == "second-order"])


def _which_method_section(records: Sequence[Mapping[str, Any]], cases: list[str], key) -> list[Section]:
    """Per case, the agreeing method to use: warm, and preparation included for a few numbers of calls."""
    warm = fastest_agreeing(records)
    counted = {calls: fastest_agreeing(records, calls) for calls in CALLS_SHOWN}
    note = ("The agreeing method that is fastest per call once prepared, and the one that computes "
             + " or ".join(f"{n} Jacobian{'s' if n > 1 else ''}" for n in CALLS_SHOWN)
             + " soonest counting its preparation (tracing, compilation, the first call). Finite "
             "differences are not recommended: they agree only within their looser tolerance.")
    rows: list[tuple[Inline, ...]] = []
    for c in cases:
        b = warm.get(c)
        if b is None:
            rows.append((Code(c), no_fastest([r for r in records if key(r) == c]), "", "")
                        + tuple("" for _ in CALLS_SHOWN))
            continue
        prepare = (b.get("time") or {}).get("prepare_s")
        rows.append((Code(c), Code(b["method"]), format_seconds(b["time"]["median_s"]),
                     format_seconds(prepare) if isinstance(prepare, (int, float)) else "")
                    + tuple(_cost_cell(counted[n].get(c), n) for n in CALLS_SHOWN))
    header = ("case", "fastest per call", "median", "its preparation") + tuple(
        f"for {n} call{'s' if n > 1 else ''} (preparation included)" for n in CALLS_SHOWN)
    return [Section("Which method to use", (Paragraph(note), Table(header, tuple(rows))), only="markdown")]


def _cost_cell(record: Mapping[str, Any] | None, calls: int) -> Inline:
    if record is None:
        return ""
    return span(Code(record["method"]), f" {format_seconds(cost_of_calls_s(record['time'], calls))}")


def _jobs(jobs) -> str:
    if not isinstance(jobs, int) or jobs <= 1:
        return ""
    return f"{jobs} workers in parallel (`--jobs 1` for the quietest timings), "


def _worst(record: Mapping[str, Any]) -> str:
    index, worst = record.get("worst_index"), record.get("worst")
    if index is None or not worst:
        return ""
    block, *position = index
    return f"J[{block}]{tuple(position)}: got {worst.get('got')}, expected {worst.get('expected')}"


def _fastest_row(case_id: str, best: Mapping[str, Any] | None,
                 records: Sequence[Mapping[str, Any]]) -> tuple[Inline, ...]:
    if best is None:
        return (Code(case_id), no_fastest(records), "", "", "", "", "", "")
    agreeing = [r for r in records if agreeing_ad(r)]
    slowest = max(agreeing, key=lambda r: r["time"]["median_s"])
    ratio = number(best.get("ratio"))
    return (Code(case_id), Code(best["method"]), format_seconds(best["time"]["median_s"]),
            format_seconds(best["time"].get("iqr_s")), f"{best['time'].get('repeats')}",
            "" if ratio is None else f"{ratio:.3g}", Code(slowest["method"]),
            f"{slowest['time']['median_s'] / best['time']['median_s']:.3g}x")


def _method_and_time(record: Mapping[str, Any] | None) -> Inline:
    return "" if record is None else span(Code(record["method"]), f" {format_seconds(record['time']['median_s'])}")


def _ratio(record: Mapping[str, Any] | None) -> str:
    ratio = number((record or {}).get("ratio"))
    return "" if ratio is None else f"{ratio:.3g}"


def _mode_rule_section(document: Mapping[str, Any]) -> Section:
    """Where forward mode beats reverse mode in this run's cases, as a rule on n_in and n_out."""
    cases = document.get("cases", {})

    def sizes(record):
        summary = cases.get(record["case"], {})
        if record["dtype"] != "float64" or not summary.get("n_in") or not summary.get("n_out"):
            return None
        return summary["n_in"], summary["n_out"], record["case"]

    note = ("Each case with agreeing forward and reverse methods in a framework votes for the faster mode "
             "(fastest method of each); the threshold k misclassifies the fewest cases. `jacobian-harness sweep` "
             "measures the same rule on a grid of sizes.")
    # rule_lines is markdown already (the sweep report's too): one paragraph of its lines.
    rule = "\n".join(rule_lines(document["results"], sizes, unit="cases"))
    return Section("Forward or reverse mode", (Paragraph(note), Paragraph(rule)), 3, only="markdown")


