"""The opinfo pack: cases generated from the installed torch's OpInfo database (cases/opinfo)."""

import argparse
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch", reason="the opinfo pack is generated from torch's op_db")
pytest.importorskip("expecttest", reason="torch's op_db imports only with expecttest (the opinfo extra)")

from jacobian_harness import casedef  # noqa: E402
from jacobian_harness.adapters.base import Unsupported, load_adapters  # noqa: E402
from jacobian_harness.cli import main  # noqa: E402

OPS = ("sin", "cdist", "as_strided_scatter", "linalg.det", "amax", "nn.functional.softmin", "max")


@pytest.fixture(scope="module")
def pack():
    """The cases of a few ops, generated as the pack does; removed from the registry afterwards."""
    from jacobian_harness.cases.opinfo import generate

    load_adapters()
    ops = {generate.op_id(op): op for op in generate.op_database()}
    before, skipped_before = set(casedef.CASES), set(casedef.SKIPPED)
    for op in ops.values():
        if op.name in OPS:
            generate._generate_op(op, 3, 4096)
    made = [c for c in casedef.CASES if c not in before]
    yield {"ops": ops, "cases": made, "skipped": [s for s in casedef.SKIPPED if s not in skipped_before]}
    for case_id in made:
        del casedef.CASES[case_id]
    for case_id in casedef.SKIPPED.keys() - skipped_before:
        del casedef.SKIPPED[case_id]


def test_case_ids_follow_the_scheme_and_every_sample_has_a_moved_twin_or_a_reason(pack):
    ids = pack["cases"]
    assert "opinfo.sin.s0" in ids and "opinfo.sin.s0.moved" in ids
    assert any(i.startswith("opinfo.nn.functional.softmin.s") for i in ids)
    assert any(i.startswith("opinfo.max.reduction_with_dim.s") for i in ids)
    for case_id in ids:
        case = casedef.CASES[case_id]
        assert case.pack == "opinfo" and case.meta["op"] in OPS and case.meta["fingerprint"]
        if not case_id.endswith(".moved"):
            assert f"{case_id}.moved" in ids or f"{case_id}.moved" in casedef.SKIPPED


def test_a_moved_twin_is_a_nearby_point(pack):
    original = casedef.CASES["opinfo.cdist.s1"]
    moved = casedef.CASES["opinfo.cdist.s1.moved"]
    assert moved.meta["moved_from"] == "opinfo.cdist.s1" and moved.meta["digest"] != original.meta["digest"]
    assert not moved.timed and original.timed
    for a, b in zip(original.make_inputs(), moved.make_inputs(), strict=True):
        assert not np.array_equal(a, b)
        assert np.max(np.abs(a - b)) <= 2e-3 * max(1.0, np.abs(a).max())


