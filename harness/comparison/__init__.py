"""What changed between two runs, BASE and NEW, per (case, method, dtype): one module per subject.

- correctness.py  verdict changes: regressions, fixes, other changes, divergences that changed form as declared
- values.py       numerics: the saved Jacobians that moved, within tolerance (touched) or beyond it (drift)
- speed.py        speed verdicts per pair, per case, per library method and per operator family (harness.stats:
                  the statistics)
- confirm.py      `ab`'s second stage: the screen's candidates, judged on their confirmation rounds
- runs.py         `compare_runs`, which composes them into the comparison document
- document.py     the comparison document (compare.json): its typed fields, schema version and loader
"""

from __future__ import annotations

from jacobian_harness.comparison.document import (KIND, SCHEMA_VERSION, Comparison, ComparisonError, Settings,
                                                  load_comparison)
from jacobian_harness.comparison.runs import compare_runs, environment_warnings

__all__ = ["KIND", "SCHEMA_VERSION", "Comparison", "ComparisonError", "Settings", "compare_runs",
           "environment_warnings", "load_comparison"]
