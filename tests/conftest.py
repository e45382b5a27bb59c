"""Shared fixtures: a private case registry per test, so test cases never leak into other tests; and skips,
with the reason, of tests that need a framework that is not installed (see "optional frameworks" below)."""

import functools
import importlib.util
import os
import tempfile
from pathlib import Path

import pytest

# Imported before any fixture swaps the registry, so that their module-level CASES is the real one
# (monkeypatch restores what it found, which would otherwise be the throwaway dict).
import jacobian_harness.evaluate  # noqa: F401
import jacobian_harness.runner  # noqa: F401
from jacobian_harness import casedef as case_module

# The compile cache of the runs that tests start (harness.caches): the one JACOBIAN_HARNESS_CACHE names (CI
# names one that all its stages share), else one of this machine's test sessions, never the user's own. Set
# at import, in the controlling process, so that xdist's workers and the runs they start inherit it.
os.environ.setdefault("JACOBIAN_HARNESS_CACHE", str(Path(tempfile.gettempdir()) / "jacobian-harness-test-cache"))


@pytest.fixture
def registry(monkeypatch):
    """An empty case registry for the duration of one test."""
    fresh: dict = {}
    monkeypatch.setattr(case_module, "CASES", fresh)
    monkeypatch.setattr("jacobian_harness.runner.CASES", fresh)  # evaluate finds cases through casedef.case_of
    return fresh


# -- optional frameworks: a test that needs one that is not installed skips, naming it ---------------------
#
# `@pytest.mark.requires("jax", "matplotlib")` skips a test unless each name is installed; a name is a
# backend ("jax"), a method id ("jax.jacrev": its backend and the packages it requires) or a package
# ("matplotlib"). A test parametrised over `method_id` requires that method without a marker, so that a
# parametrisation over all methods skips only the params whose framework is missing. A test that runs
# several frameworks together uses the `frameworks` fixture: it keeps what is installed, and expects the
# harness's verdict "unavailable" for the rest. Whether a package is installed is decided without importing it.

# package -> the extra of pyproject.toml that installs it: the backends' own (Backend.extra), and the plots'.
OTHER_EXTRAS = {"matplotlib": "plot"}


@functools.cache
def extras() -> dict[str, str]:
    from jacobian_harness.adapters import BACKENDS, load_adapters

    load_adapters()
    return {**{name: backend.extra for backend in BACKENDS.values() if backend.extra
               for name in (backend.import_name, *backend.packages)}, **OTHER_EXTRAS}


@functools.cache
def _package_found(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def missing_packages(*names: str) -> list[str]:
    """The packages that `names` (backends, method ids, packages) need and that are not installed here."""
    from jacobian_harness.adapters import BACKENDS, METHODS

    missing = []
    for name in names:
        if name in METHODS:
            backend, packages = BACKENDS[METHODS[name].backend], METHODS[name].requires
        elif name in BACKENDS:
            backend, packages = BACKENDS[name], ()
        else:
            backend, packages = None, (name,)
        if backend is not None and not backend.installed():
            missing.append(backend.import_name)
        missing.extend(p for p in packages if not _package_found(p))
    return list(dict.fromkeys(missing))


def skip_reason(missing: list[str]) -> str:
    """E.g. "jax is not installed (pip install -e '.[jax]')"."""
    extras_of = extras()
    extras_needed = list(dict.fromkeys(extras_of[p] for p in missing if p in extras_of))
    hint = f" (pip install -e '.[{','.join(extras_needed)}]')" if extras_needed else ""
    return f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed{hint}"


def pytest_configure(config):
    config.addinivalue_line("markers", "requires(*names): skip unless each backend, method's framework or package "
                                       "is installed (e.g. requires('jax'), requires('matplotlib'))")


def pytest_collection_modifyitems(config, items):
    from jacobian_harness.adapters import METHODS, load_adapters

    load_adapters()
    for item in items:
        names = [name for mark in item.iter_markers("requires") for name in mark.args]
        method_id = getattr(item, "callspec", None) and item.callspec.params.get("method_id")
        if isinstance(method_id, str) and method_id in METHODS:
            names.append(method_id)
        missing = missing_packages(*names)
        if missing:
            item.add_marker(pytest.mark.skip(reason=skip_reason(missing)))


class Frameworks:
    """For a test that runs several frameworks together: what is installed here, and what to expect of the rest."""

    def installed(self, *names: str) -> bool:
        return not missing_packages(*names)

    def require(self, *names: str) -> None:
        """Skip the test here unless each of `names` is installed (the marker, from inside a test)."""
        __tracebackhide__ = True  # the skip is reported at the test's line, not here
        missing = missing_packages(*names)
        if missing:
            pytest.skip(skip_reason(missing))

    def methods(self, method_ids, at_least: int = 1) -> list[str]:
        """Those of `method_ids` whose framework is installed, in order; the test skips if fewer than `at_least`."""
        __tracebackhide__ = True
        method_ids = list(method_ids)
        kept = [m for m in method_ids if self.installed(m)]
        if len(kept) < at_least:
            pytest.skip(skip_reason(missing_packages(*method_ids)))
        return kept

    def expect(self, expected: dict) -> dict:
        """`expected` ({method id, or a tuple holding one: status}) with "unavailable", the harness's verdict on
        a framework that is not installed, for each method whose framework is missing here."""
        from jacobian_harness.adapters import METHODS

        def method_of(key):
            return key if isinstance(key, str) else next(k for k in key if k in METHODS)

        return {key: status if self.installed(method_of(key)) else "unavailable" for key, status in expected.items()}

    def available(self, records: list[dict]) -> list[dict]:
        """The records of methods whose framework is installed; each other record must be "unavailable"."""
        __tracebackhide__ = True
        kept = []
        for record in records:
            if self.installed(record["method"]):
                kept.append(record)
            else:
                assert record["status"] == "unavailable", (record["method"], record["status"], record.get("message"))
        return kept


@pytest.fixture(scope="session")
def frameworks() -> Frameworks:
    return Frameworks()
