"""Check a user's own function in every Jacobian method, from Python: `harness.check(fn, *inputs)`.

`fn` is one of three kinds:
- "xp": `fn(xp, *inputs)` written against an array namespace, like the library's cases: it runs in every
  backend (torch, JAX, HIPS autograd, NumPy for finite differences);
- "torch" or "jax": `fn(*inputs)` on that framework's arrays: it runs in that framework's methods, and
  finite differences call it through conversions to and from NumPy, as an independent reference.
The kind is "xp" when fn's first parameter is named `xp`, else the kind given, else "torch".
"""

from __future__ import annotations

import inspect
import itertools
from dataclasses import dataclass, field

import numpy as np

from jacobian_harness import casedef
from jacobian_harness.adapters.base import BACKENDS, METHODS, load_adapters
from jacobian_harness.casedef import Case
from jacobian_harness.records import FAILING, Record, TimeRecord
from jacobian_harness.run_schema import RunDocument
from jacobian_harness.evaluate import Options
from jacobian_harness.timing import QUICK, TimingPolicy

_counter = itertools.count()


@dataclass(frozen=True)
class Choice:
    """The answer to "which method": a method, what one warm call costs and what its preparation costs."""

    method: str
    median_s: float
    prepare_s: float | None
    calls: int | None  # None: ranked by warm calls only (preparation paid once for very many calls)
    cost_s: float      # what `calls` Jacobians cost with it, preparation included (the median if calls is None)
    record: Record = field(repr=False, compare=False)

    def __str__(self) -> str:
        from jacobian_harness.render.formatting import format_seconds

        prepared = "" if self.prepare_s is None else f", preparation {format_seconds(self.prepare_s)}"
        text = f"{self.method}: {format_seconds(self.median_s)} per call{prepared}"
        if self.calls is not None:
            text += f"; {self.calls} call{'s' if self.calls > 1 else ''} in {format_seconds(self.cost_s)}"
        return text


@dataclass
class CheckResult:
    """Every method's record on one function; prints as a table, converts to a results document."""

    case_id: str
    records: list[Record]
    reference: str
    jacobians: dict[str, list[np.ndarray]] = field(default_factory=dict, repr=False)
    options: Options = field(default_factory=Options, repr=False)

    @property
    def failures(self) -> list[Record]:
        return [r for r in self.records if r["status"] in FAILING]

    @property
    def ok(self) -> bool:
        return not self.failures and any(r["status"] == "agree" for r in self.records)

    @property
    def fastest(self) -> Choice | None:
        """The agreeing AD method with the fastest warm call (preparation paid once for many calls)."""
        return self.fastest_for(None)

    def fastest_for(self, calls: int | None) -> Choice | None:
        """The agreeing AD method that computes `calls` Jacobians of this function soonest, its
        preparation (tracing, compilation, the first call) included; None: by warm calls only."""
        from jacobian_harness.records import fastest_agreeing
        from jacobian_harness.timing import cost_of_calls_s

        if calls is not None and calls < 1:
            raise ValueError(f"calls must be at least 1, not {calls}")
        best = next(iter(fastest_agreeing(self.records, calls).values()), None)
        if best is None:
            return None
        # fastest_agreeing keeps only records whose time gives a cost for `calls`: a median, and preparation
        time, cost = best.get("time") or TimeRecord(), cost_of_calls_s(best.get("time"), calls)
        median = time.get("median_s")
        assert median is not None and cost is not None
        return Choice(best["method"], median, time.get("prepare_s"), calls, cost, best)

    def __str__(self) -> str:
        from jacobian_harness.render.formatting import format_seconds

        width = max(len(r["method"]) for r in self.records) if self.records else 6
        lines = [f"{self.case_id}: reference {self.reference}",
                 f"{'method':{width}}  {'verdict':19} {'max rel err':>11} {'median':>10}  message"]
        for r in self.records:
            error = r.get("max_rel_err")
            message = r.get("message", "")
            lines.append(f"{r['method']:{width}}  {r['status']:19} "
                         f"{'' if error is None else f'{error:.2g}':>11} "
                         f"{format_seconds((r.get('time') or {}).get('median_s')):>10}  "
                         f"{message if len(message) <= 80 else message[:79] + '…'}")
        # Messages are what the user acts on: each distinct failure in full, once.
        for message in dict.fromkeys(r["message"] for r in self.failures if len(r.get("message", "")) > 80):
            methods = [r["method"] for r in self.failures if r["message"] == message]
            lines.append(f"{methods[0]}{f' (and {len(methods) - 1} more)' if len(methods) > 1 else ''}: {message}")
        for calls in (None, 1):
            choice = self.fastest_for(calls)
            if choice is not None:
                lines.append(f"fastest {'per call' if calls is None else 'for one call'}: {choice}")
        return "\n".join(lines)

    def to_results(self) -> RunDocument:
        """A run document (harness.document's schema, options.command "check"), e.g. for
        `results.write_json`; `jacobian-harness report` and `compare` read it."""
        from jacobian_harness.document import new_document

        document = new_document("check", self.options, dtype=self.options.dtype, quick=False,
                                selected_methods=[r["method"] for r in self.records])
        document["cases"][self.case_id] = {"description": "harness.check", "source": "harness.check"}
        document["results"] = [r.copy() for r in self.records]
        return document


