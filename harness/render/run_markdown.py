"""report.md of a run: the verdict, the failures and which method to use first; the details after.
Rendered from a saved run document only (never from live objects)."""

from __future__ import annotations

import re
from collections import Counter

from jacobian_harness.records import (FAILING, NOT_RECOMMENDED_MODES, NOT_RUN, VERDICTS, agreeing_ad, fastest_agreeing,
                             headline, pair_key, quantity_of, row_key, summary_counts)
from jacobian_harness.render.formatting import (LEGEND, SYMBOLS, backend_versions, err, format_seconds, markdown_table,
    number, time_cell)
from jacobian_harness.cost import cost_line
from jacobian_harness.sweep import rule_lines
from jacobian_harness.timing import cost_of_calls_s


# How many calls the report's answer counts preparation over: one Jacobian, and a loop of a hundred.
CALLS_SHOWN = (1, 100)


def render_markdown(document: dict) -> str:
    """report.md: the verdict, the failures and which method to use first; the details after."""
    records = document["results"]
    env = document.get("environment", {})
    options = document.get("options", {})
    key = row_key(records)
    cases = list(dict.fromkeys(key(r) for r in records))
    cell = {(key(r), r["method"]): r for r in records}
    counts = summary_counts(records)
    failures = [r for r in records if r["status"] in FAILING]
    lines = [f"# Jacobian harness report: {headline(document)}", ""]
    interrupted = document.get("interrupted")
    if document.get("partial"):
        finished = f"{interrupted['cases_finished']} of {interrupted['cases_planned']} cases finished" \
            if interrupted else "Not every case finished"
        kept = f"; {interrupted['evaluations_journaled']} evaluations are kept in the journal" if interrupted else ""
        resume = f" `{interrupted['resume']}` finishes the run." if interrupted else ""
        lines += [f"**Interrupted: {finished}{kept}.**{resume} What follows covers the finished cases.", ""]
    lines += [f"{len(failures)} failing of {len(records)} (case, method) pairs on "
              f"{len({r['case'] for r in records})} cases in {options.get('dtype', '?')}: "
              + (", ".join(f"{counts[v]} {v}" for v in VERDICTS if counts[v]) or "none") + ".",
              f"{backend_versions(env)}, {env.get('threads')} thread(s), "
              f"{_jobs(options.get('jobs'))}{'quick' if options.get('quick') else 'full'} timing, "
              f"started {env.get('started_at')}.", ""]
    if document.get("cost"):
        lines += [f"Time: {cost_line(document['cost'])}.", ""]
    if failures:
        lines += ["## Failures", ""]
        first, second = _by_order(failures)
        for title, group in (("", first), (f"### Second-order failures ({SECOND_ORDER})", second)):
            if group:
                lines += [title, ""] if title else []
                pairs = {pair_key(r): r for r in records}
                notes = [_finding_notes(r, document, pairs) for r in group]
                extra = ["notes"] if any(notes) else []
                lines += markdown_table(["case", "method", "verdict", "max rel err", "message"] + extra,
                                        [[f"`{r['case']}`", f"`{r['method']}`", r["status"],
                                          err(r.get("max_rel_err")), r.get("message", "")] + ([n] if extra else [])
                                         for r, n in zip(group, notes, strict=True)])
    elif records:
        lines += ["No failures: every method that ran agrees with the reference or diverges as declared.", ""]

    lines += _pack_section(document, records)
    detailed = len(cases) <= DETAILED_CASES
    if detailed:
        lines += _which_method_section(records, cases, key)

    expected = [r for r in records if r["status"] == "expected-divergence"]
    if expected:
        lines += ["## Expected divergences", ""]
        lines += markdown_table(["case", "method", "max abs err", "worst element", "declared"],
                        [[f"`{r['case']}`", f"`{r['method']}`", err(r.get("max_abs_err")), _worst(r),
                          r.get("message", "")] for r in expected])

    if detailed:
        ran = [m for m in dict.fromkeys(r["method"] for r in records)
               if any(r["method"] == m and r["status"] not in NOT_RUN for r in records)]
        left_out = len({r["method"] for r in records}) - len(ran)
        lines += ["## Agreement", "", LEGEND, ""]
        if left_out:
            what = "method that ran on none of these cases has" if left_out == 1 else \
                "methods that ran on none of these cases have"
            lines += [f"{left_out} {what} no column (see Not run).", ""]
        first_order = [m for m in ran if not _second_order_method(m, records)]
        second_order = [m for m in ran if _second_order_method(m, records)]
        for title, columns in (("", first_order), (f"### Second order: {SECOND_ORDER}", second_order)):
            rows = [c for c in cases if any((c, m) in cell for m in columns)]
            if not columns or not rows:
                continue
            lines += [title, "", SECOND_ORDER_NOTE, ""] if title else []
            lines += markdown_table(["case"] + [f"`{m}`" for m in columns],
                                    [[f"`{c}`"] + [SYMBOLS.get(cell[(c, m)]["status"], "?") if (c, m) in cell else ""
                                                   for m in columns] for c in rows])

        best = fastest_agreeing(records)
        lines += ["## Timing details", "",
                  "Median of the timed samples (each sample: one call, forward pass included); J/f is that "
                  "median over the median time of f itself in the same backend. Finite differences are "
                  "timed but not recommended: they agree only within their looser tolerance.", ""]
        lines += markdown_table(["case", "fastest agreeing", "median", "IQR", "samples", "J/f", "slowest agreeing",
                         "slowest / fastest"],
                        [_fastest_row(c, best.get(c), [r for r in records if key(r) == c]) for c in cases])

        backends = list(dict.fromkeys(r["backend"] for r in records if r.get("mode") not in NOT_RECOMMENDED_MODES))
        per_backend = {b: {key(r): r for r in fastest_agreeing([r for r in records if r["backend"] == b]).values()}
                       for b in backends}
        lines += ["### Fastest agreeing method of each framework", ""]
        lines += markdown_table(["case"] + backends,
                        [[f"`{c}`"] + [_method_and_time(per_backend[b].get(c)) for b in backends] for c in cases])

        lines += _mode_rule_section(document)

        lines += ["### Median time per (case, method)", ""]
        lines += markdown_table(["case"] + [f"`{m}`" for m in ran],
                        [[f"`{c}`"] + [time_cell(cell.get((c, m)), best.get(c)) for m in ran] for c in cases])
        lines += ["Bold: the fastest agreeing method of the case. Preparation (tracing, compilation) and the "
                  "first call are timed apart, in `prepare_s` of results.json.", ""]

        lines += ["### J/f cost ratio per (case, method)", ""]
        lines += markdown_table(["case"] + [f"`{m}`" for m in ran],
                        [[f"`{c}`"] + [_ratio(cell.get((c, m))) for m in ran] for c in cases])

        others = [r for r in records if r["status"] in NOT_RUN]
        if others:
            lines += ["## Not run", ""]
            lines += markdown_table(["case", "method", "status", "why"],
                            [[f"`{r['case']}`", f"`{r['method']}`", r["status"], r.get("message", "")] for r in others])

    else:
        lines += [f"{len(cases)} cases: the per-case tables (which method to use, agreement, timing, not run) are "
                  f"in report.html and results.json.", ""]

    lines += ["## Environment", ""]
    lines += markdown_table(["", ""], [[k, f"{v}"] for k, v in env.items() if k != "versions"]
                    + [[f"version of {k}", f"{v}"] for k, v in env.get("versions", {}).items()])
    return "\n".join(lines)


