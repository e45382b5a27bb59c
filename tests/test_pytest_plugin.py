"""The pytest plugin, run in a fresh pytest (pytester): collection, ids, strict xfails, skips, xdist."""

import pytest

pytest_plugins = ["pytester"]

FIXED_CONVENTION = '''
import numpy as np
from jacobian_harness import Divergence, case


@case(id="mine.square", inputs=(np.array([1.0, 2.0]),), analytic=lambda x: np.diag(2 * x))
def square(xp, x):
    return x * x


@case(id="mine.stale", inputs=(np.array([1.0, 2.0]),), analytic=lambda x: np.diag(2 * x),
      divergences=[Divergence(methods=("torch.func.jacrev",), kind="bug", reason="claimed, but fixed long ago")])
def stale(xp, x):
    return x * x
'''


@pytest.fixture
def case_file(pytester):
    return pytester.makepyfile(my_cases=FIXED_CONVENTION)


def test_cases_become_one_test_per_method_with_readable_ids(pytester, case_file):
    result = pytester.runpytest_subprocess("--jacobian-cases", "mine.square", "--jacobian-case-file",
                                           str(case_file), "--jacobian-methods", "torch.func.*",
                                           "--jacobian-methods", "fd.central", "-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["mine.square?fd.central? PASSED*", "mine.square?torch.func.jacrev? PASSED*"])


def test_a_declared_divergence_that_no_longer_occurs_fails_as_a_strict_xfail(pytester, case_file):
    result = pytester.runpytest_subprocess("--jacobian-cases", "mine.stale", "--jacobian-case-file", str(case_file),
                                           "--jacobian-methods", "torch.func.jacrev", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*XPASS(strict)*claimed, but fixed long ago*"])


def test_a_library_bug_is_an_xfail_with_its_reason(pytester):
    result = pytester.runpytest_subprocess("--jacobian-cases", "seed.linear", "--jacobian-methods",
                                           "torch.autograd.functional.jacobian*", "-rx", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, xfailed=1)
    result.stdout.fnmatch_lines(["*XFAIL*forward-mode*"])


def test_an_unknown_pattern_is_a_usage_error(pytester):
    result = pytester.runpytest_subprocess("--jacobian-cases", "nothing.*", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--cases pattern 'nothing.*' matches no case*"])


def test_without_the_option_nothing_is_collected(pytester):
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


@pytest.mark.slow
def test_xdist_runs_the_same_collection(pytester):
    result = pytester.runpytest_subprocess("--jacobian-cases", "seed.linear", "--jacobian-methods", "torch.func.*",
                                           "-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
