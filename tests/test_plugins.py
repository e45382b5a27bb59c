"""Third-party adapters and case packs through entry points: the example package, installed for real."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACK = Path(__file__).parent.parent / "examples" / "plugin-pack"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    try:  # build with this environment's setuptools when it has one (no download), else in isolation
        import setuptools  # noqa: F401

        isolation = ["--no-build-isolation"]
    except ImportError:
        isolation = []
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", *isolation,
                    "--target", str(target), str(PACK)], check=True)
    return {**os.environ, "PYTHONPATH": str(target)}


def harness(env, *args, **kwargs):
    return subprocess.run([sys.executable, "-m", "jacobian_harness", *args], env=env, capture_output=True, text=True,
                          timeout=600, **kwargs)


@pytest.mark.slow
def test_an_installed_adapter_and_case_pack_are_listed_and_run(installed, tmp_path):
    # An installed pack runs when asked for by name (--pack; `all` is every pack), beside the built-in library.
    assert "example.cubic" not in [c["id"] for c in json.loads(harness(installed, "list", "--json").stdout)["cases"]]
    listing = json.loads(harness(installed, "list", "--json", "--pack", "builtin", "--pack", "example").stdout)
    ids = [c["id"] for c in listing["cases"]]
    assert "example.cubic" in ids and "seed.linear" in ids
    assert "fwd.forward" in [m["id"] for m in listing["methods"]]
    done = harness(installed, "run", "--pack", "example", "--cases", "example.*", "--methods", "fwd.*",
                   "--methods", "fd.central", "--quick", "--jobs", "1", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    records = json.loads((tmp_path / "results.json").read_text())["results"]
    assert {(r["method"], r["status"]) for r in records} == {("fwd.forward", "agree"), ("fd.central", "agree")}


@pytest.mark.slow
def test_a_broken_plugin_is_named_in_one_line_and_exit_2(installed, tmp_path):
    broken = tmp_path / "broken"
    (broken / "broken_pack-0.1.dist-info").mkdir(parents=True)
    (broken / "broken_pack-0.1.dist-info" / "METADATA").write_text("Name: broken-pack\nVersion: 0.1\n")
    (broken / "broken_pack-0.1.dist-info" / "entry_points.txt").write_text(
        "[jacobian_harness.adapters]\nbroken = broken_pack_missing.adapter\n")
    env = {**installed, "PYTHONPATH": f"{broken}{os.pathsep}{installed['PYTHONPATH']}"}
    done = harness(env, "list")
    assert done.returncode == 2
    assert "adapter plugin 'broken' (broken_pack_missing.adapter, from broken-pack) failed to load" in done.stderr
    assert done.stderr.count("\n") == 1