SECOND_ORDER = "w^T f''(x)[u, v] by each composition of jvp and vjp"
SECOND_ORDER_NOTE = ("For fixed random directions u, v and output weight w, each check computes the second "
                     "derivative of f along u and v by one composition (outer-inner: fwd-rev is forward over "
                     "reverse, as torch.func.hessian), judged against a reference chosen among them (one vote "
                     "per framework) with finite differences as the outside check. A formula can be right at "
                     "first order and wrong here; `skip` marks a case whose f is not twice differentiable at "
                     "its point.")


DETAILED_CASES = 200  # more cases than this: report.md leaves the per-case tables to report.html


def _finding_notes(record: dict, document: dict, pairs: dict) -> str:
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


def _pack_section(document: dict, records: list[dict]) -> list[str]:
    """For runs with a generated pack: what it covered, what it could not check and why (counted by reason),
    and where the jax counterparts were."""
    skipped = document.get("skipped_cases") or {}
    cases = document.get("cases", {})
    packs = Counter(c.get("pack") or "" for c in cases.values())
    if not skipped and set(packs) <= {"builtin", ""}:
        return []
    lines = ["## Case packs", ""]
    rows = []
    for pack in dict.fromkeys(list(packs) + [skipped_pack(i) for i in skipped]):
        ops = {(c["meta"].get("op"), c["meta"].get("variant")) for c in cases.values()
               if c.get("pack") == pack and c.get("meta", {}).get("op")}
        with_jax = {(c["meta"]["op"], c["meta"].get("variant")) for c in cases.values()
                    if c.get("pack") == pack and not str(c.get("meta", {}).get("jax", "none")).startswith("none")}
        rows.append([pack or "(case files)", str(packs.get(pack, 0)), str(len(ops)) if ops else "",
                     str(len(with_jax)) if ops else "", str(sum(1 for i in skipped if skipped_pack(i) == pack))])
    lines += markdown_table(["pack", "cases", "operators", "with a jax counterpart", "not checked"], rows)
    if skipped:
        reasons = Counter(re.sub(r"\b\d+\b", "N", reason) for reason in skipped.values())
        lines += ["### Not checked, by reason", "",
                  "Samples (or whole operators, `.*`) that the pack could not turn into a case; "
                  "`skipped_cases` in results.json lists each.", ""]
        lines += markdown_table(["samples", "reason"], [[str(n), reason] for reason, n in reasons.most_common()])
    return lines


