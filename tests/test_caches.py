import json
import os
from pathlib import Path

import numpy as np
import pytest

from jacobian_harness.caches import CACHE_VARIABLE, OFF_VARIABLES, CacheError, CompileCache, default_directory
from jacobian_harness.cli import main

DATA = Path(__file__).parent / "data"


def test_the_default_directory_is_the_variable_else_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_VARIABLE, str(tmp_path / "mine"))
    assert default_directory() == tmp_path / "mine"
    monkeypatch.delenv(CACHE_VARIABLE)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_directory() == tmp_path / "xdg" / "jacobian-harness"


def test_an_empty_cache_is_cold_and_one_with_entries_is_warm(tmp_path):
    assert CompileCache.choose(str(tmp_path / "c"), cold=False).state == "cold"
    (tmp_path / "c" / "jax").mkdir()
    (tmp_path / "c" / "jax" / "entry").write_text("x")
    cache = CompileCache.choose(str(tmp_path / "c"), cold=False)
    assert cache.state == "warm"
    assert cache.describe()["entries_before"] == {"torch": 0, "jax": 1}


def test_cold_is_an_empty_temporary_cache_removed_at_the_end(tmp_path):
    (tmp_path / "jax").mkdir()
    (tmp_path / "jax" / "entry").write_text("x")
    cache = CompileCache.choose(str(tmp_path), cold=True)
    assert cache.state == "cold" and cache.directory.parent == tmp_path
    with cache.applied():
        assert os.environ["JAX_COMPILATION_CACHE_DIR"] == str((cache.directory / "jax").resolve())
        assert cache.directory.is_dir()
    assert not cache.directory.exists()
    assert (tmp_path / "jax" / "entry").exists()  # the kept cache beside it is left alone
    assert cache.describe()["directory"] is None and cache.describe()["temporary"]


def test_applied_sets_the_variables_for_the_run_only(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCHINDUCTOR_FX_GRAPH_CACHE", "before")
    monkeypatch.delenv("TORCHINDUCTOR_AUTOGRAD_CACHE", raising=False)
    cache = CompileCache.choose("off", cold=False)
    assert cache.state == "off" and cache.environment() == OFF_VARIABLES
    with cache.applied():
        assert os.environ["TORCHINDUCTOR_FX_GRAPH_CACHE"] == "0"
        assert os.environ["TORCHINDUCTOR_AUTOGRAD_CACHE"] == "0"
    assert os.environ["TORCHINDUCTOR_FX_GRAPH_CACHE"] == "before"
    assert "TORCHINDUCTOR_AUTOGRAD_CACHE" not in os.environ


def test_an_unusable_directory_is_an_error_that_says_what_to_do(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    expected = r"--cache-dir .*file/cache: cannot create it \(.*\); give a writable directory, or `--cache-dir off`"
    with pytest.raises(CacheError, match=expected):
        CompileCache.choose(str(blocker / "cache"), cold=False)
    with pytest.raises(CacheError, match="--cold needs a cache"):
        CompileCache.choose("off", cold=True)


def test_a_bad_cache_dir_is_a_one_line_usage_error(registry, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code = main(["run", "--no-builtin", "--case-file", str(DATA / "good.py"), "--cache-dir", str(blocker / "x"),
                 "--out", str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--cache-dir" in err
    assert not (tmp_path / "out" / "results.json").exists()


@pytest.mark.slow
@pytest.mark.requires("jax.jit[jacrev]", "torch.compile[jacrev]")
def test_a_second_run_finds_the_cache_warm_and_computes_the_same_jacobians(registry, tmp_path):
    """Both frameworks write entries into the run's cache, the second run starts warm and says so, and what it
    computed is bit-for-bit what the first computed (a cache hit is the same compiled code)."""
    args = ["run", "--no-builtin", "--case-file", str(DATA / "good.py"), "--cases", "user.cube", "--quick",
            "--methods", "jax.jit[jacrev]", "--methods", "torch.compile[jacrev]", "--jobs", "1",
            "--cache-dir", str(tmp_path / "cache")]
    documents, arrays = [], []
    for name in ("first", "second"):
        registry.clear()  # the case file is loaded again by the second run
        assert main([*args, "--out", str(tmp_path / name)]) == 0
        documents.append(json.loads((tmp_path / name / "results.json").read_text()))
        with np.load(tmp_path / name / "jacobians.npz") as archive:
            arrays.append({key: archive[key] for key in archive.files if "compile" in key or "jit" in key})
    first, second = (d["environment"]["compile_cache"] for d in documents)
    assert first["state"] == "cold" and second["state"] == "warm"
    assert first["entries_after"]["torch"] > 0 and first["entries_after"]["jax"] > 0
    assert second["entries_before"] == first["entries_after"]
    assert documents[1]["cost"]["compile_cache"] == "warm"
    assert "compile caches warm" in (tmp_path / "second" / "report.md").read_text()
    assert arrays[0].keys() == arrays[1].keys() and arrays[0]
    for key in arrays[0]:
        assert np.array_equal(arrays[0][key], arrays[1][key]), key
