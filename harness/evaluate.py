"""The unit of work: one (case, method, dtype) evaluated, timed and returned as plain data.

`evaluate` takes ids and options and returns an Evaluation (a JSON-ready record, the Jacobian blocks
as NumPy arrays, and the function's value). It touches no global state beyond importing the backend,
so a runner may call it in-process, in a worker subprocess or in another Python environment.
"""

from __future__ import annotations

import math
import time
import traceback
import warnings
from dataclasses import dataclass, field, replace

import numpy as np

from jacobian_harness.adapters.base import BACKENDS, BackendUnavailable, Problem, Unsupported, get_method
from jacobian_harness.casedef import Case, case_of
from jacobian_harness.records import Record, new_record
from jacobian_harness.timing import DEFAULT, ONCE, TimingPolicy, measure


@dataclass(frozen=True)
class Options:
    dtype: str = "float64"
    timing: TimingPolicy = DEFAULT
    threads: int = 1
    seed: int | None = None  # None: each case's own seed
    max_memory: int | None = None  # bytes a pair may need (harness.memory's estimate); None: no limit
    size: str | dict = "small"  # the size preset of cases that have them, or explicit factory keywords
    # False: call f once for its value but do not time it (a runner that already timed f the way this
    # method runs it fills in f_time_s and the J/f ratio itself).
    time_f: bool = True
    # Move every differentiated input by this fraction of max(1, |x|), along a fixed pattern of signs: the
    # comparator's smoothness probe (harness.verdicts.PROBE_MOVE). 0: the case's own point.
    moved: float = 0.0


@dataclass
class Evaluation:
    record: Record
    jacobian: list[np.ndarray] | None = None
    value: np.ndarray | None = None
    inputs: tuple[np.ndarray, ...] = field(default=(), repr=False)
    problem: Problem | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.record["status"] == "ok"


def evaluate(case_id: str, method_id: str, options: Options = Options()) -> Evaluation:
    # Frameworks warn about fallbacks that explain a slow or odd result: keep them with the record.
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        evaluation = _evaluate(case_id, method_id, options)
    # Everything the pair cost (inputs, f, preparation, sampling, baseline): what a run's length is made of.
    evaluation.record["wall_s"] = round(time.perf_counter() - started, 4)
    messages = list(dict.fromkeys(f"{w.category.__name__}: {str(w.message).strip()[:300]}" for w in caught))
    if messages:
        evaluation.record["warnings"] = messages[:5]
    return evaluation


def _evaluate(case_id: str, method_id: str, options: Options) -> Evaluation:
    case = case_of(case_id)
    method = get_method(method_id)
    backend = BACKENDS[method.backend]
    evaluation = Evaluation(record := _new_record(case_id, method_id, options))
    if case.meta.get("digest"):
        # Which input this process made for the id (a generated pack's sample can differ between two
        # environments, as in `ab`): what a comparison needs to tell "another sample" from "another Jacobian".
        record["sample_digest"] = case.meta["digest"]
    not_here = _does_not_apply(case, method, options.dtype)
    if not_here is not None:
        return _fail(evaluation, *not_here)
    try:
        lib = backend.load()
        for module in method.requires:
            __import__(module)
    except (BackendUnavailable, ImportError) as exc:
        return _fail(evaluation, "unavailable", str(exc))
    backend.set_threads(lib, options.threads)
    stage = "inputs failed: "
    try:
        evaluation.inputs = inputs = moved_inputs(case, case.make_inputs(options.seed, options.size), options.moved)
        stage = "f itself failed: "
        fn, args = _bind(case, backend, lib, inputs, options.dtype)
        value, f_timing = measure(lambda: lambda: fn(*args), lambda v: backend.sync(lib, v),
                                  _f_policy(options.timing) if options.time_f else ONCE)
        _check_returned_array(value, backend.name)
        evaluation.value = backend.to_numpy(lib, value)
        stage = ""  # a mistake in the case, not a failure of f: the message names the case
        _check_output(case, evaluation.value, args)
        problem = Problem(fn=fn, args=args, out_shape=tuple(evaluation.value.shape),
                          row_independent=case.row_independent, per_sample=case.per_sample)
        problem, too_big = _fit_memory(case, method, problem, evaluation.value.dtype.itemsize, options, record)
        if too_big:
            return _fail(evaluation, "skipped", too_big)
        result, timing = measure(lambda: method.build(lib, problem), lambda v: backend.sync(lib, v),
                                 options.timing)
        blocks = [np.asarray(backend.to_numpy(lib, b), dtype=np.float64) for b in _as_tuple(result)]
        evaluation.jacobian = _canonical(case, problem, blocks) if method.quantity == "jacobian" else blocks
        evaluation.problem = problem
    except Exception as exc:  # the method's failure is the result being measured, not a harness fault
        status = backend.classify(exc)
        hint = backend.hint(exc)
        message = f"{stage}{type(exc).__name__}: {_first_line(exc)}" + (f" (what to do: {hint})" if hint else "")
        return _fail(evaluation, status, message, traceback.format_exc() if status == "error" else None)
    record["time"] = timing.as_record()
    if not options.time_f:
        return evaluation
    if method.baseline is not None:
        f_timing = _baseline_timing(method, backend, lib, fn, args, options, record)
    record["f_time_s"] = f_timing.median_s if f_timing else None
    if timing.median_s is not None and f_timing and f_timing.median_s:
        record["ratio"] = timing.median_s / f_timing.median_s
    return evaluation


