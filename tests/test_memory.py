import json

import numpy as np
import pytest

from jacobian_harness.adapters.base import METHODS, load_adapters
from jacobian_harness.cli import main
from jacobian_harness.evaluate import Options, evaluate
from jacobian_harness.memory import estimate_bytes, fitting_chunk, format_size, parse_size
from jacobian_harness.timing import ONCE
from pathlib import Path

DATA = Path(__file__).parent / "data"
load_adapters()
N = 400  # a 400 x 400 Jacobian: 1.28 MB in float64


@pytest.fixture
def wide(registry):
    from jacobian_harness import case

    @case(id="mem.wide", inputs=lambda rng: (rng.standard_normal(N),))
    def wide(xp, x):
        return xp.tanh(x) * xp.sum(x)


def test_vectorized_methods_are_estimated_above_loops_and_chunks_fit_the_limit():
    loop, batched = METHODS["torch.grad-loop"], METHODS["torch.func.jacrev"]
    assert estimate_bytes(loop, N, N, 8) == 2 * N * N * 8
    assert estimate_bytes(batched, N, N, 8) == (2 * N * N + N * 3 * N) * 8
    limit = 4 << 20
    chunk = fitting_chunk(batched, N, N, 8, limit)
    assert 1 <= chunk < N
    assert estimate_bytes(batched, N, N, 8, chunk) <= limit < estimate_bytes(batched, N, N, 8, chunk + 1)
    assert fitting_chunk(METHODS["jax.jacrev"], N, N, 8, limit) is None  # no chunk_size in JAX's jacrev
    assert fitting_chunk(batched, N, N, 8, 2 * N * N * 8) is None  # the Jacobian alone fills the limit


@pytest.mark.parametrize("text, size", [("8G", 8 << 30), ("512M", 512 << 20), ("1.5k", 1536), ("100", 100),
                                        ("2GiB", 2 << 30)])
def test_sizes_parse_in_binary_units(text, size):
    assert parse_size(text) == size
    assert format_size(3 << 30) == "3 GiB"


def test_a_bad_size_says_what_it_expects():
    with pytest.raises(ValueError, match="not a size like 8G"):
        parse_size("lots")


def test_over_the_limit_a_pair_is_skipped_or_chunked_and_still_agrees(wide, frameworks):
    options = Options(timing=ONCE, max_memory=4 << 20)
    skipped = evaluate("mem.wide", "jax.jacrev", options).record
    if frameworks.installed("jax.jacrev"):
        assert skipped["status"] == "skipped" and "over --max-memory 4 MiB" in skipped["message"]
    else:
        assert skipped["status"] == "unavailable"
    chunked = evaluate("mem.wide", "torch.func.jacrev", options)
    assert chunked.ok and 1 <= chunked.record["chunk_size"] < N and "chunks of" in chunked.record["note"]
    whole = evaluate("mem.wide", "torch.func.jacrev", Options(timing=ONCE))
    assert "chunk_size" not in whole.record
    np.testing.assert_allclose(chunked.jacobian[0], whole.jacobian[0], rtol=1e-12)
    assert evaluate("mem.wide", "torch.grad-loop", options).ok  # a loop holds only the Jacobian


def test_run_reports_skips_and_bad_max_memory_is_exit_2(wide, tmp_path, capsys, frameworks):
    out = tmp_path / "out"
    code = main(["run", "--no-builtin", "--quick", "--jobs", "0", "--max-memory", "4M", "--out", str(out),
                 "--methods", "jax.jacrev", "--methods", "torch.func.jacrev", "--methods", "fd.central"])
    assert code == 0  # a skip is not a failure
    status = {r["method"]: r["status"] for r in json.loads((out / "results.json").read_text())["results"]}
    assert status == frameworks.expect({"jax.jacrev": "skipped", "torch.func.jacrev": "agree", "fd.central": "agree"})
    assert main(["run", "--no-builtin", "--max-memory", "lots", "--out", str(out)]) == 2
    assert "--max-memory: 'lots' is not a size" in capsys.readouterr().err


@pytest.mark.requires("autograd")
def test_a_pair_that_runs_out_of_memory_is_reported_and_the_run_goes_on(registry, tmp_path):
    out = tmp_path / "out"
    code = main(["run", "--no-builtin", "--case-file", str(DATA / "hostile.py"), "--case-file",
                 str(DATA / "good.py"), "--cases", "hostile.hog", "--cases", "user.cube", "--quick", "--jobs", "1",
                 "--methods", "autograd.jacobian", "--out", str(out)])
    assert code == 1
    records = {r["case"]: r for r in json.loads((out / "results.json").read_text())["results"]}
    assert records["hostile.hog"]["status"] == "error" and "MemoryError" in records["hostile.hog"]["message"]
    assert records["user.cube"]["status"] == "agree"
