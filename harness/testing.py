"""For users' own test suites: `assert_jacobians_agree(fn, *inputs)`, like torch.autograd.gradcheck but
across every Jacobian method (and framework, where fn is written against `xp`)."""

from __future__ import annotations

from jacobian_harness.api import check

__all__ = ["assert_jacobians_agree"]


def assert_jacobians_agree(fn, *inputs, **options) -> None:
    """Raise AssertionError naming each method that disagrees, with its worst element and both values,
    if any method's Jacobian of fn at `inputs` differs from the reference (or none could be formed).
    Options are harness.check's (kind, backends, methods, dtype, wrt, tolerances, ...)."""
    result = check(fn, *inputs, **options)
    if result.ok:
        return
    lines = [f"Jacobians of {getattr(fn, '__name__', 'fn')} disagree (reference: {result.reference}):"]
    for record in result.failures:
        worst = record.get("worst") or {}
        where = f" at {tuple(index)}" if (index := record.get("worst_index")) else ""
        detail = (f": got {worst['got']!r}, reference {worst['expected']!r}" if "got" in worst
                  else f": {record.get('message', '')}")
        lines.append(f"  {record['method']}: {record['status']}{where}{detail}")
    if not result.failures:
        lines.append("  no method agreed with a reference: " + "; ".join(
            f"{r['method']}: {r['status']} {r.get('message', '')}"[:120] for r in result.records))
    raise AssertionError("\n".join(lines))
