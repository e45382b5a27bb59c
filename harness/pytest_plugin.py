"""pytest plugin (entry point `pytest11`): `pytest --jacobian-cases PATTERN` collects library cases as tests.

One test per (case, method), with ids like `seed.linear[torch.func.jacrev]`. A declared divergence is a
strict xfail with its reason, so that a release that fixes a known bug (or changes a convention) fails the
suite until the declaration is updated. A method that cannot run the case here (unsupported, framework
not installed, over the memory limit) is skipped with the reason. Works under pytest-xdist (`-n auto`):
collection is deterministic. Kept light: nothing heavy is imported unless the option is given.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # nothing of ours is imported when the plugin loads, only when an option is used
    from jacobian_harness.records import Record


def pytest_addoption(parser):
    group = parser.getgroup("jacobian-harness")
    group.addoption("--jacobian-cases", action="append", default=[], metavar="PATTERN",
                    help="collect the jacobian-harness cases matching this shell-style pattern (repeatable)")
    group.addoption("--jacobian-methods", action="append", default=[], metavar="PATTERN",
                    help="only the methods matching this pattern (repeatable; default: all)")
    group.addoption("--jacobian-case-file", action="append", default=[], metavar="FILE",
                    help="also load the @case definitions of this file (repeatable)")
    group.addoption("--jacobian-pack", action="append", default=[], metavar="NAME",
                    help="the case packs to collect from (repeatable; default: builtin; 'opinfo', 'all', ...)")
    group.addoption("--jacobian-dtype", default="float64", choices=("float64", "float32"))


def pytest_collection_modifyitems(session, config, items):
    patterns = config.getoption("jacobian_cases")
    if not patterns:
        return
    from jacobian_harness.adapters.base import BACKENDS, METHODS, load_adapters
    from jacobian_harness.casedef import CASES, load_case_file, load_library
    from jacobian_harness.runner import SelectionError, plan_pairs, select

    load_library(config.getoption("jacobian_pack") or ["builtin"])
    for path in config.getoption("jacobian_case_file"):
        load_case_file(path)
    load_adapters()
    try:
        case_ids = select(CASES, patterns, "cases")
        method_ids = select(METHODS, config.getoption("jacobian_methods") or None, "methods")
    except SelectionError as exc:
        raise pytest.UsageError(str(exc)) from None
    dtype = config.getoption("jacobian_dtype")
    named = bool(config.getoption("jacobian_methods"))
    for case_id, methods in plan_pairs(case_ids, method_ids, named=named).items():
        for method_id in methods:
            test_id = f"{case_id}[{method_id}]"
            item = JacobianItem.from_parent(session, name=test_id, nodeid=test_id, case_id=case_id,
                                            method_id=method_id, dtype=dtype)
            declared = CASES[case_id].divergence_for(method_id, BACKENDS[METHODS[method_id].backend].version())
            if declared is not None:
                item.add_marker(pytest.mark.xfail(reason=declared.describe(), strict=True))
            items.append(item)


class JacobianItem(pytest.Item):
    def __init__(self, *, case_id: str, method_id: str, dtype: str, **kwargs):
        super().__init__(**kwargs)
        self.case_id, self.method_id, self.dtype = case_id, method_id, dtype

    def runtest(self):
        from jacobian_harness.records import FAILING, NOT_RUN

        record = _judge(self.case_id, self.method_id, self.dtype)
        status, message = record["status"], record.get("message", "")
        if status in NOT_RUN:
            pytest.skip(f"{status}: {message}")
        if status == "unexpected-agree":
            return  # the declared divergence did not occur: passing under a strict xfail fails the suite
        if status == "expected-divergence" or status in FAILING:
            # Under its strict xfail, an expected divergence must fail here to count as expected.
            raise JacobianMismatch(f"{self.case_id} / {self.method_id}: {status}: {message}")

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, JacobianMismatch):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        # No domain: pytest would print the dots of a case id as "::", taking it for Class.method.
        return self.path, None, ""


class JacobianMismatch(AssertionError):
    """A method's Jacobian was judged failing (or, declared, diverged as expected)."""


def _judge(case_id: str, method_id: str, dtype: str) -> Record:
    from jacobian_harness.evaluate import Options
    from jacobian_harness.runner import run_case
    from jacobian_harness.timing import ONCE

    result = run_case(case_id, [method_id], Options(dtype=dtype, timing=ONCE), evaluate=_evaluate_once)
    return result.records[0]


@functools.lru_cache(maxsize=256)
def _cached(case_id: str, method_id: str, options):
    from jacobian_harness.evaluate import evaluate

    return evaluate(case_id, method_id, options)


def _evaluate_once(case_id, method_id, options):
    # The reference methods of a case run once per process, not once per test of that case.
    return _cached(case_id, method_id, options)
