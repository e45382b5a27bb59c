"""The method table of docs/methods.md, from a saved run: what each method is, and how it did.

    python benchmarks/methods_table.py reports/torch213 > docs/methods-figures.md

Per method: cases it agreed on, expected divergences, failures, unsupported; how often it was the fastest
agreeing method of a case; and its median J/f ratio (Jacobian time over the time of f run the same way)
over the cases it agreed on. Reads only results.json.
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict

import numpy as np

from jacobian_harness.adapters.base import METHODS, load_adapters
from jacobian_harness.records import FAILING
from jacobian_harness.records import fastest_agreeing
from jacobian_harness.document import load as load_results


def table(document: dict) -> str:
    load_adapters()
    records = [r for r in document["results"] if r["dtype"] == "float64"]
    counts: dict[str, Counter] = defaultdict(Counter)
    ratios: dict[str, list[float]] = defaultdict(list)
    for r in records:
        status = r["status"]
        counts[r["method"]]["failing" if status in FAILING else status] += 1
        if status == "agree" and isinstance(r.get("ratio"), (int, float)):
            ratios[r["method"]].append(r["ratio"])
    fastest = Counter(r["method"] for r in fastest_agreeing(records).values())
    env = document["environment"]
    lines = [f"Figures: `jacobian-harness run` on the built-in library, float64, torch {env['versions'].get('torch')}, "
             f"jax {env['versions'].get('jax')}, autograd {env['versions'].get('autograd')}, {env.get('threads')} "
             f"thread, {env.get('cpu')} ({env.get('started_at')}).", "",
             "| method | mode | what it does | agree | expected divergence | failing | unsupported | fastest in | "
             "median J/f |", "|---|---|---|---|---|---|---|---|---|"]
    for method_id, method in METHODS.items():
        c = counts.get(method_id)
        if c is None:
            continue
        ratio = f"{np.median(ratios[method_id]):.3g}" if ratios[method_id] else ""
        doc = method.doc.replace("|", "\\|")  # a literal | would end the table cell
        lines.append(f"| `{method_id}` | {method.mode} | {doc} | {c['agree']} | {c['expected-divergence']} | "
                     f"{c['failing']} | {c['unsupported']} | {fastest[method_id]} | {ratio} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(load_results(sys.argv[1] if len(sys.argv) > 1 else "reports/latest")))
