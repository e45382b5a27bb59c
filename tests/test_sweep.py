import json

import numpy as np
import pytest

from jacobian_harness import sweep
from jacobian_harness.cli import main


def record(method, mode, n_in, n_out, median, backend="torch", status="agree"):
    return {"case": f"f[n_in={n_in},n_out={n_out}]", "method": method, "backend": backend, "mode": mode,
            "status": status, "size": {"n_in": n_in, "n_out": n_out}, "time": {"median_s": median}}


def synthetic(k=4.0):
    # Forward cost grows with n_in, reverse cost with n_out / k: forward wins when n_in < n_out / k.
    records = []
    for n_in, n_out in [(2, 16), (4, 16), (8, 16), (32, 16), (16, 2), (16, 8), (16, 128), (16, 256)]:
        records.append(record("fwd", "forward", n_in, n_out, 1e-4 * n_in))
        records.append(record("rev", "reverse", n_in, n_out, 1e-4 * n_out / k))
    return records


def test_rule_finds_the_crossover_ratio():
    found = sweep.rule(synthetic(k=4.0))["torch"]
    assert found["misclassified"] == 0 and found["points"] == 8
    assert 2.0 < found["k"] <= 8.0
    assert found["text"].startswith("torch: forward mode is faster when n_in < n_out / ")


def test_a_rule_with_little_support_says_there_is_none():
    # Two points that each mode wins once, and three where the modes follow no threshold.
    for records in (synthetic()[:2] + synthetic()[8:10],
                    [record(m, mode, n, 16, t) for n, fwd, rev in ((2, 2, 1), (4, 1, 2), (8, 2, 1), (16, 1, 2),
                                                                   (32, 2, 1))
                     for m, mode, t in (("fwd", "forward", fwd), ("rev", "reverse", rev))]):
        found = sweep.rule(records)["torch"]
        assert not found["supported"] and found["text"].startswith("torch: no rule: forward mode was faster in ")


def test_the_rule_can_count_preparation():
    # Forward mode is faster per call everywhere, but costs a second of preparation: for one call, reverse wins.
    records = []
    for n_in in (2, 4, 8, 16):
        records.append({**record("fwd", "forward", n_in, 16, 1e-4), "time": {"median_s": 1e-4, "prepare_s": 1.0}})
        records.append({**record("rev", "reverse", n_in, 16, 1e-3), "time": {"median_s": 1e-3, "prepare_s": 1e-3}})
    warm, once = sweep.rule(records)["torch"], sweep.rule(records, calls=1)["torch"]
    assert warm["supported"] and once["supported"] and warm["k"] < 1 and once["k"] >= 8


def test_rule_ignores_disagreeing_results():
    records = synthetic() + [record("fwd2", "forward", 2, 16, 1e-9, status="disagree")]
    assert sweep.rule(records) == sweep.rule(synthetic())


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib", reason="plots need the 'plot' extra")
    from jacobian_harness.render.sweep import plot

    assert plot({"results": synthetic(), "options": {"sweep": {"family": "t"}}}, tmp_path / "s.png")
    assert (tmp_path / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sweep_command_writes_results_report_and_rule(registry, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sweep, "FAMILIES", {})
    monkeypatch.setattr(sweep, "load_families", lambda: None)
    grid = ({"n_in": 2, "n_out": 8}, {"n_in": 8, "n_out": 2})

    @sweep.family(id="t.tanh", inputs=lambda rng, n_in, n_out: (rng.standard_normal(n_in),
                                                                rng.standard_normal((n_out, n_in))),
                  wrt=(0,), grid=grid, quick_grid=grid)
    def tanh_layer(xp, x, w):
        return xp.tanh(xp.matmul(w, x))

    out = tmp_path / "sweep"
    assert main(["sweep", "t.tanh", "--quick", "--out", str(out), "--methods", "torch.func.*",
                 "--methods", "fd.central"]) == 0
    document = json.loads((out / "results.json").read_text())
    assert {r["case"] for r in document["results"]} == {"t.tanh[n_in=2,n_out=8]", "t.tanh[n_in=8,n_out=2]"}
    assert all(r["status"] == "agree" for r in document["results"])
    assert document["options"]["sweep"]["grid"] == [dict(p) for p in grid]
    assert np.all([r["size"] in grid for r in document["results"]])
    assert "## Where forward mode overtakes reverse mode" in (out / "report.md").read_text()
    # Two grid points: any threshold fits one of them, so no rule is stated.
    assert "per call, once prepared: torch: no rule: forward mode was faster in" in capsys.readouterr().out


def test_unknown_family_is_exit_2(tmp_path, capsys):
    assert main(["sweep", "no.such.family", "--out", str(tmp_path)]) == 2
    assert "unknown sweep family 'no.such.family'" in capsys.readouterr().err