def test_the_sample_digest_is_the_same_in_a_fresh_process(pack):
    script = ("from jacobian_harness.cases.opinfo import generate as g\n"
              "op = next(o for o in g.op_database() if g.op_id(o) == 'opinfo.cdist')\n"
              "g._generate_op(op, 2, 4096)\n"
              "from jacobian_harness.casedef import CASES\n"
              "print(CASES['opinfo.cdist.s1'].meta['digest'])\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == casedef.CASES["opinfo.cdist.s1"].meta["digest"]


def test_methods_follow_what_the_opinfo_declares(pack):
    op = pack["ops"]["opinfo.cdist"]
    case = casedef.CASES["opinfo.cdist.s1"]
    forward = case.runs("torch.func.jacfwd")
    assert forward == bool(op.supports_forward_ad)
    assert case.runs("torch.func.jacrev") and case.runs("fd.central")
    assert not case.runs("autograd.jacobian") and not case.runs("tensorflow.jacobian")
    assert not case.runs("torch.compile[jacrev]") and case.runs("torch.compile[jacrev]", named=True)
    assert case.runs("torch.second-order[rev-rev]") == bool(op.supports_gradgrad)


def test_torch_expectations_name_the_test_and_its_expected_failure(pack):
    """Read from the op's DecorateInfo entries as op_db writes them (which ops carry them changes between torch
    versions, so the op here is made, not looked up)."""
    import types
    import unittest

    from torch.testing._internal.opinfo.core import DecorateInfo

    from jacobian_harness.cases.opinfo.expectations import torch_expectations

    op = types.SimpleNamespace(
        supports_autograd=True, supports_forward_ad=True, supports_gradgrad=True, supports_fwgrad_bwgrad=False,
        decorators=(DecorateInfo(unittest.expectedFailure, "TestBwdGradients", "test_fn_grad"),
                    DecorateInfo(unittest.skip("slow"), "TestFwdGradients", "test_forward_mode_AD"),
                    DecorateInfo(unittest.expectedFailure, "TestBwdGradients", "test_fn_gradgrad",
                                 device_type="cuda")),
        skips=())
    expected = torch_expectations(op)
    assert expected["reverse"] == "test_fn_grad: expected failure"
    assert expected["forward"] == "test_forward_mode_AD: skipped"
    assert expected["reverse-over-reverse"] == "test_fn_gradgrad: runs"  # its mark is for CUDA only
    assert expected["forward-over-reverse"].startswith("test_fn_fwgrad_bwgrad: not run")
    assert expected["forward-over-forward"] == "no test in torch's suite"
    assert casedef.CASES["opinfo.sin.s0"].meta["torch_tests"]["reverse"] == "test_fn_grad: runs"


def test_a_jax_counterpart_that_computes_another_value_is_refused_not_believed(pack):
    pytest.importorskip("jax")
    from jacobian_harness.cases.opinfo import generate
    from jacobian_harness.cases.opinfo.jax_counterparts import Counterpart
    from jacobian_harness.adapters.base import BACKENDS

    lib = BACKENDS["jax"].load()
    op = pack["ops"]["opinfo.sin"]
    sample = generate._take_apart(op, next(generate._samples(op)))
    value = np.sin(sample.leaves[sample.wrt[0]].numpy())
    wrong = Counterpart("sin", "jnp.cos (wrong on purpose)", lambda J, x: J.np.cos(x)).implementation(sample, value)
    right = Counterpart("sin", "jnp.sin", lambda J, x: J.np.sin(x)).implementation(sample, value)
    x = lib.numpy.asarray(sample.leaves[sample.wrt[0]].numpy())
    np.testing.assert_allclose(np.asarray(right(x)), value)
    with pytest.raises(Unsupported, match="computes another value"):
        wrong(x)


def test_the_repro_of_a_finding_runs_alone_and_prints_both_jacobians(pack, tmp_path):
    case_id = next(c for c in pack["cases"] if c.startswith("opinfo.as_strided_scatter.") and not c.endswith("moved"))
    script = casedef.CASES[case_id].repro("torch.func.jacrev", "finite differences")
    path = tmp_path / "repro.py"
    path.write_text(script)
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "finite differences:" in done.stdout and "largest difference:" in done.stdout
    assert "harness" not in script.replace("jacobian-harness", "")


@pytest.mark.parametrize("method_id", ["torch.autograd.functional.jacobian[vectorize]",
                                       "torch.autograd.functional.jacobian[forward-mode]", "torch.func.jacfwd",
                                       "torch.grad-loop"])
def test_every_first_order_repro_form_runs_alone_and_agrees_on_a_healthy_op(pack, tmp_path, method_id):
    """Each way a repro computes the Jacobian (autograd.functional takes a tuple of inputs, not a list)."""
    script = casedef.CASES["opinfo.sin.s0"].repro(method_id, "finite differences")
    path = tmp_path / "repro.py"
    path.write_text(script)
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    largest = float(done.stdout.rsplit("largest difference:", 1)[1].split()[0])
    assert largest < 1e-6


def test_a_second_order_repro_runs_alone(pack, tmp_path):
    script = casedef.CASES["opinfo.sin.s0"].repro("torch.second-order[fwd-fwd]", "finite differences")
    path = tmp_path / "repro.py"
    path.write_text(script)
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    got, want = (float(line.split(":")[1]) for line in done.stdout.splitlines()[:2])
    assert abs(got - want) <= 1e-5 * max(1.0, abs(want))


def test_unknown_pack_and_bad_samples_are_one_line_usage_errors(capsys):
    assert main(["list", "--pack", "nope"]) == 2
    err = capsys.readouterr().err
    assert "no case pack named 'nope'" in err and "opinfo" in err and err.count("\n") == 1
    assert main(["list", "--pack", "builtin", "--samples", "0"]) == 2
    err = capsys.readouterr().err
    assert "argument --samples: must be at least 1 (or 'all'), not 0" in err and err.count("\n") == 1


@pytest.mark.slow
def test_a_pack_run_is_green_with_its_declared_findings_and_records_the_fingerprint(tmp_path):
    """The whole path through the CLI: generation in the parent, lazy generation in the workers, judging,
    the report's pack section; as_strided_scatter's declared bug comes out expected-divergence."""
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "jacobian_harness", "run", "--pack", "opinfo", "--quick",
                           "--jobs", "1", "--cases", "opinfo.sin.s0*", "--cases", "opinfo.as_strided_scatter.s*",
                           "--out", str(out)], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    document = json.loads((out / "results.json").read_text())
    statuses = {(r["case"], r["method"]): r["status"] for r in document["results"]}
    assert statuses[("opinfo.sin.s0", "torch.func.jacrev")] == "agree"
    assert statuses[("opinfo.sin.s0", "jax.jacrev")] == "agree"
    assert "expected-divergence" in {s for (c, _), s in statuses.items() if c.startswith("opinfo.as_strided")}
    assert document["cases"]["opinfo.sin.s0"]["meta"]["fingerprint"].startswith("f64[32]* (cut to its first 32")
    assert document["options"]["packs"] == ["opinfo"] and document["options"]["samples"] == 3
    assert "## Case packs" in Path(out / "report.md").read_text()


