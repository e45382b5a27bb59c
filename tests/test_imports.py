"""The import graph of harness/ and cases/, read from the source (function-level imports included): no
circles, harness never imports the case library (it loads through entry points), and a framework is
imported only by its adapter."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Each directory of the layout and the import name it installs as (pyproject.toml's package-dir).
PACKAGES = {"harness": "jacobian_harness", "cases": "jacobian_harness.cases"}
LIBRARY = PACKAGES["cases"]


def _frameworks() -> dict[str, str]:
    """A framework module and the one harness module allowed to import it, its adapter (the rest ask the
    adapter): every registered backend but finite differences, whose NumPy everything may use."""
    from jacobian_harness.adapters import BACKENDS, load_adapters

    load_adapters()
    return {backend.import_name: type(backend).__module__ for backend in BACKENDS.values() if backend.extra}


def _module_name(path: Path) -> str:
    directory, *parts = path.relative_to(ROOT).with_suffix("").parts
    parts = parts[:-1] if parts[-1] == "__init__" else parts
    return ".".join([PACKAGES[directory], *parts])


def _imports(path: Path, modules: frozenset[str] = frozenset()) -> set[str]:
    """Every module named by an import statement anywhere in the file (relative imports resolved); `from
    a import b` names a.b where that is one of `modules`, else a."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return found


def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}
    graph = {}
    for name, path in files.items():
        graph[name] = {target for target in _imports(path, frozenset(files)) if target in files and target != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_graph_is_read_from_the_source():
    graph = _graph()
    assert "jacobian_harness.casedef" in graph["jacobian_harness.cases._common"]
    assert "jacobian_harness.adapters.base" in graph["jacobian_harness.adapters.torch"]


def test_there_is_no_import_circle():
    cycle = _cycle(_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_harness_never_imports_the_case_library():
    def in_library(name):
        return name == LIBRARY or name.startswith(LIBRARY + ".")

    offenders = {name: sorted(t for t in targets if in_library(t))
                 for name, targets in _graph().items() if not in_library(name)}
    assert not {name: t for name, t in offenders.items() if t}


def test_a_framework_is_imported_only_by_its_adapter():
    frameworks = _frameworks()
    assert {"torch", "jax", "autograd", "tensorflow"} <= set(frameworks)
    offenders = []
    for path in (ROOT / "harness").rglob("*.py"):
        name = _module_name(path)
        for target in _imports(path):
            owner = frameworks.get(target.split(".")[0])
            if owner and name != owner:
                offenders.append(f"{name} imports {target}")
    assert not offenders
