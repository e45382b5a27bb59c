"""jacobian_harness.comparison: compare_runs as a whole, the environment warnings, and the comparison
document's typed definition and loader."""

import copy
import json

import pytest

from jacobian_harness.comparison import (KIND, SCHEMA_VERSION, ComparisonError, environment_warnings,
                                         load_comparison)
from jacobian_harness.comparison.document import (CaseSpeed, FamilySpeed, Comparison, ComparisonSettings, LargestChange,
                                                  MethodSpeed, Pair, PairSpeed, Side, Stages, Summary,
                                                  ValueChange)
from jacobian_harness.results import ResultsError, write_json
from synthetic_runs import ab_sides, compare, synthetic_run, two_stage_sides, with_families


def test_identical_runs_change_nothing():
    run = synthetic_run(1)
    result = compare(run, run)
    assert result["summary"]["failed"] is False
    assert result["summary"]["slower"] == result["summary"]["faster"] == result["summary"]["drift"] == 0


def test_environment_differences_other_than_the_library_are_warned():
    base, new = synthetic_run(1)[0], synthetic_run(1, torch_version="2.14.1")[0]
    assert environment_warnings(base, new, "torch") == []
    new["environment"]["versions"]["numpy"] = "2.1"
    new["environment"]["threads"] = 2
    warnings = environment_warnings(base, new, "torch")
    assert any("numpy differs" in w for w in warnings) and any("threads differs" in w for w in warnings)


def _keys(typed_dict) -> set[str]:
    return set(typed_dict.__required_keys__ | typed_dict.__optional_keys__)


def _every_kind_of_comparison() -> list[dict]:
    """Comparisons whose pairs carry every kind of field: drift and touched Jacobians, single-run speed (samples,
    widened) and rounds (paired, Holm-adjusted), cases and methods judged by spread and by rounds."""
    base, new = synthetic_run(1), copy.deepcopy(synthetic_run(1))
    new[1]["case4|jax.jacfwd|float64|0"] = new[1]["case4|jax.jacfwd|float64|0"] + 1e-5
    new[1]["case2|torch.func.jacrev|float64|0"] = new[1]["case2|torch.func.jacrev|float64|0"] * (1 + 1e-12)
    return [compare(base, new), compare(*ab_sides(2, slow_case="case7")),
            compare(*with_families(two_stage_sides(0, slow={("case3", "torch.func.jacfwd"): 3.0})))]


def test_the_typed_definitions_name_every_field_the_comparison_has():
    for comparison in _every_kind_of_comparison():
        assert set(comparison) == _keys(Comparison)
        assert set(comparison["settings"]) == _keys(ComparisonSettings)
        assert set(comparison["base"]) == set(comparison["new"]) == _keys(Side)
        assert set(comparison["summary"]) == _keys(Summary)
        assert len(comparison["summary"]) == 30 and len(comparison["pairs"][0]) == 15
        for pair in comparison["pairs"]:
            assert set(pair) == _keys(Pair)
            for change in (pair["change"], pair["drift"]):
                assert change is None or set(change) == _keys(ValueChange)
            assert pair["speed"] is None or set(pair["speed"]) <= _keys(PairSpeed)
        assert all(set(case) <= _keys(CaseSpeed) for case in comparison["cases"])
        assert all(set(method) <= _keys(MethodSpeed) for method in comparison["methods"])
        assert all(set(family) <= _keys(FamilySpeed) for family in comparison["families"])
    single, ab, two_stages = _every_kind_of_comparison()
    assert set(single["summary"]["largest_change"]) == _keys(LargestChange)
    assert set(two_stages["summary"]["stages"]) == _keys(Stages)
    # Between them the comparisons use every field a speed verdict can have.
    speeds = [p["speed"] for c in (single, ab, two_stages) for p in c["pairs"] if p["speed"]]
    assert set().union(*speeds) == _keys(PairSpeed)
    assert set().union(*ab["cases"], *single["cases"]) == _keys(CaseSpeed)
    assert set().union(*ab["methods"], *single["methods"]) == _keys(MethodSpeed)
    assert set().union(*two_stages["families"]) == _keys(FamilySpeed)


def test_a_saved_comparison_reads_back_through_its_loader(tmp_path):
    comparison = _every_kind_of_comparison()[0]
    write_json(tmp_path / "compare.json", comparison)
    loaded = load_comparison(tmp_path)
    assert loaded == load_comparison(tmp_path / "compare.json") == json.loads(json.dumps(comparison))
    assert loaded["schema_version"] == SCHEMA_VERSION == 1 and loaded["kind"] == KIND


def test_the_loader_says_what_is_wrong_with_a_file_that_is_no_comparison_of_this_version(tmp_path):
    comparison = _every_kind_of_comparison()[0]
    write_json(tmp_path / "compare.json", {**comparison, "schema_version": 2})
    with pytest.raises(ComparisonError, match=r"compare.json: comparison schema_version 2 is not supported "
                                              r"\(this harness reads 1"):
        load_comparison(tmp_path)
    run = {"schema_version": 2, "kind": "jacobian-harness.run", "results": []}
    write_json(tmp_path / "results.json", run)
    with pytest.raises(ComparisonError, match="results.json: a run's results .* not a comparison"):
        load_comparison(tmp_path / "results.json")
    write_json(tmp_path / "other.json", {"kind": "something else"})
    with pytest.raises(ComparisonError, match="not a jacobian-harness comparison"):
        load_comparison(tmp_path / "other.json")
    (tmp_path / "broken.json").write_text('{"kind": ')
    with pytest.raises(ComparisonError, match="not valid JSON"):
        load_comparison(tmp_path / "broken.json")
    with pytest.raises(ComparisonError, match="no such comparison file"):
        load_comparison(tmp_path / "missing")
    assert issubclass(ComparisonError, ResultsError)  # the commands' handling of unreadable files covers it
