import json

import numpy as np
import pytest

from jacobian_harness.document import SCHEMA_VERSION
from jacobian_harness.document import load as load_results
from jacobian_harness.results import ResultsError, atomic_write, jacobian_key, load_jacobians, write_arrays, write_json


def minimal(**extra):
    return {"schema_version": SCHEMA_VERSION, "kind": "jacobian-harness.run", "environment": {}, "options": {},
            "cases": {}, "results": [], **extra}


def test_roundtrip_and_non_finite_floats_stay_strict_json(tmp_path):
    write_json(tmp_path / "results.json", minimal(results=[{"max_abs_err": float("nan"), "x": float("-inf")}]))
    text = (tmp_path / "results.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    document = load_results(tmp_path)
    assert document["results"][0] == {"max_abs_err": "nan", "x": "-inf"}


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "results.json"
    target.write_text("old")

    def explode(handle):
        handle.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, explode)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


@pytest.mark.parametrize("content, message", [
    (None, "no such results file"),
    ('{"schema_version": 1, "kind": "jacobian-harness.run", "resu', "not valid JSON"),
    ("[1, 2]", "not a jacobian-harness results file"),
    (json.dumps(minimal(schema_version=99)), "schema_version 99 is not supported"),
    (json.dumps(minimal(results=None)), "'results' is missing"),
])
def test_bad_results_files_raise_one_clear_error(tmp_path, content, message):
    if content is not None:
        (tmp_path / "results.json").write_text(content)
    with pytest.raises(ResultsError, match=message):
        load_results(tmp_path)


def test_jacobians_roundtrip_without_pickle(tmp_path):
    key = jacobian_key("seed.linear", "torch.func.jacrev", "float64", 0)
    assert key == "seed.linear|torch.func.jacrev|float64|0"
    write_arrays(tmp_path / "jacobians.npz", {key: np.eye(2)})
    np.testing.assert_array_equal(load_jacobians(tmp_path)[key], np.eye(2))


def test_object_arrays_are_refused_on_load(tmp_path):
    np.savez(tmp_path / "jacobians.npz", bad=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ResultsError, match="cannot read"):
        load_jacobians(tmp_path)
