"""Markdown report, rendered only from a saved results document (never from live objects)."""

from __future__ import annotations

from collections import Counter

from harness.compare import FAILING, VERDICTS
from harness.timing import cost_of_calls_s

SYMBOLS = {"agree": "ok", "expected-divergence": "≈", "disagree": "**✗**", "unexpected-agree": "**!**",
           "error": "**E**", "crash": "**C**", "timeout": "**T**", "unsupported": "–", "unavailable": "n/a",
           "skipped": "skip"}
LEGEND = ("ok agree · ≈ expected divergence (declared convention or known bug) · **✗** disagree · "
          "**!** declared divergence did not occur · **E** error · **C** worker crashed · **T** timeout · "
          "– unsupported · n/a backend not installed · "
          "skip over --max-memory")


def _number(value) -> float | None:
    return value if isinstance(value, (int, float)) else None


def format_seconds(seconds) -> str:
    seconds = _number(seconds)
    if seconds is None:
        return ""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|").replace("\n", " ") for cell in row) + " |"
              for row in rows]
    return lines + [""]


def summary_counts(records: list[dict]) -> Counter:
    return Counter(r["status"] for r in records)


def passed(records: list[dict]) -> bool:
    return not any(r["status"] in FAILING for r in records)


def _agreeing_ad(record: dict, calls: int | None = None) -> bool:
    # Finite differences agree only within their looser tolerance: never recommended as "the" method;
    # checks (jvp-vjp) return a projection, not a Jacobian.
    return (record["status"] == "agree" and record.get("mode") not in ("fd", "check")
            and cost_of_calls_s(record.get("time"), calls) is not None)


def row_key(records: list[dict]):
    """A report row is a case, or a (case, dtype) when the run has several dtypes."""
    if len({r.get("dtype") for r in records}) > 1:
        return lambda r: f"{r['case']} ({r['dtype']})"
    return lambda r: r["case"]


def fastest_agreeing(records: list[dict], calls: int | None = None) -> dict[str, dict]:
    """Per report row, the agreeing AD method that computes `calls` Jacobians soonest, preparation
    included (harness.timing.cost_of_calls_s); calls None: the smallest median (warm) time."""
    key = row_key(records)
    best: dict[str, dict] = {}
    for r in records:
        if not _agreeing_ad(r, calls):
            continue
        cost = cost_of_calls_s(r["time"], calls)
        if key(r) not in best or cost < cost_of_calls_s(best[key(r)]["time"], calls):
            best[key(r)] = r
    return best


# How many calls the report's answer counts preparation over: one Jacobian, and a loop of a hundred.
CALLS_SHOWN = (1, 100)
# Statuses of a method that did not run on a case: a matrix column with only these is left out.
NOT_RUN = ("unsupported", "unavailable", "skipped")


