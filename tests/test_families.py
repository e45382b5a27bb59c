"""jacobian_harness.families: the registry of operator families, and the built-in library's families."""

import jacobian_harness.casedef as hc
from jacobian_harness.families import FAMILIES, family_of, register_family

hc.load_library()


def test_a_case_is_of_its_declared_family_else_of_the_first_family_whose_glob_its_id_matches(monkeypatch):
    monkeypatch.setattr("jacobian_harness.families.FAMILIES", {})
    register_family("det", "op.det*")
    register_family("det", "opinfo.linalg.slogdet.*")  # a second registration adds globs
    register_family("linalg", "op.*")
    assert family_of("op.det-singular") == family_of("opinfo.linalg.slogdet.s3") == "det"
    assert family_of("op.inv") == "linalg"
    assert family_of("op.det", declared="mine") == "mine"
    assert family_of("elementwise.sin") == ""


def test_the_built_in_library_groups_the_det_family_and_leaves_a_workload_without_det_out():
    assert {"det", "solve", "norm", "softmax"} <= set(FAMILIES)
    assert {family_of(c) for c in ("op.det", "op.det-singular", "op.slogdet", "opinfo.linalg.det.s0",
                                   "opinfo.logdet.s2")} == {"det"}
    # gradbench.det computes det by minors, through no det rule: not of the family.
    assert family_of("gradbench.det") == "" and family_of("op.solve") == "solve"


def test_a_run_document_records_each_case_s_family():
    from jacobian_harness.document import case_summary

    assert case_summary(hc.CASES["op.slogdet"])["family"] == "det"
    assert case_summary(hc.CASES["elementwise.sin"])["family"] == ""


def test_a_case_file_s_case_names_its_own_family():
    import numpy as np

    from jacobian_harness.document import case_summary

    def mine(xp, x):
        return xp.sin(x)

    declared = hc.make_case(mine, id="mine.sin", inputs=(np.ones(3),), family="trig")
    assert declared.family == "trig" and case_summary(declared)["family"] == "trig"
    assert case_summary(hc.make_case(mine, id="op.det-mine", inputs=(np.ones(3),)))["family"] == ""
