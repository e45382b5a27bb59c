"""The sweep report: report.md and sweep.png (median time against size, one line per method), from a sweep's
saved document only."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from jacobian_harness.render.formatting import markdown_table, time_cell
from jacobian_harness.sweep import rule_lines

LINE_STYLES = {"reverse": "-", "forward": "--", "fd": ":"}


def plot(document: dict, path) -> bool:
    """Median time vs n_in (n_out fixed) and vs n_out (n_in fixed), log-log, one line per method; False
    (and no file) without matplotlib or without a point to plot."""
    records = document["results"]
    title = f"{family_of(document)}: median time vs size"
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    series: dict[str, list[tuple[int, int, float]]] = defaultdict(list)
    modes = {}
    for r in records:
        median = (r.get("time") or {}).get("median_s")
        if r["status"] == "agree" and isinstance(r.get("size"), dict) and isinstance(median, (int, float)):
            series[r["method"]].append((r["size"]["n_in"], r["size"]["n_out"], median))
            modes[r["method"]] = r["mode"]
    sizes = [(n_in, n_out) for points in series.values() for n_in, n_out, _ in points]
    if not sizes:
        return False
    # Each panel holds the other size at its most common value: the grid's two axes through a centre.
    common_out = max({o for _, o in sizes}, key=[o for _, o in sizes].count)
    common_in = max({i for i, _ in sizes}, key=[i for i, _ in sizes].count)
    figure, axes = plt.subplots(1, 2, figsize=(13, 5.5), sharey=True)
    for axis, (free, fixed_name, fixed) in zip(axes, ((0, "n_out", common_out), (1, "n_in", common_in)), strict=True):
        for number, (method, points) in enumerate(sorted(series.items())):
            line = sorted((p[free], p[2]) for p in points if p[1 - free] == fixed)
            if len(line) > 1:
                axis.plot(*zip(*line, strict=True), LINE_STYLES.get(modes[method], "-"), marker="o", markersize=3,
                          color=plt.cm.tab20(number % 20), label=method)
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_xlabel(("n_in", "n_out")[free] + f" ({fixed_name} = {fixed})")
        axis.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("median time per Jacobian (s)")
    labelled: dict[str, Any] = {}  # one legend for both panels: a method may have a line in only one
    for axis in axes:
        for handle, label in zip(*axis.get_legend_handles_labels(), strict=True):
            labelled.setdefault(label, handle)
    if labelled:
        figure.legend(handles=list(labelled.values()), labels=list(labelled), fontsize=7, loc="center right")
        figure.subplots_adjust(right=0.78)
    figure.suptitle(title + " (solid: reverse mode, dashed: forward mode, dotted: finite differences)")
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return True


def family_of(document: dict) -> str:
    return document["options"]["sweep"]["family"]


def render_markdown(document: dict, has_plot: bool) -> str:
    records = document["results"]
    lines = [f"# Sweep of `{family_of(document)}`", ""]
    if has_plot:
        lines += ["![median time vs size](sweep.png)", ""]
    lines += ["## Where forward mode overtakes reverse mode", ""]
    lines += rule_lines(records)
    lines += ["", "## Median time per point and method", ""]
    methods = list(dict.fromkeys(r["method"] for r in records))
    cases = list(dict.fromkeys(r["case"] for r in records))
    cell = {(r["case"], r["method"]): r for r in records}
    lines += markdown_table(["point"] + [f"`{m}`" for m in methods],
                    [[f"`{c}`"] + [time_cell(cell.get((c, m)), None) for m in methods] for c in cases])
    return "\n".join(lines)
