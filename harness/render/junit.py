"""JUnit XML of a run, for CI systems that show test results."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from xml.etree import ElementTree as ET

from jacobian_harness.records import FAILING, NOT_RUN


def render_junit(document: Mapping[str, Any]) -> bytes:
    """JUnit XML of a run: one test per (case, method, dtype); failing verdicts fail, unsupported and
    unavailable are skipped, an expected divergence passes with its reason as output."""
    records = document["results"]
    suite = ET.Element("testsuite", name="jacobian-harness", tests=str(len(records)),
                       failures=str(sum(r["status"] in FAILING for r in records)),
                       skipped=str(sum(r["status"] in NOT_RUN for r in records)))
    for r in records:
        seconds = (r.get("wall_s") if isinstance(r.get("wall_s"), (int, float)) else 0) or 0
        test = ET.SubElement(suite, "testcase", classname=r["case"], name=f"{r['method']}[{r['dtype']}]",
                             time=f"{seconds:.3f}")
        message = r.get("message", "") or ""
        if r["status"] in FAILING:
            failure = ET.SubElement(test, "failure", message=f"{r['status']}: {message}"[:500], type=r["status"])
            failure.text = message
        elif r["status"] in NOT_RUN:
            ET.SubElement(test, "skipped", message=f"{r['status']}: {message}"[:500])
        elif r["status"] == "expected-divergence":
            ET.SubElement(test, "system-out").text = f"expected divergence: {message}"
    return ET.tostring(suite, encoding="utf-8", xml_declaration=True)
