"""op_db -> cases: each OpInfo sample becomes a function of its differentiated tensors, with every other argument
bound as a constant, in three implementations: torch (the op itself), fd (the op's forward values in float64,
for finite differences) and, where `jax_counterparts` has one, jax.

This module imports torch at load: the pack is generated from the torch under test, which no other backend can
stand in for. Its case functions run only in the backends they name (Case.methods).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import math
import re
import warnings
import zlib
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils import _pytree as pytree

from jacobian_harness.cases._common import methods_of
from jacobian_harness.cases.opinfo.expectations import torch_expectations
from jacobian_harness.cases.opinfo.jax_counterparts import counterpart_of
from jacobian_harness.cases.opinfo.known import divergences_for, not_twice_differentiable
from jacobian_harness.casedef import CASES, RESOLVERS, Case, register, skip
from jacobian_harness.plugins import PluginError

PACK = "opinfo"
MOVE = 1e-3  # the moved twin: each differentiated entry moved by about this fraction of its size
# Names of OpInfos whose output is random by design (a sample's two calls differ: also detected at run time).
RANDOM_WORDS = ("dropout", "rrelu", "bernoulli", "multinomial", "normal", "uniform", "rand", "poisson",
                "cauchy", "exponential", "geometric", "log_normal")


def op_database():
    """torch's OpInfo list; a missing `expecttest` (it imports only with it) is a one-line error saying what to
    install."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its import warns about beta sparse layouts and deprecated ops
        try:
            from torch.testing._internal.common_methods_invocations import op_db
        except ImportError as exc:
            raise PluginError(f"the opinfo pack reads torch's OpInfo database, which needs the expecttest package "
                              f"({exc}): pip install -e '.[opinfo]'") from None
    return op_db


def op_id(op) -> str:
    return f"{PACK}.{op.name}" + (f".{op.variant_test_name}" if op.variant_test_name else "")


def generate(samples: int | str, max_entries: int, lazy: bool = False) -> None:
    """Register the cases of the first `samples` samples of every OpInfo, or of all its samples
    (`samples="all"`); a sample that cannot become a case is recorded as skipped, with its reason. `lazy`:
    register a resolver that makes an op's cases when one of them is first asked for (a worker)."""
    ops = {op_id(op): op for op in op_database()}
    if lazy:
        def resolve(case_id: str) -> None:
            match = re.fullmatch(r"(.+)\.s\d+(\.moved)?", case_id)
            if match and match.group(1) in ops:
                _generate_op(ops[match.group(1)], samples, max_entries)

        RESOLVERS[f"{PACK}."] = resolve
        return
    for op in ops.values():
        _generate_op(op, samples, max_entries)


def _generate_op(op, samples: int, max_entries: int) -> None:
    with warnings.catch_warnings():
        # Deprecation notices of the ops themselves (torch.cholesky, torch.lu, ...): noise at every load.
        warnings.simplefilter("ignore")
        _cases_of(op, samples, max_entries, torch.__version__)


def _cases_of(op, samples: int | str, max_entries: int, torch_version: str) -> None:
    """Cases of the op's first `samples` samples (or all of them), s<k> its k-th sample in op_db's order."""
    base = op_id(op)
    reason = _op_skip_reason(op)
    if reason:
        skip(f"{base}.*", reason, pack=PACK)
        return
    for k, sample in enumerate(_samples(op)):
        if samples != "all" and k >= int(samples):
            break
        case_id = f"{base}.s{k}"
        if case_id in CASES:
            continue  # an earlier call (fewer samples) registered it
        try:
            built = _build(op, sample, case_id, max_entries, torch_version)
        except SampleSkip as why:
            skip(case_id, str(why), pack=PACK)
            continue
        except Exception as exc:  # noqa: BLE001  (torch's sample, not ours: say what went wrong, skip it)
            skip(case_id, f"the sample cannot be taken apart and called again: {type(exc).__name__}: "
                          f"{str(exc).splitlines()[0][:200] if str(exc) else ''}", pack=PACK)
            continue
        register(built.case)
        if built.moved is not None:
            register(built.moved)
        elif built.moved_skip:
            skip(f"{case_id}.moved", built.moved_skip, pack=PACK)