def _does_not_apply(case: Case, method, dtype: str) -> tuple[str, str] | None:
    """(status, why) where the method cannot run on the case in this dtype; None where it can."""
    if method.order != case.order:
        kinds = {1: "a Jacobian", 2: "a Hessian"}
        return "unsupported", (f"{method.id} computes {kinds[method.order]}; case {case.id!r} asks for "
                               f"{kinds[case.order]}")
    if method.quantity == "second-order" and case.not_twice_differentiable:
        return "skipped", (f"the second-order check does not apply: f is not twice differentiable here "
                           f"({case.not_twice_differentiable})")
    if dtype not in method.dtypes:
        return "unsupported", f"{method.id} runs in {', '.join(method.dtypes)} only"
    return None


def _new_record(case_id: str, method_id: str, options: Options) -> Record:
    method = get_method(method_id)
    return new_record(case_id, method_id, backend=method.backend, mode=method.mode, quantity=method.quantity,
                      dtype=options.dtype, size=options.size, backend_version=BACKENDS[method.backend].version())


def failed_evaluation(case_id: str, method_id: str, options: Options, status: str, message: str) -> Evaluation:
    """The evaluation of a pair that never returned (its worker crashed or timed out)."""
    return _fail(Evaluation(_new_record(case_id, method_id, options)), status, message)


def _baseline_timing(method, backend, lib, fn, args, options, record):
    """Time f the way the method runs it (jitted, compiled); a failure there only drops the J/f ratio."""
    try:
        compiled = method.baseline(lib, fn)
        return measure(lambda: lambda: compiled(*args), lambda v: backend.sync(lib, v),
                       _f_policy(options.timing))[1]
    except Exception as exc:  # recorded: the Jacobian itself was fine
        record["f_time_note"] = (f"f alone failed as {method.id} runs it: {type(exc).__name__}: "
                                 f"{_first_line(exc)}; no J/f ratio")
        return None


def _fit_memory(case: Case, method, problem: Problem, itemsize: int, options: Options, record: Record):
    """(problem, None) if the method's estimated peak fits in options.max_memory, possibly in chunks
    (noted in the record); (problem, why) if the pair must be skipped."""
    if options.max_memory is None:
        return problem, None
    from jacobian_harness.memory import elements, estimate_bytes, fitting_chunk, format_size, sizes

    n_in, n_out = sizes(method, case.order, elements(a.shape for a in problem.args), math.prod(problem.out_shape))
    need = estimate_bytes(method, n_in, n_out, itemsize)
    record["memory_estimate"] = need
    if need <= options.max_memory:
        return problem, None
    chunk = fitting_chunk(method, n_in, n_out, itemsize, options.max_memory)
    limit = format_size(options.max_memory)
    if chunk is None:
        return problem, (f"needs about {format_size(need)} (Jacobian {n_out} x {n_in}), over --max-memory {limit}; "
                         f"raise --max-memory or use a method that runs in chunks")
    record["chunk_size"] = chunk
    record["memory_estimate"] = estimate_bytes(method, n_in, n_out, itemsize, chunk)
    record["note"] = f"run in chunks of {chunk}: at once it would need about {format_size(need)}, over {limit}"
    return replace(problem, chunk_size=chunk), None


def _f_policy(policy: TimingPolicy) -> TimingPolicy:
    return TimingPolicy(budget_s=policy.budget_s / 4, min_repeats=policy.min_repeats,
                        warmup=policy.warmup, min_sample_s=policy.min_sample_s)


def moved_inputs(case: Case, inputs: tuple[np.ndarray, ...], fraction: float) -> tuple[np.ndarray, ...]:
    """The inputs with each differentiated one moved by `fraction` of max(1, |x|), with signs drawn once
    (seed 0) so that the move is in no special direction; -fraction moves the other way."""
    if not fraction:
        return inputs
    moved = list(inputs)
    for k in case.wrt_indices(inputs):
        signs = np.random.default_rng(0).choice((-1.0, 1.0), size=inputs[k].shape)
        moved[k] = inputs[k] + fraction * signs * np.maximum(1.0, np.abs(inputs[k]))
    return tuple(moved)


