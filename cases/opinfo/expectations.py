"""What torch's own gradient tests expect of an op on the CPU in float64, read from its OpInfo's decorators:
for each method mode, the matching test of test/test_ops_gradients.py / test_ops_fwd_gradients.py and whether
op_db runs it, marks it as an expected failure or skips it. A report sets this beside the harness's verdict,
so that a maintainer tells "torch knows" from "torch's tests pass, yet the Jacobian is wrong"."""

from __future__ import annotations

import torch

# Method mode -> (test class, test name, the OpInfo flag that enables the test). Forward-over-forward and
# reverse-over-forward have no test in torch's suite.
TESTS = {
    "reverse": ("TestBwdGradients", "test_fn_grad", "supports_autograd"),
    "forward": ("TestFwdGradients", "test_forward_mode_AD", "supports_forward_ad"),
    "check": ("TestFwdGradients", "test_forward_mode_AD", "supports_forward_ad"),
    "reverse-over-reverse": ("TestBwdGradients", "test_fn_gradgrad", "supports_gradgrad"),
    "forward-over-reverse": ("TestFwdGradients", "test_fn_fwgrad_bwgrad", "supports_fwgrad_bwgrad"),
}
UNTESTED = ("forward-over-forward", "reverse-over-forward")


def _decorations(op):
    seen = []
    for info in list(getattr(op, "decorators", ()) or ()) + list(getattr(op, "skips", ()) or ()):
        if info not in seen and hasattr(info, "is_active"):
            seen.append(info)
    return seen


def _active(info, cls_name: str, test_name: str) -> bool:
    try:
        return bool(info.is_active(cls_name, test_name, "cpu", torch.float64, {}))
    except TypeError:  # older signature, without param_kwargs
        return bool(info.is_active(cls_name, test_name, "cpu", torch.float64))


def _kind(decorator) -> str | None:
    name = getattr(decorator, "__qualname__", type(decorator).__name__)
    if name == "expectedFailure":
        return "expected failure"
    if name == "skip" or name.startswith("skip.<locals>"):
        return "skipped"
    return None  # tolerance overrides, slow-test marks, device conditions that do not apply on the CPU


def torch_expectations(op) -> dict[str, str]:
    """mode -> "<test>: runs" / "<test>: expected failure" / "<test>: skipped" / "<test>: not run (op declares
    no <flag>)" / "no test in torch's suite"."""
    expectations = {}
    for mode, (cls_name, test_name, flag) in TESTS.items():
        if not getattr(op, flag, False):
            expectations[mode] = f"{test_name}: not run (the op declares no {flag})"
            continue
        state = "runs"
        for info in _decorations(op):
            if not info.test_name or info.test_name != test_name or not _active(info, cls_name, test_name):
                continue
            kinds = [k for k in map(_kind, info.decorators) if k]
            if kinds:
                state = kinds[0]
                break
        expectations[mode] = f"{test_name}: {state}"
    for mode in UNTESTED:
        expectations[mode] = "no test in torch's suite"
    return expectations