def check(fn, *inputs, kind: str | None = None, backends=None, methods=None, dtype: str = "float64",
          timing: TimingPolicy = QUICK, wrt=None, tolerances=None, name: str | None = None,
          per_sample: bool = False) -> CheckResult:
    """Every available Jacobian method (of `backends`, or matching the shell-style `methods` patterns) on
    fn at `inputs` (NumPy arrays or anything np.asarray takes), judged against one reference the way
    the library's cases are: an agreeing majority of frameworks, finite differences breaking ties.
    `per_sample`: fn maps a batch (first axis) sample by sample, and the per-sample Jacobians
    (batch, *out, *in) are wanted, as the library's per-sample cases do (vmap'd methods, batch_jacobian).
    The result's `fastest` and `fastest_for(calls)` say which method to use."""
    from jacobian_harness.runner import run_case, select

    load_adapters()
    kind = _kind(fn, kind)
    arrays = tuple(np.asarray(a) for a in inputs)
    case = Case(id=f"check.{name or getattr(fn, '__name__', 'fn')}.{next(_counter)}", fn=_xp_function(fn, kind),
                inputs=arrays, wrt=None if wrt is None else tuple(wrt), tolerances=dict(tolerances or {}),
                source="harness.check", impls=_impls(fn, kind), per_sample=per_sample)
    usable = {"fd", *(BACKENDS if kind == "xp" else (kind,))}
    wanted = set(backends) if backends is not None else usable
    unknown = wanted - set(BACKENDS)
    if unknown:
        raise ValueError(f"unknown backend {sorted(unknown)[0]!r}; known: {', '.join(sorted(BACKENDS))}")
    # Patterns are checked against every method (a typo is an error), then kept to those that can run fn.
    chosen = set(select(METHODS, list(methods) if methods else None, "methods"))
    method_ids = [m for m, spec in METHODS.items()
                  if m in chosen and spec.backend in wanted & usable and spec.order == 1]
    casedef.CASES[case.id] = case
    options = Options(dtype=dtype, timing=timing)
    try:
        result = run_case(case.id, method_ids, options)
    finally:
        del casedef.CASES[case.id]
    reference = next((r["reference"] for r in result.records if r.get("reference")), "none")
    return CheckResult(case.id, result.records, reference,
                       {method: blocks for (method, _), blocks in result.jacobians.items()}, options)


def _kind(fn, kind: str | None) -> str:
    if kind is not None:
        if kind != "xp" and kind not in BACKENDS:
            raise ValueError(f"kind must be 'xp' or a backend ({', '.join(sorted(BACKENDS))}), not {kind!r}")
        return kind
    try:
        first = next(iter(inspect.signature(fn).parameters), None)
    except (TypeError, ValueError):  # builtins without a signature
        first = None
    return "xp" if first == "xp" else "torch"


def _xp_function(fn, kind: str):
    if kind == "xp":
        return fn

    def only_in_its_framework(xp, *args):
        raise TypeError(f"this function takes {kind} arrays; it runs only in {kind} methods and finite differences")

    return only_in_its_framework


def _impls(fn, kind: str) -> dict:
    """A framework function runs as itself in its backend, and through conversions for finite differences."""
    if kind == "xp":
        return {}
    backend = BACKENDS[kind]

    def through_numpy(*arrays):
        lib = backend.load()
        dtype = next((str(a.dtype) for a in arrays if a.dtype.kind == "f"), "float64")
        return np.asarray(backend.to_numpy(lib, fn(*[backend.asarray(lib, a, dtype) for a in arrays])))

    return {kind: fn, "fd": through_numpy}
