"""The console summary of a run (`run`, `merge`), from its saved document only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pathlib import Path

from jacobian_harness.records import (FAILING, VERDICTS, fastest_agreeing, headline, median_s, no_fastest, row_key,
                                      summary_counts)
from jacobian_harness.cost import cost_line
from jacobian_harness.render.formatting import format_seconds
from jacobian_harness.timing import cost_of_calls_s
from jacobian_harness.worker import WORKER_LOG


def render_summary(document: Mapping[str, Any], out: Path) -> str:
    """What `run` and `merge` print when they finish: the verdict counts, per case the fastest agreeing
    method, the failures, where the files are, and the headline last."""
    lines: list[str] = []
    add = lines.append
    records = document["results"]
    counts = summary_counts(records)
    add("\nVerdicts: " + ", ".join(f"{counts[v]} {v}" for v in VERDICTS if counts[v]))
    best, once = fastest_agreeing(records), fastest_agreeing(records, calls=1)
    key = row_key(records)
    cases = list(dict.fromkeys(key(r) for r in records))
    width = max([len(c) for c in cases] + [4])
    add(f"\n{'case':{width}}  {'fastest agreeing method':46} {'median':>10} {'J/f':>8}  "
          f"{'fastest for one call, preparation included':46}  failures")
    for case_id in cases:
        failures = [r["method"] for r in records if key(r) == case_id and r["status"] in FAILING]
        b, first = best.get(case_id), once.get(case_id)
        name = b["method"] if b else no_fastest([r for r in records if key(r) == case_id])
        median = format_seconds(median_s(b)) if b else ""
        ratio = f"{b['ratio']:.3g}" if b and isinstance(b.get("ratio"), (int, float)) else ""
        one = f"{first['method']} {format_seconds(cost_of_calls_s(first['time'], 1))}" if first else ""
        add(f"{case_id:{width}}  {name:46} {median:>10} {ratio:>8}  {one:46}  {', '.join(failures)}".rstrip())
    for r in records:
        if r["status"] in FAILING:
            add(f"\n{r['status'].upper()}: {r['case']} / {r['method']}: {r['message']}")
    add(f"\nWrote {out / 'results.json'}, {out / 'jacobians.npz'}, {out / 'report.md'}")
    log = out / WORKER_LOG
    if log.is_file() and log.stat().st_size:
        add(f"What the workers printed (framework start-up notices, warnings): {log}")
    if document.get("cost"):
        add(f"Time: {cost_line(document['cost'])}")
    interrupted = document.get("interrupted")
    if interrupted:
        add(f"INTERRUPTED: {interrupted['cases_finished']} of {interrupted['cases_planned']} cases finished; "
              f"{interrupted['evaluations_journaled']} evaluations kept in the journal: "
              f"`{interrupted['resume']}` finishes the run")
    else:
        failing = sum(counts[v] for v in FAILING)
        add(f"{headline(document)}: {failing} failing of {len(records)} (case, method) pairs")
    return "\n".join(lines)
