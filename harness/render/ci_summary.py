"""The CI job summary (GitHub Actions' $GITHUB_STEP_SUMMARY): a markdown report's head and its failures."""

from __future__ import annotations

import os

def step_summary(text: str) -> str:
    """The part of a markdown report worth a CI job summary: the title and counts, failures first."""
    head, _, rest = text.partition("\n## ")
    failures = ""
    for section in ("Failures", "Correctness regressions", "Numerics drift", "Slower"):
        marker = f"## {section}"
        if marker in text:
            failures += marker + text.split(marker, 1)[1].split("\n## ", 1)[0] + "\n"
    return head.rstrip() + "\n\n" + failures


def append_step_summary(text: str) -> None:
    """Add a report's summary to the CI job summary, when $GITHUB_STEP_SUMMARY names a file."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(step_summary(text) + "\n")