def skipped_pack(case_id: str) -> str:
    return case_id.split(".", 1)[0]


def _second_order_method(method: str, records: list[dict]) -> bool:
    return any(r["method"] == method and quantity_of(r) == "second-order" for r in records)


def _by_order(records: list[dict]) -> tuple[list[dict], list[dict]]:
    """(first-order records, second-order check records)."""
    return ([r for r in records if quantity_of(r) != "second-order"],
            [r for r in records if quantity_of(r) == "second-order"])


def _which_method_section(records: list[dict], cases: list[str], key) -> list[str]:
    """Per case, the agreeing method to use: warm, and preparation included for a few numbers of calls."""
    warm = fastest_agreeing(records)
    counted = {calls: fastest_agreeing(records, calls) for calls in CALLS_SHOWN}
    lines = ["## Which method to use", "",
             "The agreeing method that is fastest per call once prepared, and the one that computes "
             + " or ".join(f"{n} Jacobian{'s' if n > 1 else ''}" for n in CALLS_SHOWN)
             + " soonest counting its preparation (tracing, compilation, the first call). Finite "
             "differences are not recommended: they agree only within their looser tolerance.", ""]
    rows = []
    for c in cases:
        b = warm.get(c)
        if b is None:
            rows.append([f"`{c}`", "(none agrees)", "", ""] + ["" for _ in CALLS_SHOWN])
            continue
        prepare = (b.get("time") or {}).get("prepare_s")
        rows.append([f"`{c}`", f"`{b['method']}`", format_seconds(b["time"]["median_s"]),
                     format_seconds(prepare) if isinstance(prepare, (int, float)) else ""]
                    + [_cost_cell(counted[n].get(c), n) for n in CALLS_SHOWN])
    header = ["case", "fastest per call", "median", "its preparation"] + [
        f"for {n} call{'s' if n > 1 else ''} (preparation included)" for n in CALLS_SHOWN]
    return lines + markdown_table(header, rows)


def _cost_cell(record: dict | None, calls: int) -> str:
    if record is None:
        return ""
    return f"`{record['method']}` {format_seconds(cost_of_calls_s(record['time'], calls))}"


def _jobs(jobs) -> str:
    if not isinstance(jobs, int) or jobs <= 1:
        return ""
    return f"{jobs} workers in parallel (`--jobs 1` for the quietest timings), "


def _worst(record: dict) -> str:
    index, worst = record.get("worst_index"), record.get("worst")
    if index is None or not worst:
        return ""
    block, *position = index
    return f"J[{block}]{tuple(position)}: got {worst.get('got')}, expected {worst.get('expected')}"


def _fastest_row(case_id: str, best: dict | None, records: list[dict]) -> list[str]:
    if best is None:
        return [f"`{case_id}`", "(none agrees)", "", "", "", "", "", ""]
    agreeing = [r for r in records if agreeing_ad(r)]
    slowest = max(agreeing, key=lambda r: r["time"]["median_s"])
    ratio = number(best.get("ratio"))
    return [f"`{case_id}`", f"`{best['method']}`", format_seconds(best["time"]["median_s"]),
            format_seconds(best["time"].get("iqr_s")), f"{best['time'].get('repeats')}",
            "" if ratio is None else f"{ratio:.3g}", f"`{slowest['method']}`",
            f"{slowest['time']['median_s'] / best['time']['median_s']:.3g}x"]


def _method_and_time(record: dict | None) -> str:
    return "" if record is None else f"`{record['method']}` {format_seconds(record['time']['median_s'])}"


def _ratio(record: dict | None) -> str:
    ratio = number((record or {}).get("ratio"))
    return "" if ratio is None else f"{ratio:.3g}"


def _mode_rule_section(document: dict) -> list[str]:
    """Where forward mode beats reverse mode in this run's cases, as a rule on n_in and n_out."""
    cases = document.get("cases", {})

    def sizes(record):
        summary = cases.get(record["case"], {})
        if record["dtype"] != "float64" or not summary.get("n_in") or not summary.get("n_out"):
            return None
        return summary["n_in"], summary["n_out"], record["case"]

    lines = ["### Forward or reverse mode", "",
             "Each case with agreeing forward and reverse methods in a framework votes for the faster mode "
             "(fastest method of each); the threshold k misclassifies the fewest cases. `jacobian-harness sweep` "
             "measures the same rule on a grid of sizes.", ""]
    return lines + rule_lines(document["results"], sizes, unit="cases") + [""]


