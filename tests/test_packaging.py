"""What the package installs, seen from a user's project: one import name (`jacobian_harness`), no top-level
`harness` or `cases` module to collide with the project's own, and a pytest plugin that imports nothing of ours
until one of its options is used."""

import subprocess
import sys
import textwrap

import pytest

# A user's project with its own top-level harness.py and cases.py, and a test that checks they are the ones
# imported, that the plugin had loaded nothing of ours beyond itself before one of its options was acted on
# (conftest.py is imported before collection), and that the API still works beside them.
USER_MODULES = {
    "harness.py": "WHOSE = 'the user'\n",
    "cases.py": "WHOSE = 'the user'\n",
    "conftest.py": textwrap.dedent('''
        import sys

        OURS_BEFORE_COLLECTION = sorted(name for name in sys.modules if name.startswith("jacobian_harness"))
    '''),
    "test_mine.py": textwrap.dedent('''
        import numpy as np

        import cases
        import harness
        from conftest import OURS_BEFORE_COLLECTION


        def test_the_projects_own_modules_are_imported():
            assert harness.WHOSE == cases.WHOSE == "the user"


        def test_the_plugin_had_imported_nothing_else_of_ours():
            assert OURS_BEFORE_COLLECTION == ["jacobian_harness", "jacobian_harness.pytest_plugin"]


        def test_the_api_works_beside_them():
            import jacobian_harness

            result = jacobian_harness.check(lambda xp, x: xp.sin(x), np.linspace(-1.0, 1.0, 3),
                                            methods=["fd.central", "torch.func.jacrev"])
            assert result.ok, str(result)
    '''),
}


@pytest.fixture
def user_project(tmp_path):
    for name, text in USER_MODULES.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def _pytest(project, *args):
    # -p no:cacheprovider: nothing written into the project; the project's directory first on sys.path, as
    # `python -m pytest` puts it for a user.
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", *args],
                          cwd=project, capture_output=True, text=True, timeout=600)


def test_a_project_with_its_own_harness_and_cases_modules_runs_its_tests_and_the_plugins(user_project):
    # One pytest run for both (each costs the frameworks' imports): the project's own tests, and a library case
    # collected by the plugin, which must come from our library, not from the project's cases.py.
    result = _pytest(user_project, "-v", "--jacobian-cases", "seed.linear", "--jacobian-methods",
                     "torch.func.jacrev")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout and "seed.linear[torch.func.jacrev] PASSED" in result.stdout


def test_the_package_installs_no_top_level_harness_or_cases():
    # Run from / so that the repository's own directories are not on sys.path.
    names = subprocess.run([sys.executable, "-c", "import importlib.util as u; "
                            "print(u.find_spec('harness'), u.find_spec('cases'))"],
                           cwd="/", capture_output=True, text=True, check=True).stdout.split()
    assert names == ["None", "None"]
