"""compare.md: what changed from BASE to NEW, from a comparison document (harness.comparison) only."""

from __future__ import annotations

from collections import Counter

from jacobian_harness.render.formatting import err, format_seconds, markdown_table

# -- comparison of two runs (harness.comparison) ---------------------------------------------------------------
def _speed_cell(speed: dict | None) -> str:
    if not speed:
        return ""
    if speed.get("low") is None:
        return f"{speed['ratio']:.3g}"
    return f"{speed['ratio']:.3g} [{speed['low']:.3g}, {speed['high']:.3g}]"


def render_comparison(document: dict) -> str:
    """compare.md, from a comparison document (kind jacobian-harness.comparison) only."""
    summary, settings = document["summary"], document["settings"]
    base, new = document["base"], document["new"]
    library = settings.get("library", "torch")

    def version(side):
        return side["environment"].get("versions", {}).get(library)

    lines = [f"# Jacobian harness comparison: {'FAIL' if summary['failed'] else 'PASS'}", "",
             f"BASE `{base['label']}` ({library} {version(base)}) vs NEW `{new['label']}` ({library} {version(new)}): "
             f"{summary['pairs']} common (case, method, dtype) pairs.", "",
             answer_line(summary, library), ""]
    lines += [f"- {line}" for line in first_screen_lines(document, library)] + [""]
    for side in (base, new):
        if side.get("partial"):
            lines += [f"**{side['label']} did not finish: only its finished pairs are compared.**", ""]
    if document["environment_warnings"]:
        lines += ["## Environment warnings", "", "The runs differ in more than the library under test:", ""]
        lines += [f"- {w}" for w in document["environment_warnings"]] + [""]

    pairs = document["pairs"]
    sections = [
        ("Correctness regressions", [p for p in pairs if p["correctness"] == "regression"], _status_row),
        ("Fixes", [p for p in pairs if p["correctness"] == "fix"], _status_row),
        ("Other verdict changes", [p for p in pairs if p["correctness"] == "changed"], _status_row),
        ("Changed as declared per version", [p for p in pairs if p.get("declared_change")], _declared_row),
        ("Numerics drift", [p for p in pairs if p["drift"]], _drift_row),
        ("Touched within tolerance", sorted((p for p in pairs if p.get("values") == "touched"),
                                            key=lambda p: -(p["change"]["max_rel_change"] or 0.0))[:TOUCHED_SHOWN],
         _drift_row),
        ("Slower cases", sorted((c for c in document.get("cases", []) if c["verdict"] == "slower"),
                                key=lambda c: -c["ratio"]), _case_row),
        ("Faster cases", sorted((c for c in document.get("cases", []) if c["verdict"] == "faster"),
                                key=lambda c: c["ratio"]), _case_row),
        ("Slower methods", sorted((m for m in document.get("methods", []) if m["verdict"] == "slower"),
                                  key=lambda m: -m["ratio"]), _method_row),
        ("Faster methods", sorted((m for m in document.get("methods", []) if m["verdict"] == "faster"),
                                  key=lambda m: m["ratio"]), _method_row),
        ("Slower", sorted((p for p in pairs if _speed_verdict(p) == "slower"),
                          key=lambda p: -p["speed"]["ratio"]), _speed_row),
        ("Faster", sorted((p for p in pairs if _speed_verdict(p) == "faster"),
                          key=lambda p: p["speed"]["ratio"]), _speed_row),
    ]
    headers = {_status_row: ["case", "method", "dtype", "BASE", "NEW", "NEW message"],
               _declared_row: ["case", "method", "dtype", "BASE: expected because", "NEW: expected because"],
               _drift_row: ["case", "method", "dtype", "max abs change", "max rel change", "worst element"],
               _speed_row: ["case", "method", "dtype", "NEW/BASE [95% interval]", "p"],
               _case_row: ["case", f"{library} pairs", "NEW/BASE [95% interval]", "p"],
               _method_row: ["method", "pairs (cases x dtypes)", "NEW/BASE [95% interval]", "p"]}
    for title, rows, row in sections:
        if title == "Touched within tolerance":
            touched = summary.get("jacobians_touched", 0)
            lines += [f"## {title} ({touched})", "",
                      "Jacobians that are not bit for bit the same, but within the dtype's tolerance: no regression, "
                      "but the formulas (or kernels) behind them changed"
                      + (f" (the {TOUCHED_SHOWN} largest changes; compare.json has every pair)" if touched > len(rows)
                         else "") + ".", ""]
            lines += markdown_table(headers[row], [row(p) for p in rows]) if rows else ["None.", ""]
            continue
        lines += [f"## {title} ({len(rows)})", ""]
        lines += markdown_table(headers[row], [row(p) for p in rows]) if rows else ["None.", ""]
    inconclusive = [p for p in pairs if _speed_verdict(p) == "inconclusive"]
    if inconclusive:
        lines += [f"## Inconclusive speed ({len(inconclusive)})", "",
                  "Too noisy, or too few samples, to call either way (widest intervals first, at most 20):", ""]
        widest = sorted(inconclusive, key=lambda p: (p["speed"]["low"] or 0) - (p["speed"]["high"] or 0))[:20]
        lines += markdown_table(headers[_speed_row] + ["why not called"],
                                [_speed_row(p) + [_why_inconclusive(p["speed"], settings, len(inconclusive))]
                                 for p in widest])
    for name in ("only_in_base", "only_in_new"):
        if document[name]:
            lines += [f"{len(document[name])} pairs only in {name[8:].upper()}: "
                      + ", ".join(f"`{c} {m} {d}`" for c, m, d in document[name][:10])
                      + (" ..." if len(document[name]) > 10 else ""), ""]
    lines += ["## How speed is judged", "", _speed_method(settings, base, new), "", _READING, ""]
    lines += ["## Environments", ""]
    fields = ["python", "platform", "cpu", "cpu_count", "threads", "started_at"]
    rows = [[f, str(base["environment"].get(f)), str(new["environment"].get(f))] for f in fields]
    packages = sorted(set(base["environment"].get("versions", {})) | set(new["environment"].get("versions", {})))
    base_versions, new_versions = base["environment"].get("versions", {}), new["environment"].get("versions", {})
    rows += [[p, str(base_versions.get(p)), str(new_versions.get(p))] for p in packages]
    lines += markdown_table(["", f"BASE {base['label']}", f"NEW {new['label']}"], rows)
    return "\n".join(lines)