@pytest.mark.slow
def test_list_pack_opinfo_json_lists_every_case_and_every_skip_with_its_reason():
    done = subprocess.run([sys.executable, "-m", "jacobian_harness", "list", "--pack", "opinfo", "--json"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    listing = json.loads(done.stdout)
    ids = [c["id"] for c in listing["cases"]]
    assert len(ids) > 1000 and all(i.startswith("opinfo.") for i in ids)
    assert not any(i.startswith("seed.") for i in ids)  # only the pack asked for
    ops = {c["meta"]["op"] for c in listing["cases"]}
    assert len(ops) > 300
    assert listing["skipped_cases"] and all(reason for reason in listing["skipped_cases"].values())
    assert sum(1 for c in listing["cases"] if not c["meta"]["jax"].startswith("none")) > 300


def test_known_findings_parse_and_their_globs_take_alternatives():
    from jacobian_harness.cases.opinfo import known

    entries = known.findings()
    assert entries and all(e["reason"] for e in entries)
    assert known._expanded("opinfo.{a,b}.s*") == ["opinfo.a.s*", "opinfo.b.s*"]
    declared = known.divergences_for("opinfo.nn.functional.max_unpool2d.s1.moved")
    assert {d.methods for d in declared} >= {"torch.func.jacrev", "torch.jvp-vjp"}
    assert not known.divergences_for("opinfo.sin.s0")
    assert known.not_twice_differentiable("opinfo.linalg.norm.subgradients_at_zero.s0")


def test_a_known_findings_entry_with_an_unknown_field_is_named(tmp_path, monkeypatch):
    from jacobian_harness.cases.opinfo import known

    path = tmp_path / "known.toml"
    path.write_text('[[finding]]\ncases = "opinfo.x.s*"\nmethods = "fd.*"\nkind = "bug"\nreason = "r"\nwhy = 1\n')
    monkeypatch.setattr(known, "KNOWN", path)
    known.findings.cache_clear()
    try:
        with pytest.raises(casedef.CaseError, match="finding 1: unknown field 'why'"):
            known.findings()
    finally:
        known.findings.cache_clear()


def test_a_known_findings_entry_and_diverging_make_equal_records(tmp_path, monkeypatch):
    # One spelling of a divergence: a known.toml entry is built by the function a Python case declares with.
    from jacobian_harness.cases._common import diverging
    from jacobian_harness.cases.opinfo import known

    path = tmp_path / "known.toml"
    path.write_text('[[finding]]\ncases = "opinfo.x.s*"\nmethods = ["torch.func.*", "jax.jacrev"]\nkind = "bug"\n'
                    'reason = "r"\nissue = "o/r#1"\nversions = "<2.15"\nchecked = ["2.13.0"]\nraises = "boom"\n'
                    '[[finding]]\ncases = "opinfo.x.s0"\nmethods = "fd.central"\nkind = "convention"\nreason = "c"\n')
    monkeypatch.setattr(known, "KNOWN", path)
    known.findings.cache_clear()
    try:
        from_data = known.divergences_for("opinfo.x.s0")
    finally:
        known.findings.cache_clear()
    in_python = (diverging(["torch.func.*", "jax.jacrev"], kind="bug", reason="r", issue="o/r#1", versions="<2.15",
                           checked=["2.13.0"], raises="boom")
                 + diverging("fd.central", kind="convention", reason="c", checked=()))
    assert from_data == in_python
    assert set(known.DIVERGENCE_FIELDS) <= {f.name for f in dataclasses.fields(casedef.Divergence)}


def _with_known(tmp_path, monkeypatch, text: str):
    from jacobian_harness.cases.opinfo import known

    path = tmp_path / "known.toml"
    path.write_text(text)
    monkeypatch.setattr(known, "KNOWN", path)
    known.findings.cache_clear()
    return known


def test_a_where_condition_covers_every_sample_with_those_arguments_and_no_other(tmp_path, monkeypatch):
    known = _with_known(tmp_path, monkeypatch, '[[finding]]\ncases = "opinfo.x.s*"\nmethods = "torch.func.jacrev"\n'
                                               'kind = "bug"\nreason = "r"\nwhere = { p = 1, dim = [0, 1] }\n')
    try:
        assert known.divergences_for("opinfo.x.s7", {"p": 1.0, "dim": [0, 1], "arg2": 1.0})
        assert known.divergences_for("opinfo.x.s0.moved", {"p": 1, "dim": (0, 1)})
        assert not known.divergences_for("opinfo.x.s1", {"p": 2.0, "dim": [0, 1]})
        assert not known.divergences_for("opinfo.x.s1", {"p": 1.0})  # an argument the sample lacks: not covered
        assert not known.divergences_for("opinfo.x.s1", {"p": True, "dim": [0, 1]})  # True is no number here
        assert not known.divergences_for("opinfo.y.s1", {"p": 1.0, "dim": [0, 1]})
        # A non-finite argument is kept as text in a case's meta (strict JSON) and still compares as a number.
        assert known._same_value("inf", float("inf")) and not known._same_value("inf", 1.0)
    finally:
        known.findings.cache_clear()


def test_a_where_that_is_not_a_table_is_named(tmp_path, monkeypatch):
    known = _with_known(tmp_path, monkeypatch, '[[finding]]\ncases = "opinfo.x.s*"\nmethods = "fd.*"\n'
                                               'kind = "bug"\nreason = "r"\nwhere = 1\n')
    try:
        with pytest.raises(casedef.CaseError, match="finding 1: `where` must be a table"):
            known.findings()
    finally:
        known.findings.cache_clear()


def test_samples_all_reaches_an_op_whose_first_samples_are_empty_and_names_each_skip(pack):
    from jacobian_harness.cases.opinfo import generate

    op = pack["ops"]["opinfo.cholesky_inverse"]
    before, skipped_before = set(casedef.CASES), set(casedef.SKIPPED)
    try:
        generate._generate_op(op, 3, 4096)
        assert not set(casedef.CASES) - before  # its first three samples are empty
        generate._generate_op(op, "all", 4096)
        made = sorted(c for c in casedef.CASES if c not in before and not c.endswith(".moved"))
        skipped = {c: casedef.SKIPPED[c] for c in casedef.SKIPPED.keys() - skipped_before}
        assert made and {f"opinfo.cholesky_inverse.s{k}" for k in range(3)} <= set(skipped)
        assert all(reason for _, reason in skipped.values())
    finally:
        for case_id in set(casedef.CASES) - before:
            del casedef.CASES[case_id]
        for case_id in casedef.SKIPPED.keys() - skipped_before:
            del casedef.SKIPPED[case_id]


def test_samples_takes_a_count_or_all_and_nothing_else():
    from jacobian_harness.commands.common import pack_options_from, samples_count

    assert samples_count("all") == "all" and samples_count("40") == 40
    for bad in ("0", "-1", "many"):
        with pytest.raises(argparse.ArgumentTypeError):
            samples_count(bad)
    assert pack_options_from(None) == {"samples": 3} and pack_options_from("all") == {"samples": "all"}


def test_a_samples_arguments_are_named_by_the_signature_and_by_position(pack):
    cdist = [c for c in pack["cases"] if c.startswith("opinfo.cdist.s")]
    assert cdist
    for case_id in cdist:
        arguments = casedef.CASES[case_id].meta["arguments"]
        # torch.cdist(x1, x2, p, compute_mode): x2 is a tensor (not a condition), p is its second argument
        assert arguments["p"] == arguments["arg2"] and isinstance(arguments["p"], float)
        assert arguments["compute_mode"] == arguments["arg3"] and "arg1" not in arguments
        # known.toml declares jacrev's cdist bug by its condition (p = 1 or 3), whichever sample index has it
        declared = {d.methods for d in casedef.CASES[case_id].divergences}
        assert declared == ({"torch.func.jacrev"} if arguments["p"] in (1.0, 3.0) else set()), (case_id, arguments)
    json.dumps([casedef.CASES[c].meta["arguments"] for c in pack["cases"]])  # plain data, as results.json keeps it


def test_every_pass_through_jax_counterpart_names_a_jax_function():
    pytest.importorskip("jax")
    from jacobian_harness.cases.opinfo import jax_counterparts as jc

    modules = jc._modules()
    for torch_name, dotted in {**jc.PASS_THROUGH, **jc.ACTIVATIONS}.items():
        assert callable(jc.jax_function(modules, dotted)), torch_name
        assert jc.COUNTERPARTS[torch_name].describe == dotted
    assert jc.jax_function(modules, "jnp.linalg.det") is modules.np.linalg.det
    with pytest.raises(KeyError, match="starts with one of"):
        jc.jax_function(modules, "numpy.sin")


@pytest.mark.slow
def test_pack_runs_shard_and_merge_into_one_run(tmp_path):
    parts = []
    for k in (1, 2):
        out = tmp_path / f"part{k}"
        done = subprocess.run([sys.executable, "-m", "jacobian_harness", "run", "--pack", "opinfo", "--no-timing",
                               "--jobs", "1", "--cases", "opinfo.atan2.s*", "--shard", f"{k}/2", "--out", str(out),
                               # shards and merge are the subject: untimed, without compiles, it is short
                               "--methods", "torch.func.*", "--methods", "fd.*"],
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        parts.append(json.loads((out / "results.json").read_text()))
    merged = tmp_path / "merged"
    done = subprocess.run([sys.executable, "-m", "jacobian_harness", "merge", str(tmp_path / "part1"),
                           str(tmp_path / "part2"), "--out", str(merged)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    whole = json.loads((merged / "results.json").read_text())
    pairs = {(r["case"], r["method"]) for p in parts for r in p["results"]}
    assert {(r["case"], r["method"]) for r in whole["results"]} == pairs and len(pairs) == len(whole["results"])
    assert whole["options"]["packs"] == ["opinfo"]
