"""Regenerate README's sample output from a real run, so that it never drifts from what the tool prints.

    python benchmarks/readme_samples.py          # runs the sample command, rewrites README's sample block

The block sits between `<!-- sample: COMMAND -->` and `<!-- /sample -->`. The command runs with its output
captured, not on a terminal, so its progress is what a log gets (harness/render/progress.py): one line per
case, abridged after the first MAX_PROGRESS_LINES, and the failing pairs; the rest is printed as it came.
The machine's load is printed beside the wall time, for the sentence under the sample. tests/test_readme.py
checks that the sample still matches what the command prints (the same cases and verdict names).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"(<!-- sample: (?P<command>.+?) -->\n)(?P<body>.*?)(<!-- /sample -->)", re.S)


MAX_PROGRESS_LINES = 6


def abridged(command: str, stdout: str, stderr: str, out: str) -> str:
    progress = stderr.splitlines()
    shown = progress[:MAX_PROGRESS_LINES] + ["..."] if len(progress) > MAX_PROGRESS_LINES else progress
    summary = [line for line in stdout.splitlines() if not line.startswith("What the workers printed")]
    text = "\n".join([f"$ {command}", *shown, *summary]).replace(out, "reports/latest")
    return f"```\n{text.rstrip()}\n```\n"


def run(command: str) -> tuple[str, float]:
    with tempfile.TemporaryDirectory() as out:
        argv = shlex.split(command)
        started = time.perf_counter()
        result = subprocess.run([*argv, "--out", out], capture_output=True, text=True)
        wall = time.perf_counter() - started
        if result.returncode not in (0, 1):
            sys.exit(f"{command} failed with exit {result.returncode}:\n{result.stderr[-2000:]}")
        return abridged(command, result.stdout, result.stderr, out), wall


def main() -> int:
    text = README.read_text()
    blocks = list(BLOCK.finditer(text))
    if not blocks:
        sys.exit(f"{README}: no <!-- sample: ... --> block")
    for block in reversed(blocks):
        body, wall = run(block["command"])
        text = text[:block.start("body")] + body + text[block.end("body"):]
        print(f"{block['command']}: {wall:.0f} s wall, load {os.getloadavg()[0]:.1f} after it")
    README.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