TOUCHED_SHOWN = 30  # rows of the "touched within tolerance" table
CASES_SHOWN = 3  # slower and faster cases named on the first screen


def answer_line(summary: dict, library: str) -> str:
    """The first line: is it safe to upgrade?"""
    counts = (("regressions", "correctness regression(s)"), ("drift", "Jacobian(s) beyond tolerance"),
              ("slower_backed", "slowdown(s) backed by timing rounds"))
    blockers = [f"{summary[name]} {what}" for name, what in counts if summary.get(name)]
    if blockers:
        return f"**Not safe to upgrade {library} as it stands: {', '.join(blockers)}.**"
    return (f"**Safe to upgrade {library} by what was checked: no correctness regression, no Jacobian beyond "
            f"tolerance, no slowdown backed by timing rounds.**")


def first_screen_lines(document: dict, library: str) -> list[str]:
    """A few lines: correctness, numerics, speed by case (with intervals), each with its largest items."""
    summary = document["summary"]
    # Which changes are regressions, fixes or "other" is harness.comparison's call, kept on each pair
    # (`correctness`): one kind, e.g. `expected-divergence -> agree`, can be a fix (a declared bug gone) on one
    # pair and another change (a convention gone, or another sample) on the next.
    def by_kind(correctness: set[str]) -> str:
        counts = Counter(f"{p['base_status']} -> {p['new_status']}" for p in document["pairs"]
                         if p["correctness"] in correctness)
        return ", ".join(f"{n} `{kind}`" for kind, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    other, failing = by_kind({"changed"}), by_kind({"regression", "fix"})
    lines = [f"correctness: {summary['regressions']} regressions, {summary['fixes']} fixes, {summary['changed']} "
             f"other verdict changes" + (f" ({other})" if other else "")
             + (f"; by kind: {failing}" if failing else "")
             + (f"; {summary['declared_changes']} expected divergences changed form as declared per version "
                f"(declared bugs or conventions: see 'Changed as declared per version')"
                if summary.get("declared_changes") else "")]
    compared = summary.get("jacobians_compared")
    if compared is not None:
        largest = summary.get("largest_change")
        where = (f"; largest relative change {err(largest['max_rel_change'])} (`{largest['case']}` "
                 f"`{largest['method']}` {largest['dtype']})" if largest else "")
        fixed = summary.get("jacobians_fixed")
        lines.append(f"numerics: {summary['jacobians_changed']} of {compared} Jacobians changed at all (not bit for "
                     f"bit the same), {summary['drift']} of them beyond tolerance"
                     + (f" and {fixed} moved to the reference with a fix" if fixed else "") + where)
    else:  # a comparison document written before values were told apart
        lines.append(f"numerics: {summary['drift']} Jacobians changed beyond tolerance")
    if summary.get("sample_changed_cases"):
        lines[-1] += (f" ({summary['sample_changed_cases']} cases have another sample behind the same id: their "
                      f"Jacobians are not compared)")
    for field, what in (("case", f"all of a case's {library} pairs"),
                        ("method", "all of a method's pairs, every case")):
        judged = [g for g in document.get(f"{field}s", []) if g.get("verdict")]
        if field == "method" and not any(m.get("test") == "rounds" for m in document.get("methods", [])):
            continue  # methods are judged on rounds only (and older comparison documents have none)
        named = []
        for verdict, order in (("slower", -1), ("faster", 1)):
            group = sorted((g for g in judged if g["verdict"] == verdict), key=lambda g: order * g["ratio"])
            if group:
                shown = ", ".join(f"`{g[field]}` {_speed_cell(g)}" for g in group[:CASES_SHOWN])
                named.append(f"{len(group)} {verdict} ({shown}{', ...' if len(group) > CASES_SHOWN else ''})")
        single = judged and all(g.get("test") == "spread" for g in judged)
        lines.append(f"speed by {field} ({what}, NEW/BASE [95% interval]"
                     + ("; single runs: indicative only, `run --rounds` or `ab` judges speed" if single else "")
                     + "): " + ("; ".join(named) if named else "none slower or faster")
                     + f" of {len(judged)} {field}s; the rest within noise")
    geomean = f"{summary['geomean_ratio']:.3f}" if summary["geomean_ratio"] else "n/a"
    lines.append(f"speed by pair: {summary['slower']} slower, {summary['faster']} faster, {summary['same']} same, "
                 f"{summary['inconclusive']} inconclusive; geometric mean NEW/BASE {geomean} (not counting "
                 f"{summary.get('control_pairs', 0)} pairs of other frameworks)")
    return lines


_READING = ("How to read the speed columns: NEW/BASE is the ratio of median times (above 1: NEW is slower), "
            "with its 95% interval. `test` in compare.json says how a pair was tested: `rounds` (per-round "
            "medians of fresh processes; round by round for both sides of an `ab`), `samples` (the raw "
            "samples of single runs) or, for a case or a method, `spread` (single runs: its median log ratio "
            "against the spread of all cases' or methods'). Pairs with `control: true` are of the frameworks "
            "that are not under test (the same versions on both sides): they measure the machine, are shown, and never "
            "fail the comparison. An interval wholly below or above 1 is still `inconclusive` where the "
            "change is smaller than --min-effect, or where its p-value, adjusted for the number of pairs "
            "tested (Holm), is above alpha: among hundreds of unchanged pairs a few intervals exclude 1 by "
            "chance alone.")


def _why_inconclusive(speed: dict, settings: dict, tested: int) -> str:
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


def _speed_method(settings: dict, base: dict, new: dict) -> str:
    clock = {"cpu": "process CPU time (time spent descheduled by other jobs on the machine does not count)",
             "wall": "wall-clock time"}[settings.get("clock", "wall")]
    paired = (" The two runs are the two sides of one `ab`: each round timed every pair on both sides back to "
              "back, so pairs (and cases, and methods) are tested on their per-round log ratios NEW/BASE, in which "
              "what the machine did during the round cancels." if settings.get("paired") else "")
    return (f"Speed is compared on {clock}. A change is called when NEW/BASE passes "
            f"{settings['min_effect']:.0%} and a one-sided test at alpha {settings['alpha']:g}. Pairs timed in "
            f"rounds of fresh processes (`run --rounds`, `ab`) are tested on their per-round medians (a t-test on "
            f"the logs, each pair's variance moderated towards that of all pairs), with p-values "
            f"Holm-adjusted for the number of pairs (and, apart, of cases and of methods), so that "
            f"unchanged code is called changed with probability below alpha in the whole comparison.{paired} Pairs "
            f"of single runs are tested on their raw samples (Mann-Whitney U) with 95% bootstrap intervals "
            f"widened by the suite's run-to-run spread ({settings.get('noise_z', 3):g} robust sd per decade of "
            f"time); they cannot see how a pair's speed varies between processes, so they are indicative "
            f"and never fail the comparison. Wall-clock samples are divided by "
            f"the ratio of a NumPy calibration workload timed before each case (whole runs: "
            f"{_seconds(base['calibration_s'])} vs {_seconds(new['calibration_s'])}).")


def _p_value(change: dict) -> float | None:
    """The p-value of the change's direction, Holm-adjusted where it was (harness.comparison)."""
    side = "slower" if change["ratio"] >= 1 else "faster"
    return change.get(f"p_{side}_adjusted", change.get(f"p_{side}"))


def _group_row(field: str):
    """The row of a speed verdict over a group of pairs (harness.comparison.speed.group_speeds), named by `field`."""
    def row(group: dict) -> list[str]:
        p_value = _p_value(group)
        return [f"`{group[field]}`", str(group["pairs"]), _speed_cell(group),
                "" if p_value is None else f"{p_value:.2g}"]

    return row


_case_row, _method_row = _group_row("case"), _group_row("method")


def _speed_verdict(pair: dict) -> str | None:
    return None if pair.get("control") or not pair["speed"] else pair["speed"]["verdict"]


def _seconds(value) -> str:
    return format_seconds(value) if isinstance(value, (int, float)) else "n/a"


def _status_row(p: dict) -> list[str]:
    return [f"`{p['case']}`", f"`{p['method']}`", p["dtype"], p["base_status"], p["new_status"],
            p.get("new_message", "")[:160]]


def _declared_row(p: dict) -> list[str]:
    return [f"`{p['case']}`", f"`{p['method']}`", p["dtype"], p.get("base_message", "")[:160],
            p.get("new_message", "")[:160]]


def _drift_row(p: dict) -> list[str]:
    d = p["drift"] or p["change"]  # beyond tolerance, or touched within it
    where = "" if d.get("worst_index") is None else f"{d['worst_index']}: {d.get('base')!r} -> {d.get('new')!r}"
    return [f"`{p['case']}`", f"`{p['method']}`", p["dtype"], err(d.get("max_abs_change")),
            err(d.get("max_rel_change")), where or d.get("reason", "")]


def _speed_row(p: dict) -> list[str]:
    s = p["speed"]
    return [f"`{p['case']}`", f"`{p['method']}`", p["dtype"], _speed_cell(s), f"{_p_value(s):.2g}"]
