"""README's commands still parse, and its sample output is what the tool prints (benchmarks/readme_samples.py
writes it from a real run)."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from jacobian_harness.cli import UsageError, build_parser
from jacobian_harness.records import VERDICTS

README = Path(__file__).resolve().parent.parent / "README.md"
sys.path.insert(0, str(README.parent / "benchmarks"))
from readme_samples import BLOCK  # noqa: E402


def _commands() -> list[str]:
    """Every `jacobian-harness ...` command in README: in its shell code blocks (one per line, comments cut)
    and in its inline code."""
    text = README.read_text()
    found = [span for span in re.findall(r"`(jacobian-harness [^`]+)`", text) if "..." not in span]
    fence = None
    for line in text.splitlines():
        if line.startswith("```"):
            fence = None if fence is not None else line[3:].strip()
            continue
        if fence not in ("", "bash"):
            continue
        line = line.split("  #", 1)[0].strip().removeprefix("$ ")
        for part in re.split(r"&&|\|", line):
            part = part.strip()
            if part.startswith("jacobian-harness "):
                found.append(part)
    return found


def test_readme_documents_commands():
    assert len(_commands()) >= 5


@pytest.mark.parametrize("command", _commands())
def test_every_documented_command_parses(command):
    words = shlex.split(command)[1:]
    if len(words) == 1 and words[0] in ("compare", "merge", "ab", "sweep", "report"):
        return  # the name of a command that takes arguments, as prose mentions it
    try:
        build_parser().parse_args(words)
    except UsageError as exc:
        pytest.fail(f"README's `{command}` no longer parses: {exc}")


def _sample() -> tuple[str, str]:
    block = next(BLOCK.finditer(README.read_text()))
    return block["command"], block["body"]


def _verdict_words(text: str) -> set[str]:
    line = next(line for line in text.splitlines() if line.startswith("Verdicts: "))
    return {word.split(" ", 1)[1] for word in line.removeprefix("Verdicts: ").split(", ")}


def test_the_sample_uses_the_verdict_names_the_tool_prints():
    _, body = _sample()
    assert _verdict_words(body) <= set(VERDICTS)
    statuses = {line.split()[1] for line in body.splitlines() if line.startswith("    ") and len(line.split()) > 2}
    assert statuses <= set(VERDICTS)


@pytest.mark.slow
def test_the_sample_matches_a_real_run(tmp_path):
    command, body = _sample()
    program, *words = shlex.split(command)
    # The interpreter's own script: the test must not depend on an activated environment (PATH).
    script = Path(sys.executable).parent / program
    result = subprocess.run([str(script), *words, "--out", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    verdicts = [line for line in result.stdout.splitlines() if line.startswith("Verdicts: ")]
    assert verdicts == [line for line in body.splitlines() if line.startswith("Verdicts: ")]

    def case_rows(text):
        lines = text.splitlines()
        start = next(k for k, line in enumerate(lines) if line.startswith("case "))
        rows = []
        for line in lines[start + 1:]:
            if not line.strip():
                break
            rows.append(line.split()[:2])  # the case and its fastest agreeing method's name
        return [case for case, _ in rows]

    assert case_rows(result.stdout) == case_rows(body)


def test_the_example_ci_workflow_commands_parse():
    """The example upgrade workflow (.github/workflows/upgrade-check.yml) calls commands that exist, with its
    matrix values filled in."""
    workflow = (README.parent / ".github" / "workflows" / "upgrade-check.yml").read_text()
    workflow = workflow.replace("\\\n", " ")
    values = {"matrix.pack": "opinfo", "matrix.shard": "1", "env.SHARDS": "4", "matrix.side": "new"}
    shell = {"SHARDS": "4", "pack": "opinfo", "side": "new", "(nproc)": "4"}  # what the shell would expand
    commands = []
    for line in workflow.splitlines():
        if "jacobian-harness " not in line or line.strip().startswith("#"):
            continue
        line = re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", lambda m: values[m.group(1)], line)
        line = re.sub(r"\$(\w+|\(nproc\))", lambda m: shell[m.group(1)], line)
        command = line[line.index("jacobian-harness "):].split("||")[0].strip()
        commands.append(command)
    assert {shlex.split(c)[1] for c in commands} == {"run", "merge", "compare", "ab"}
    for command in commands:
        words = shlex.split(command)[1:]
        try:
            build_parser().parse_args(words)
        except UsageError as exc:
            pytest.fail(f"the workflow's `{command}` does not parse: {exc}")
