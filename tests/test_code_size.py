"""The size rules of harness/ (a reader takes in a function at a glance and a module in one sitting): no
function over 60 lines and no module over 400. A part that grows past them is split where its subject splits."""

import ast
from pathlib import Path

HARNESS = Path(__file__).resolve().parents[1] / "harness"
MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 400


def _functions(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node.lineno, node.end_lineno - node.lineno + 1


def test_no_function_in_harness_is_over_60_lines():
    long = [f"{path.relative_to(HARNESS.parent)}:{line} {name} ({length} lines)"
            for path in sorted(HARNESS.rglob("*.py")) for name, line, length in _functions(path)
            if length > MAX_FUNCTION_LINES]
    assert not long, "split these: " + "; ".join(long)


def test_no_module_in_harness_is_over_400_lines():
    long = [f"{path.relative_to(HARNESS.parent)} ({n} lines)" for path in sorted(HARNESS.rglob("*.py"))
            if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES]
    assert not long, "split these: " + "; ".join(long)


def test_the_function_measure_counts_a_long_function(tmp_path):
    path = tmp_path / "long.py"
    path.write_text("def f():\n" + "    x = 1\n" * 70)
    assert [length for _, _, length in _functions(path)] == [71]