def headline(document: dict) -> str:
    """PASS, FAIL or INTERRUPTED: the report's first word."""
    if document.get("partial"):
        return "INTERRUPTED"
    return "PASS" if passed(document["results"]) else "FAIL"


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
              f"torch {env.get('versions', {}).get('torch')}, jax {env.get('versions', {}).get('jax')}, "
              f"autograd {env.get('versions', {}).get('autograd')}, {env.get('threads')} thread(s), "
              f"{_jobs(options.get('jobs'))}{'quick' if options.get('quick') else 'full'} timing, "
              f"started {env.get('started_at')}.", ""]
    if failures:
        lines += ["## Failures", ""]
        lines += markdown_table(["case", "method", "verdict", "max rel err", "message"],
                                [[f"`{r['case']}`", f"`{r['method']}`", r["status"], _err(r.get("max_rel_err")),
                                  r.get("message", "")] for r in failures])
    elif records:
        lines += ["No failures: every method that ran agrees with the reference or diverges as declared.", ""]

    lines += _which_method_section(records, cases, key)

    expected = [r for r in records if r["status"] == "expected-divergence"]
    if expected:
        lines += ["## Expected divergences", ""]
        lines += markdown_table(["case", "method", "max abs err", "worst element", "declared"],
                        [[f"`{r['case']}`", f"`{r['method']}`", _err(r.get("max_abs_err")), _worst(r),
                          r.get("message", "")] for r in expected])

    ran = [m for m in dict.fromkeys(r["method"] for r in records)
           if any(r["method"] == m and r["status"] not in NOT_RUN for r in records)]
    left_out = len({r["method"] for r in records}) - len(ran)
    lines += ["## Agreement", "", LEGEND, ""]
    if left_out:
        what = "method that ran on none of these cases has" if left_out == 1 else \
            "methods that ran on none of these cases have"
        lines += [f"{left_out} {what} no column (see Not run).", ""]
    lines += markdown_table(["case"] + [f"`{m}`" for m in ran],
                    [[f"`{c}`"] + [SYMBOLS.get(cell[(c, m)]["status"], "?") if (c, m) in cell else ""
                                   for m in ran] for c in cases])

    best = fastest_agreeing(records)
    lines += ["## Timing details", "",
              "Median of the timed samples (each sample: one call, forward pass included); J/f is that "
              "median over the median time of f itself in the same backend. Finite differences are "
              "timed but not recommended: they agree only within their looser tolerance.", ""]
    lines += markdown_table(["case", "fastest agreeing", "median", "IQR", "samples", "J/f", "slowest agreeing",
                     "slowest / fastest"],
                    [_fastest_row(c, best.get(c), [r for r in records if key(r) == c]) for c in cases])

    backends = list(dict.fromkeys(r["backend"] for r in records if r.get("mode") not in ("fd", "check")))
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

    lines += ["## Environment", ""]
    lines += markdown_table(["", ""], [[k, f"{v}"] for k, v in env.items() if k != "versions"]
                    + [[f"version of {k}", f"{v}"] for k, v in env.get("versions", {}).items()])
    return "\n".join(lines)


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


def _err(value) -> str:
    value = _number(value) if not isinstance(value, str) else value
    return "" if value is None else (value if isinstance(value, str) else f"{value:.3g}")


def _worst(record: dict) -> str:
    index, worst = record.get("worst_index"), record.get("worst")
    if index is None or not worst:
        return ""
    block, *position = index
    return f"J[{block}]{tuple(position)}: got {worst.get('got')}, expected {worst.get('expected')}"


def _fastest_row(case_id: str, best: dict | None, records: list[dict]) -> list[str]:
    if best is None:
        return [f"`{case_id}`", "(none agrees)", "", "", "", "", "", ""]
    agreeing = [r for r in records if _agreeing_ad(r)]
    slowest = max(agreeing, key=lambda r: r["time"]["median_s"])
    ratio = _number(best.get("ratio"))
    return [f"`{case_id}`", f"`{best['method']}`", format_seconds(best["time"]["median_s"]),
            format_seconds(best["time"].get("iqr_s")), f"{best['time'].get('repeats')}",
            "" if ratio is None else f"{ratio:.3g}", f"`{slowest['method']}`",
            f"{slowest['time']['median_s'] / best['time']['median_s']:.3g}x"]


def _method_and_time(record: dict | None) -> str:
    return "" if record is None else f"`{record['method']}` {format_seconds(record['time']['median_s'])}"


def time_cell(record: dict | None, best: dict | None) -> str:
    if record is None:
        return ""
    median = (record.get("time") or {}).get("median_s")
    if _number(median) is None:
        return SYMBOLS.get(record["status"], "")
    text = format_seconds(median)
    if best is record:
        return f"**{text}**"
    return text if record["status"] == "agree" else f"{text} {SYMBOLS.get(record['status'], '')}"


def _ratio(record: dict | None) -> str:
    ratio = _number((record or {}).get("ratio"))
    return "" if ratio is None else f"{ratio:.3g}"


def _mode_rule_section(document: dict) -> list[str]:
    """Where forward mode beats reverse mode in this run's cases, as a rule on n_in and n_out."""
    from harness.sweep import rule_lines

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