def _bind(case: Case, backend, lib, inputs, dtype):
    """The case's function for this backend, with non-differentiated inputs bound as constants."""
    converted = [backend.asarray(lib, a, dtype) for a in inputs]
    impl = case.impl_for(backend.name)
    if impl is None:
        xp = backend.namespace(lib)
        full = lambda *all_args: case.fn(xp, *all_args)  # noqa: E731
    else:
        full = impl
    wrt = case.wrt_indices(inputs)
    if not wrt:
        raise Unsupported(f"case {case.id!r} has no floating input to differentiate")

    def fn(*wrt_args):
        all_args = list(converted)
        for position, value in zip(wrt, wrt_args, strict=True):
            all_args[position] = value
        return full(*all_args)

    return fn, tuple(converted[i] for i in wrt)


def _check_returned_array(value, backend: str) -> None:
    """A plain Python number from f is a value taken out of the graph: no framework can differentiate it."""
    if isinstance(value, (bool, int, float, complex)) and type(value).__module__ == "builtins":
        raise TypeError(f"f returned a Python {type(value).__name__}, not a {backend} array: a value taken out of "
                        f"the graph (.item(), float(t), math.*) is a constant to every AD method; return the "
                        f"array itself (x.sum(), not x.sum().item())")


def _check_output(case: Case, value: np.ndarray, args: tuple) -> None:
    """Mistakes in a case that would make every verdict meaningless, named before any method runs."""
    if value.dtype.kind != "f":
        raise TypeError(f"case {case.id!r} returns {value.dtype} values; a Jacobian needs real floating output")
    empty = [k for k, a in enumerate(args) if math.prod(a.shape) == 0]
    if empty:
        raise ValueError(f"case {case.id!r}: differentiated input {empty[0]} is empty (shape "
                         f"{tuple(args[empty[0]].shape)}): there is nothing to differentiate")
    bad = np.argwhere(~np.isfinite(value))
    if bad.size:
        kind = "NaN" if np.isnan(value[tuple(bad[0])]) else "inf"
        raise ValueError(f"case {case.id!r}: f returns {kind} at index {tuple(int(i) for i in bad[0])} for its "
                         f"inputs, so no Jacobian there can be checked: move the inputs into f's domain")
    if case.order == 2 and (value.shape != () or len(args) != 1):
        raise ValueError(f"case {case.id!r} has order=2: f must return a scalar of one differentiated input, "
                         f"got shape {value.shape} of {len(args)} inputs")


def _as_tuple(result):
    return tuple(result) if isinstance(result, (tuple, list)) else (result,)


def _canonical(case: Case, problem: Problem, blocks: list[np.ndarray]) -> list[np.ndarray]:
    if len(blocks) != len(problem.args):
        raise ValueError(f"method returned {len(blocks)} Jacobian blocks for {len(problem.args)} inputs")
    out = []
    for block, arg in zip(blocks, problem.args, strict=True):
        # A Hessian block is in.shape + in.shape: the "output" is the gradient, shaped like the input.
        full = (tuple(arg.shape) if case.order == 2 else problem.out_shape) + tuple(arg.shape)
        if case.per_sample and block.shape == full:
            block = per_sample_view(block, len(problem.out_shape), case.id)
        expected = (problem.out_shape + tuple(arg.shape)[1:]) if case.per_sample else full
        if block.shape != expected:
            raise ValueError(f"Jacobian block has shape {block.shape}, expected {expected}")
        out.append(block)
    return out


def per_sample_view(block: np.ndarray, out_ndim: int, case_id: str) -> np.ndarray:
    """(B, *out, B, *in) -> (B, *out, *in), checking that samples do not interact."""
    moved = np.moveaxis(block, out_ndim, 1)                  # (B, B, *out[1:], *in[1:])
    batch = moved.shape[0]
    off_diagonal = moved.copy()
    off_diagonal[np.arange(batch), np.arange(batch)] = 0
    if np.any(off_diagonal != 0):
        raise ValueError(f"case {case_id!r} is marked per_sample but sample outputs depend on other samples")
    return moved[np.arange(batch), np.arange(batch)]


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return ""
    if lines[0].endswith(":") and len(lines) > 1:
        # A header over a trace (TensorFlow's "in user code:"): the cause is its last line.
        return f"{lines[0]} ... {lines[-1]}"
    return lines[0]


def _fail(evaluation: Evaluation, status: str, message: str, trace: str | None = None) -> Evaluation:
    evaluation.record["status"] = status
    evaluation.record["message"] = message
    if trace:
        evaluation.record["traceback"] = trace
    evaluation.jacobian = None
    return evaluation
