"""jacobian_harness.comparison.values: the saved Jacobians of two runs (drift beyond tolerance, changes
within it, the largest)."""

import copy

import numpy as np
import pytest

from jacobian_harness.render.compare_markdown import render_comparison
from synthetic_runs import compare, synthetic_run


def test_jacobian_drift_is_found_even_when_both_runs_agree():
    base, new = synthetic_run(1), copy.deepcopy(synthetic_run(1))
    new[1]["case4|jax.jacfwd|float64|0"] = new[1]["case4|jax.jacfwd|float64|0"] + 1e-5
    result = compare(base, new)
    drifted = [p for p in result["pairs"] if p["drift"]]
    assert [(p["case"], p["method"]) for p in drifted] == [("case4", "jax.jacfwd")]
    assert drifted[0]["drift"]["max_abs_change"] == pytest.approx(1e-5)
    assert result["summary"]["failed"]


def test_a_zero_that_became_nonzero_counts_in_the_largest_relative_change():
    """|new - base| / |base| is undefined where base is 0: such an entry counts relative to its block's
    largest |base|, so that a 0 that became 227 is not reported as a relative change of 0."""
    base, new = synthetic_run(1), copy.deepcopy(synthetic_run(1))
    key = "case4|jax.jacfwd|float64|0"
    block = np.array(base[1][key], dtype=float)
    block.flat[0] = 0.0
    base[1][key] = block
    moved = block.copy()
    moved.flat[0] = 2 * np.abs(block).max()
    new[1][key] = moved
    result = compare(base, new)
    drifted = {(p["case"], p["method"]): p["drift"] for p in result["pairs"] if p["drift"]}
    assert drifted[("case4", "jax.jacfwd")]["max_rel_change"] == pytest.approx(2.0)


def test_a_jacobian_changed_within_tolerance_is_counted_and_shown_not_called_drift():
    """Bit-for-bit changes within tolerance tell which formulas were touched: counted, listed, never failing."""
    base, new = synthetic_run(1), copy.deepcopy(synthetic_run(1))
    new[1]["case2|torch.func.jacrev|float64|0"] = new[1]["case2|torch.func.jacrev|float64|0"] * (1 + 1e-12)
    new[1]["case7|jax.jacrev|float64|0"] = new[1]["case7|jax.jacrev|float64|0"] * (1 + 3e-10)
    result = compare(base, new)
    values = {(p["case"], p["method"]): p["values"] for p in result["pairs"] if p["values"] != "identical"}
    assert values == {("case2", "torch.func.jacrev"): "touched", ("case7", "jax.jacrev"): "touched"}
    summary = result["summary"]
    assert (summary["jacobians_compared"], summary["jacobians_changed"], summary["jacobians_touched"]) == (150, 2, 2)
    assert summary["drift"] == 0 and not summary["failed"]
    assert summary["largest_change"]["case"] == "case7"
    assert summary["largest_change"]["max_rel_change"] == pytest.approx(3e-10, rel=1e-3)
    text = render_comparison(result)
    assert "**Safe to upgrade torch" in text
    assert "- numerics: 2 of 150 Jacobians changed at all (not bit for bit the same), 0 of them beyond tolerance; " \
           "largest relative change 3e-10 (`case7` `jax.jacrev` float64)" in text
    touched = text[text.index("## Touched within tolerance (2)"):]
    assert touched.index("`case7`") < touched.index("`case2`")  # largest change first