# -- comparison of two runs (harness.changes) ---------------------------------------------------------------
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
             f"- correctness: {summary['regressions']} regressions, {summary['fixes']} fixes, "
             f"{summary['changed']} other verdict changes",
             f"- numerics: {summary['drift']} Jacobians changed beyond tolerance",
             f"- speed: {summary['slower']} slower, {summary['faster']} faster, {summary['same']} same, "
             f"{summary['inconclusive']} inconclusive; geometric mean NEW/BASE "
             + (f"{summary['geomean_ratio']:.3f}" if summary["geomean_ratio"] else "n/a")
             + f" (not counting {summary.get('control_pairs', 0)} pairs of other frameworks)",
             f"- speed by case: {summary.get('slower_cases', 0)} cases slower, {summary.get('faster_cases', 0)} "
             f"faster (all of a case's {library} pairs together)",
             "", _speed_method(settings, base, new), "", _READING, ""]
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
        ("Numerics drift", [p for p in pairs if p["drift"]], _drift_row),
        ("Slower cases", sorted((c for c in document.get("cases", []) if c["verdict"] == "slower"),
                                key=lambda c: -c["ratio"]), _case_row),
        ("Faster cases", sorted((c for c in document.get("cases", []) if c["verdict"] == "faster"),
                                key=lambda c: c["ratio"]), _case_row),
        ("Slower", sorted((p for p in pairs if _speed_verdict(p) == "slower"),
                          key=lambda p: -p["speed"]["ratio"]), _speed_row),
        ("Faster", sorted((p for p in pairs if _speed_verdict(p) == "faster"),
                          key=lambda p: p["speed"]["ratio"]), _speed_row),
    ]
    headers = {_status_row: ["case", "method", "dtype", "BASE", "NEW", "NEW message"],
               _drift_row: ["case", "method", "dtype", "max abs change", "max rel change", "worst element"],
               _speed_row: ["case", "method", "dtype", "NEW/BASE [95% interval]", "p"],
               _case_row: ["case", f"{library} pairs", "NEW/BASE [95% interval]", "p"]}
    for title, rows, row in sections:
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
    lines += ["## Environments", ""]
    fields = ["python", "platform", "cpu", "cpu_count", "threads", "started_at"]
    rows = [[f, str(base["environment"].get(f)), str(new["environment"].get(f))] for f in fields]
    packages = sorted(set(base["environment"].get("versions", {})) | set(new["environment"].get("versions", {})))
    base_versions, new_versions = base["environment"].get("versions", {}), new["environment"].get("versions", {})
    rows += [[p, str(base_versions.get(p)), str(new_versions.get(p))] for p in packages]
    lines += markdown_table(["", f"BASE {base['label']}", f"NEW {new['label']}"], rows)
    return "\n".join(lines)


_READING = ("How to read the speed columns: NEW/BASE is the ratio of median times (above 1: NEW is slower), "
            "with its 95% interval. `test` in compare.json says how a pair was tested: `rounds` (per-round "
            "medians of fresh processes; round by round for both sides of an `ab`), `samples` (the raw "
            "samples of single runs) or, for a case, `spread` (single runs: the case's median log ratio "
            "against the spread of all cases'). Pairs with `control: true` are of the frameworks that are not "
            "under test (the same versions on both sides): they measure the machine, are shown, and never "
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
              "back, so pairs (and cases) are tested on their per-round log ratios NEW/BASE, in which what the "
              "machine did during the round cancels." if settings.get("paired") else "")
    return (f"Speed is compared on {clock}. A change is called when NEW/BASE passes "
            f"{settings['min_effect']:.0%} and a one-sided test at alpha {settings['alpha']:g}. Pairs timed in "
            f"rounds of fresh processes (`run --rounds`, `ab`) are tested on their per-round medians (a t-test on "
            f"the logs, each pair's variance moderated towards that of all pairs), with p-values "
            f"Holm-adjusted for the number of pairs (and, apart, of cases), so that "
            f"unchanged code is called changed with probability below alpha in the whole comparison.{paired} Pairs "
            f"of single runs are tested on their raw samples (Mann-Whitney U) with 95% bootstrap intervals "
            f"widened by the suite's run-to-run spread ({settings.get('noise_z', 3):g} robust sd per decade of "
            f"time); they cannot see how a pair's speed varies between processes, so they are indicative "
            f"and never fail the comparison. Wall-clock samples are divided by "
            f"the ratio of a NumPy calibration workload timed before each case (whole runs: "
            f"{_seconds(base['calibration_s'])} vs {_seconds(new['calibration_s'])}).")


