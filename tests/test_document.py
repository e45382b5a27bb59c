"""The run document: schema version 2, version 1 files read and upgraded, merging of shards."""

import json
from pathlib import Path

import pytest

from jacobian_harness.document import (KIND, SCHEMA_VERSION, DocumentError, load, merge, new_document, save, sort_like,
                               upgrade)
from jacobian_harness.evaluate import Options
from jacobian_harness.records import FIELDS, Record, new_record

DATA = Path(__file__).parent / "data"


def test_a_saved_version_1_file_is_read_as_version_2():
    # tests/data/results_small.json was written by the harness when the schema was version 1.
    raw = json.loads((DATA / "results_small.json").read_text())
    assert raw["schema_version"] == 1 and "command" not in raw["options"]
    document = load(DATA / "results_small.json")
    assert document["schema_version"] == SCHEMA_VERSION == 2
    assert document["options"]["command"] == "run"
    assert document["environment"]["backends"]["torch"] == raw["environment"]["versions"]["torch"]
    assert document["results"] == raw["results"]  # records are unchanged


@pytest.mark.parametrize("options, command", [({"source": "harness.check"}, "check"), ({"sweep": {}}, "sweep"),
                                              ({"merged_from": []}, "merge"), ({"ab_id": "x"}, "ab"), ({}, "run")])
def test_upgrade_names_the_command_that_wrote_a_version_1_file(options, command):
    old = {"schema_version": 1, "kind": KIND, "environment": {"versions": {}}, "options": options, "results": []}
    assert upgrade(old)["options"]["command"] == command


def test_a_new_document_records_every_backend_and_round_trips(tmp_path):
    document = new_document("run", Options(), dtype="float64", quick=True, selected_methods=["fd.central"])
    assert set(document["environment"]["backends"]) >= {"torch", "jax", "autograd", "tensorflow", "fd"}
    assert document["environment"]["versions"].keys() >= {"tensorflow", "torch"}
    save(tmp_path, document, {})
    assert load(tmp_path) == json.loads(json.dumps(document))


def test_records_list_their_fields_in_one_place():
    record = new_record("c", "m", backend="fd", mode="fd", quantity="jacobian", dtype="float64", size="small",
                        backend_version="1")
    assert set(record) <= set(FIELDS) and {"case", "status", "time", "jacobian"} <= set(Record.__annotations__)


def _part(shard: str, records: list[dict], cpu: str = "cpu A") -> dict:
    document = new_document("run", Options(), dtype="float64", quick=True, shard=shard,
                            selected_methods=["m1", "m2"], environment={"cpu": cpu, "versions": {}})
    document["results"] = records
    document["cases"] = {r["case"]: {} for r in records}
    return document


def _record(case: str, method: str) -> dict:
    return {"case": case, "method": method, "dtype": "float64", "status": "agree"}


def test_merge_orders_as_one_run_and_refuses_a_pair_twice():
    a = _part("1/2", [_record("c2", "m1"), _record("c1", "m2")])
    b = _part("2/2", [_record("c1", "m1")])
    merged, _ = merge([("a", a, {}), ("b", b, {})])
    assert [(r["case"], r["method"]) for r in merged["results"]] == [("c2", "m1"), ("c1", "m1"), ("c1", "m2")]
    assert merged["options"]["command"] == "merge" and merged["options"]["merged_from"] == ["a", "b"]
    with pytest.raises(DocumentError, match="also in another part"):
        merge([("a", a, {}), ("a again", a, {})])


def test_merge_puts_whole_case_shards_back_in_the_order_of_one_run():
    # `run --shard` parts hold whole cases, balanced, not in library order: each summary keeps its position.
    a = _part("1/2", [_record("c3", "m1"), _record("c1", "m1")])
    b = _part("2/2", [_record("c2", "m1"), _record("c2", "m2")])
    for part in (a, b):
        sort_like(part, ["c1", "c2", "c3"])
    assert [s["position"] for s in a["cases"].values()] == [0, 2]
    merged, _ = merge([("a", a, {}), ("b", b, {})])
    assert list(merged["cases"]) == ["c1", "c2", "c3"]
    assert [(r["case"], r["method"]) for r in merged["results"]] == [("c1", "m1"), ("c2", "m1"), ("c2", "m2"),
                                                                       ("c3", "m1")]


def test_merge_refuses_parts_of_another_machine_unless_allowed():
    a, b = _part("1/2", [_record("c1", "m1")]), _part("2/2", [_record("c1", "m2")], cpu="cpu B")
    with pytest.raises(DocumentError, match="not a part of the same run"):
        merge([("a", a, {}), ("b", b, {})])
    merged, _ = merge([("a", a, {}), ("b", b, {})], allow_different_machines=True)
    assert merged["environment"]["cpu"] == "2 machines"