def _op_skip_reason(op) -> str:
    if not op.supports_autograd:
        return "torch declares no autograd support for this op"
    if torch.float64 not in op.supported_dtypes("cpu"):
        return "no float64 on the CPU (complex-only or integer-only op)"
    if op.name.startswith(("sparse.", "to_sparse")) or "sparse" in op.variant_test_name:
        return "sparse layouts are outside the pack (dense float64 only)"
    if any(word in op.name for word in RANDOM_WORDS):
        return "random: its output differs from call to call"
    return ""


def _samples(op):
    """The op's samples in order, the same in every process: the generator's draws are seeded per op. They are
    made one at a time, so that a pack taking the first few does not pay for the rest, on a random state of
    their own, so that what runs between two draws (building a case) cannot change the next sample."""
    outer = torch.get_rng_state()
    torch.manual_seed(zlib.crc32(op_id(op).encode()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        samples = op.sample_inputs("cpu", torch.float64, requires_grad=True)
    while True:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sample = next(samples, None)
        own, _ = torch.get_rng_state(), torch.set_rng_state(outer)
        if sample is None:
            return
        yield sample
        outer = torch.get_rng_state()
        torch.set_rng_state(own)


class SampleSkip(Exception):
    """This sample cannot become a case; the message says why."""


@dataclass
class Built:
    case: Case
    moved: Case | None
    moved_skip: str = ""


@dataclass
class Sample:
    """One OpInfo sample taken apart: the leaves of (input, args, kwargs), which of them are differentiated,
    and how to call the op on new values of those."""

    op: object
    leaves: list
    spec: object
    wrt: list[int]
    process: object  # the sample's output_process_fn_grad
    # Which of the floating outputs are checked: those torch marks differentiable (they require grad when the
    # inputs do), as torch's gradcheck does; None until the sample has been called once with grad.
    checked: tuple[int, ...] | None = None

    def invoke(self, sample_input, args, kwargs):
        """The op as torch's own gradient tests call it: through the OpInfo's gradcheck_wrapper (which, for an
        op of a Hermitian or triangular matrix, makes that structure part of the function checked)."""
        return self.process(self.op.gradcheck_wrapper(self.op.op, sample_input, *args, **kwargs))

    def call(self, torch_values):
        leaves = list(self.leaves)
        dtype = torch_values[0].dtype
        for position, value in zip(self.wrt, torch_values, strict=True):
            leaves[position] = value
        # A float32 run gets its constants in float32 too (the samples are made in float64).
        leaves = [leaf.to(dtype) if isinstance(leaf, torch.Tensor) and leaf.is_floating_point() and
                  leaf.dtype != dtype else leaf for leaf in leaves]
        sample_input, args, kwargs = pytree.tree_unflatten(leaves, self.spec)
        return joined(self.invoke(sample_input, args, kwargs), self.checked)


def floating_outputs(output) -> list:
    return [t for t in pytree.tree_leaves(output) if isinstance(t, torch.Tensor) and t.is_floating_point()]


def joined(output, checked: tuple[int, ...] | None = None):
    """The op's checked floating outputs as one tensor: itself for one output; flattened and concatenated for
    several (one row block per output, in order: `meta["outputs"]` gives their shapes)."""
    tensors = floating_outputs(output)
    if checked is not None:
        tensors = [tensors[k] for k in checked]
    if len(tensors) == 1:
        return tensors[0]
    return torch.cat([t.reshape(-1) for t in tensors])


def _take_apart(op, sample) -> Sample:
    leaves, spec = pytree.tree_flatten((sample.input, sample.args, sample.kwargs))
    wrt = []
    for position, leaf in enumerate(leaves):
        if not isinstance(leaf, torch.Tensor):
            continue
        if leaf.layout != torch.strided:
            raise SampleSkip(f"a {leaf.layout} input: sparse layouts are outside the pack")
        if leaf.is_complex():
            raise SampleSkip("a complex input: the pack checks real float64 Jacobians")
        if leaf.requires_grad and leaf.is_floating_point():
            wrt.append(position)
        leaves[position] = leaf.detach().clone()
    if not wrt:
        raise SampleSkip("no input of this sample requires grad")
    if any(not torch.isfinite(leaves[k]).all() for k in wrt):
        # A derivative with respect to an infinite entry is not defined (a finite difference there divides by
        # inf - inf); the op's handling of infinities is its forward semantics, not its Jacobian.
        raise SampleSkip("a differentiated input holds inf or NaN: no derivative with respect to it is defined")
    return Sample(op, leaves, spec, wrt, sample.output_process_fn_grad)


def _differentiable_outputs(sample: Sample, values) -> tuple[int, ...]:
    """The floating outputs that torch marks differentiable: called once with inputs that require grad, the
    outputs that then require grad (a batch norm's saved mean and inverse std do not: torch declares them
    non-differentiable, and its gradcheck leaves them out too)."""
    leaves = [v.detach().clone().requires_grad_(True) for v in values]
    sample_input, args, kwargs = _unflattened(sample, leaves)
    with torch.enable_grad():
        raw = sample.invoke(sample_input, args, kwargs)
    return tuple(k for k, t in enumerate(floating_outputs(raw)) if t.requires_grad)


def _outputs(op, sample: Sample, values) -> tuple[torch.Tensor, list[list[int]]]:
    sample_input, args, kwargs = _unflattened(sample, values)
    with torch.no_grad():
        raw = sample.invoke(sample_input, args, kwargs)
    tensors = [t for t in pytree.tree_leaves(raw) if isinstance(t, torch.Tensor)]
    if any(t.is_complex() for t in tensors):
        raise SampleSkip("a complex output: the pack checks real float64 Jacobians")
    floating = floating_outputs(raw)
    if not floating:
        raise SampleSkip("integer-only outputs: nothing to differentiate")
    lower = sorted({str(t.dtype).replace("torch.", "") for t in floating if t.dtype != torch.float64})
    if lower:
        raise SampleSkip(f"a {', '.join(lower)} output: rounding to it makes float64 finite differences meaningless")
    checked = floating if sample.checked is None else [floating[k] for k in sample.checked]
    if not checked:
        raise SampleSkip("no output that torch marks differentiable")
    return joined(raw, sample.checked).detach(), [list(t.shape) for t in checked]


def _unflattened(sample: Sample, values):
    leaves = list(sample.leaves)
    for position, value in zip(sample.wrt, values, strict=True):
        leaves[position] = value
    return pytree.tree_unflatten(leaves, sample.spec)


CROP = 32  # entries an elementwise op's large sample is cut to (its Jacobian is diagonal: nothing is lost)


def _crop_elementwise(op, sample: Sample, values, max_entries: int):
    """An elementwise op's sample over the cap, cut to its first CROP entries: the op treats every entry alike,
    so the cut sample checks the same formula. Only where every tensor leaf has the shape of the input (or is
    0-d), so that cutting all of them alike keeps the call valid."""
    from torch.testing._internal.opinfo.core import BinaryUfuncInfo, UnaryUfuncInfo

    if not isinstance(op, (UnaryUfuncInfo, BinaryUfuncInfo)):
        return None
    first = values[0]
    n_in = sum(v.numel() for v in values)
    if first.numel() * n_in <= max_entries or first.numel() <= CROP:
        return None
    tensors = [k for k, leaf in enumerate(sample.leaves) if isinstance(leaf, torch.Tensor)]
    if any(sample.leaves[k].shape not in (first.shape, torch.Size([])) for k in tensors):
        return None
    leaves = list(sample.leaves)
    for k in tensors:
        if leaves[k].shape == first.shape:
            leaves[k] = leaves[k].reshape(-1)[:CROP].clone()
    return Sample(sample.op, leaves, sample.spec, sample.wrt, sample.process)


def _build(op, raw_sample, case_id: str, max_entries: int, torch_version: str) -> Built:
    sample = _take_apart(op, raw_sample)
    values = [sample.leaves[p] for p in sample.wrt]
    cropped = _crop_elementwise(op, sample, values, max_entries)
    if cropped is not None:
        sample, values = cropped, [cropped.leaves[p] for p in cropped.wrt]
    _outputs(op, sample, values)  # the skips that need no grad first (complex, integer-only, lower precision)
    sample.checked = _differentiable_outputs(sample, values)
    output, shapes = _outputs(op, sample, values)
    again, _ = _outputs(op, sample, values)
    if not torch.equal(output.isnan(), again.isnan()) or not torch.equal(output.nan_to_num(), again.nan_to_num()):
        raise SampleSkip("random: two calls on the same sample differ")
    n_in, n_out = sum(v.numel() for v in values), output.numel()
    if n_in == 0 or n_out == 0:
        raise SampleSkip("an empty input or output: nothing to differentiate")
    if n_in * n_out > max_entries:
        raise SampleSkip(f"its Jacobian has {n_out} x {n_in} = {n_in * n_out} entries, over the pack's cap of "
                         f"{max_entries}")
    if not torch.isfinite(output).all():
        raise SampleSkip("its output is not finite at the sample: no Jacobian there can be checked")
    arrays = tuple(v.numpy().astype(np.float64) for v in values)
    arguments = sample_arguments(op, sample)
    meta = {"op": op.name, "variant": op.variant_test_name, "sample": int(case_id.rsplit(".s", 1)[1]),
            "fingerprint": fingerprint(sample) + (f" (cut to its first {CROP} entries)" if cropped else ""),
            "arguments": arguments,
            "digest": digest(sample, arrays), "outputs": shapes,
            "torch_tests": torch_expectations(op), "torch": torch_version}
    counterpart, why_not = counterpart_of(op, raw_sample)
    meta["jax"] = counterpart.describe if counterpart else f"none: {why_not}"
    case = _case(op, sample, case_id, arrays, output.numpy(), meta, counterpart)
    moved, moved_skip = None, ""
    try:
        moved_arrays = moved_point(op, sample, arrays, case_id)
        moved_meta = {**meta, "digest": digest(sample, moved_arrays), "moved_from": case_id}
        moved_output, _ = _outputs(op, sample, [torch.from_numpy(a) for a in moved_arrays])
        moved = _case(op, sample, f"{case_id}.moved", moved_arrays, moved_output.numpy(), moved_meta, counterpart)
    except SampleSkip as why:
        moved_skip = str(why)
    return Built(case, moved, moved_skip)


def _case(op, sample: Sample, case_id: str, arrays, torch_value, meta, counterpart) -> Case:
    def torch_impl(*values):
        return sample.call(values)

    def fd_impl(*values):
        with torch.no_grad():
            return sample.call([torch.from_numpy(np.asarray(v, dtype=np.float64)) for v in values]).numpy()

    impls = {"torch": torch_impl, "fd": fd_impl}
    if counterpart is not None:
        impls["jax"] = counterpart.implementation(sample, torch_value)
    methods, opt_in = methods_for(op, counterpart is not None)
    description = f"torch OpInfo {op.name}" + (f" ({op.variant_test_name})" if op.variant_test_name else "")
    description += f", sample {meta['sample']}: {meta['fingerprint']}" + (" (moved)" if "moved_from" in meta else "")
    return Case(id=case_id, fn=_not_here, inputs=arrays, wrt=tuple(range(len(arrays))),
                tags=frozenset({"opinfo"} | ({"moved"} if "moved_from" in meta else set())),
                divergences=divergences_for(case_id, meta["arguments"]), description=description,
                not_twice_differentiable=not_twice_differentiable(case_id, meta["arguments"]),
                source=f"opinfo (torch {meta['torch']} op_db)", impls=impls, pack=PACK, methods=methods,
                opt_in=opt_in, meta=meta, repro=_repro_of(op, sample, arrays, meta), timed="moved_from" not in meta)


def _not_here(xp, *args):
    raise NotImplementedError("an opinfo case runs only in torch, finite differences and (where a counterpart "
                              "exists) jax")


def _repro_of(op, sample, arrays, meta):
    def repro(method_id: str, reference_method_id: str) -> str:
        from jacobian_harness.cases.opinfo.repro import repro_script

        return repro_script(op, sample, arrays, meta, method_id, reference_method_id)

    return repro


# What runs on a case, by what the OpInfo declares (its own flags: a method it does not claim is not paired).
# jax.jacfwd too: one jax method is jax's vote, and un-jitted jax traces again on every call (0.5 s a pair here).
OPT_IN = ("torch.compile*", "jax.jit*", "jax.second-order*", "jax.jacfwd")


def methods_for(op, has_jax: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(methods, opt-in methods) for one op: torch's first-order methods (forward ones where it claims forward
    AD), its second-order checks where it claims them, finite differences, and jax where a counterpart exists;
    compiled and jitted methods only when --methods names them."""
    return _methods(bool(op.supports_forward_ad), bool(op.supports_gradgrad),
                    bool(getattr(op, "supports_fwgrad_bwgrad", False)), has_jax)


@functools.cache
def _methods(forward: bool, gradgrad: bool, fwgrad_bwgrad: bool, has_jax: bool):
    methods = [m for m in methods_of("reverse", backends=("torch",)) if m != "torch.batched-backward"]
    second = {"reverse-over-reverse": gradgrad, "forward-over-reverse": fwgrad_bwgrad}
    if forward:
        methods += methods_of("forward", backends=("torch",)) + methods_of("check", backends=("torch",),
                                                                           quantity="projection")
        second.update({"forward-over-forward": True, "reverse-over-forward": True})
    torch_second = [m for mode, claimed in second.items() if claimed
                    for m in methods_of(mode, backends=("torch",), quantity="second-order")]
    methods += torch_second + list(methods_of("fd")) + (["fd.second-order"] if torch_second else [])
    if has_jax:
        methods += ["jax.jacrev", "jax.jacfwd", "jax.jit[jacrev]", "jax.jit[jacfwd]"]
        if torch_second:
            methods += list(methods_of("reverse-over-reverse", backends=("jax",), quantity="second-order"))
    return tuple(methods), OPT_IN


def moved_point(op, sample: Sample, arrays, case_id: str) -> tuple[np.ndarray, ...]:
    """The differentiated inputs moved to a nearby generic point: each entry by about MOVE of its size (zeros by
    MOVE of the input's typical size), in seeded random directions, staying where the sample was: a symmetric
    matrix stays symmetric, a positive definite one positive definite, a positive (negative) input positive
    (negative), and f finite. SampleSkip where no move up to 100 times smaller keeps all of that."""
    rng = np.random.default_rng(zlib.crc32(case_id.encode()))
    for fraction in (MOVE, MOVE / 10, MOVE / 100):
        moved = tuple(_move(a, fraction, rng) for a in arrays)
        if not all(_same_structure(a, m) for a, m in zip(arrays, moved, strict=True)):
            continue
        try:
            output, _ = _outputs(op, sample, [torch.from_numpy(m) for m in moved])
        except Exception:  # noqa: BLE001  (the op refuses the moved point: try a smaller move)
            continue
        if torch.isfinite(output).all():
            return moved
    raise SampleSkip("no nearby point keeps the sample's structure (symmetry, definiteness, sign) and f finite")


def _move(a: np.ndarray, fraction: float, rng) -> np.ndarray:
    direction = rng.uniform(0.5, 1.0, a.shape) * rng.choice((-1.0, 1.0), a.shape)
    if a.ndim >= 2 and a.shape[-1] == a.shape[-2] and np.allclose(a, np.swapaxes(a, -1, -2)):
        direction = (direction + np.swapaxes(direction, -1, -2)) / 2
    if a.size and ((a > 0).all() or (a < 0).all()):
        return np.asarray(a * (1 + fraction * direction), dtype=np.float64)  # relative: one sign kept
    # Zeros (kinks, ties at 0) move too, by the fraction of the input's typical size.
    scale = np.maximum(np.abs(a), 0.1 * (np.abs(a).max(initial=0.0) or 1.0))
    return np.asarray(a + fraction * scale * direction, dtype=np.float64)


def _same_structure(a: np.ndarray, m: np.ndarray) -> bool:
    if a.size and ((a > 0).all() and not (m > 0).all() or (a < 0).all() and not (m < 0).all()):
        return False
    if a.ndim >= 2 and a.shape[-1] == a.shape[-2] and np.allclose(a, np.swapaxes(a, -1, -2)):
        if not np.allclose(m, np.swapaxes(m, -1, -2)):
            return False
        if np.all(np.linalg.eigvalsh(a) > 0) and not np.all(np.linalg.eigvalsh(m) > 0):
            return False
    return True


# -- fingerprints ---------------------------------------------------------------------------------------------
_DTYPE = {torch.float64: "f64", torch.float32: "f32", torch.int64: "i64", torch.int32: "i32", torch.bool: "bool",
          torch.uint8: "u8", torch.int16: "i16", torch.int8: "i8"}


def _leaf_text(leaf, differentiated: bool) -> str:
    if isinstance(leaf, torch.Tensor):
        text = f"{_DTYPE.get(leaf.dtype, str(leaf.dtype).replace('torch.', ''))}{list(leaf.shape)}"
        return text + ("*" if differentiated else "")
    text = repr(leaf)
    return text if len(text) <= 40 else text[:37] + "..."


def fingerprint(sample: Sample) -> str:
    """What the sample is, in a line: the leaves of (input, args, kwargs) in order, differentiated tensors
    starred, e.g. "f64[3, 3]* i64[2] 1 True" (the kwargs' names are in the op's call: see `digest`)."""
    wrt = set(sample.wrt)
    return " ".join(_leaf_text(leaf, k in wrt) for k, leaf in enumerate(sample.leaves))


def sample_arguments(op, sample: Sample) -> dict:
    """The sample's non-tensor arguments as known.toml's `where` matches them: each positional one after the
    input as `arg1`, `arg2`, ... and also by the operator's parameter name where its Python signature gives one;
    each keyword one by its name. Values as plain data (numbers, strings, bools, None, lists; a dtype or other
    object by its repr)."""
    _, args, kwargs = pytree.tree_unflatten(list(sample.leaves), sample.spec)
    try:
        parameters = list(inspect.signature(op.op).parameters.values())[1:]
    except (TypeError, ValueError):  # a builtin without a signature: positions only
        parameters = []
    names = []  # the positional parameters' names, up to a *args (a wrapper's *args names nothing)
    for parameter in parameters:
        if parameter.kind not in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            break
        names.append(parameter.name)
    arguments: dict = {}
    for k, value in enumerate(args):
        if not isinstance(value, torch.Tensor):
            arguments[f"arg{k + 1}"] = _plain(value)
            if k < len(names):
                arguments[names[k]] = _plain(value)
    arguments.update({name: _plain(value) for name, value in kwargs.items() if not isinstance(value, torch.Tensor)})
    return arguments


def _plain(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "inf", "-inf", "nan": results.json is strict JSON; `where` compares them as numbers
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)) and not any(isinstance(v, torch.Tensor) for v in value):
        return [_plain(v) for v in value]
    return repr(value)


def digest(sample: Sample, arrays) -> str:
    """A short hash of everything that makes the sample (structure, constants, differentiated values): equal
    across two torch versions exactly when the case id names the same sample there."""
    h = hashlib.sha256(str(sample.spec).encode())
    wrt = set(sample.wrt)
    for k, leaf in enumerate(sample.leaves):
        if k in wrt:
            continue
        h.update(leaf.numpy().tobytes() if isinstance(leaf, torch.Tensor) and leaf.dtype != torch.bfloat16
                 else repr(leaf).encode())
    for a in arrays:
        h.update(str(a.shape).encode() + np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:12]