def _p_value(change: dict) -> float | None:
    """The p-value of the change's direction, Holm-adjusted where it was (harness.changes)."""
    side = "slower" if change["ratio"] >= 1 else "faster"
    return change.get(f"p_{side}_adjusted", change.get(f"p_{side}"))


def _case_row(c: dict) -> list[str]:
    p_value = _p_value(c)
    return [f"`{c['case']}`", str(c["pairs"]), _speed_cell(c), "" if p_value is None else f"{p_value:.2g}"]


def _speed_verdict(pair: dict) -> str | None:
    return None if pair.get("control") or not pair["speed"] else pair["speed"]["verdict"]


def _seconds(value) -> str:
    return format_seconds(value) if isinstance(value, (int, float)) else "n/a"


def _status_row(p: dict) -> list[str]:
    return [f"`{p['case']}`", f"`{p['method']}`", p["dtype"], p["base_status"], p["new_status"],
            p.get("new_message", "")[:160]]


def _drift_row(p: dict) -> list[str]:
    d = p["drift"]
    where = "" if d.get("worst_index") is None else f"{d['worst_index']}: {d.get('base')!r} -> {d.get('new')!r}"
    return [f"`{p['case']}`", f"`{p['method']}`", p["dtype"], _err(d.get("max_abs_change")),
            _err(d.get("max_rel_change")), where or d.get("reason", "")]


def _speed_row(p: dict) -> list[str]:
    s = p["speed"]
    return [f"`{p['case']}`", f"`{p['method']}`", p["dtype"], _speed_cell(s), f"{_p_value(s):.2g}"]


# -- CI outputs ---------------------------------------------------------------------------------------------
JUNIT_SKIPPED = frozenset({"unsupported", "unavailable", "skipped"})


def render_junit(document: dict) -> bytes:
    """JUnit XML of a run: one test per (case, method, dtype); failing verdicts fail, unsupported and
    unavailable are skipped, an expected divergence passes with its reason as output."""
    from xml.etree import ElementTree as ET

    records = document["results"]
    suite = ET.Element("testsuite", name="jacobian-harness", tests=str(len(records)),
                       failures=str(sum(r["status"] in FAILING for r in records)),
                       skipped=str(sum(r["status"] in JUNIT_SKIPPED for r in records)))
    for r in records:
        seconds = (r.get("wall_s") if isinstance(r.get("wall_s"), (int, float)) else 0) or 0
        test = ET.SubElement(suite, "testcase", classname=r["case"], name=f"{r['method']}[{r['dtype']}]",
                             time=f"{seconds:.3f}")
        message = r.get("message", "") or ""
        if r["status"] in FAILING:
            failure = ET.SubElement(test, "failure", message=f"{r['status']}: {message}"[:500], type=r["status"])
            failure.text = message
        elif r["status"] in JUNIT_SKIPPED:
            ET.SubElement(test, "skipped", message=f"{r['status']}: {message}"[:500])
        elif r["status"] == "expected-divergence":
            ET.SubElement(test, "system-out").text = f"expected divergence: {message}"
    return ET.tostring(ET.ElementTree(suite).getroot(), encoding="utf-8", xml_declaration=True)


def step_summary(text: str) -> str:
    """The part of a markdown report worth a CI job summary: the title and counts, failures first."""
    head, _, rest = text.partition("\n## ")
    failures = ""
    for section in ("Failures", "Correctness regressions", "Numerics drift", "Slower"):
        marker = f"## {section}"
        if marker in text:
            failures += marker + text.split(marker, 1)[1].split("\n## ", 1)[0] + "\n"
    return head.rstrip() + "\n\n" + failures
