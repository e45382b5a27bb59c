"""Cases are data: a function written once against an array namespace, its inputs, and what to expect.

A case function takes the array namespace `xp` first (`array_api_compat.torch`, `jax.numpy`,
`autograd.numpy` or `numpy`) and then its inputs. Inputs come from a seeded factory so that every
backend receives bit-identical arrays. Points where backends legitimately differ are declared as
`Divergence` records, each with a reason, so that a report can tell a convention from a bug.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from collections.abc import Callable

import numpy as np

# Divergence and its helpers live in their own module; a case file declares with them through this one.
from jacobian_harness.divergence import CaseError, Divergence, id_matches

CASES: dict[str, Case] = {}
# What a pack could not turn into cases (a generated pack's random or complex-only ops, samples over its size
# cap): id -> (pack, reason), reported beside the results, never dropped silently.
SKIPPED: dict[str, tuple[str, str]] = {}
ALL_PACKS = "all"
_LOADING: list[str] = []  # the pack being loaded: what registers now belongs to it
# id prefix -> a function that registers the case of that id on demand (a generated pack loaded lazily in a
# worker, which makes only the cases it is asked for).
RESOLVERS: dict[str, Callable[[str], None]] = {}


def case_of(case_id: str) -> Case:
    """The registered case, made first by its pack's resolver where it registered one; KeyError if none."""
    if case_id not in CASES:
        for prefix, resolve in RESOLVERS.items():
            if case_id.startswith(prefix):
                resolve(case_id)
                break
    return CASES[case_id]


def _case_seed(case_id: str, seed: int) -> list[int]:
    # Mixing the id in keeps a case's inputs independent of which other cases exist or run first.
    return [seed, zlib.crc32(case_id.encode())]


# A backend's own implementation of f, taking that backend's arrays (all inputs): a function, or the dotted name of
# one ("torch.special.erf"), imported only when that backend runs it, so that declaring a case imports no framework.
Impl = Callable[..., Any] | str


@dataclass(frozen=True, eq=False)
class Case:
    """One function, its inputs, and what to expect of its Jacobian in every backend.

    Frozen: a case is made once, complete (a registry that needs another pack or source registers a copy made
    with `dataclasses.replace`), so that what a worker evaluates is what was declared."""

    # -- the function and its inputs ---------------------------------------------------------------------------
    id: str
    # f(xp, *inputs), written once against an array namespace.
    fn: Callable[..., Any]
    # A factory rng -> the tuple of input arrays (with `sizes`: rng, **preset), or that tuple itself.
    inputs: Callable[[np.random.Generator], tuple] | tuple
    # The inputs the Jacobian is taken with respect to (None: every floating input).
    wrt: tuple[int, ...] | None = None
    # Size presets: name -> the keyword arguments of the input factory ("small" is the default).
    sizes: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Mixed with the case id into the input factory's seed.
    seed: int = 0
    # Per-backend implementations that replace fn there (Impl: a function or a dotted name).
    impls: dict[str, Impl] = field(default_factory=dict)

    # -- what to expect ------------------------------------------------------------------------------------------
    # The exact Jacobian from the NumPy inputs (its blocks, one per differentiated input), where it is known.
    analytic: Callable[..., Any] | None = None
    # The methods expected to differ from the reference here, each with its reason (cases._common.diverging).
    divergences: tuple[Divergence, ...] = ()
    # dtype -> {"rtol": .., "atol": ..}: this case's own tolerances, over the harness's defaults.
    tolerances: dict[str, dict[str, float]] = field(default_factory=dict)
    # Whether NaN in the same entries of two Jacobians counts as agreement (False: every NaN disagrees).
    equal_nan: bool = True
    # Why f is not twice differentiable at the case's point (a kink of its first derivative), where the
    # second-order checks do not apply; "" where they do.
    not_twice_differentiable: str = ""

    # -- which methods apply, and how they run it ---------------------------------------------------------------
    # 1: the Jacobian of f; 2: the Hessian of a scalar f (checked by the Hessian methods instead).
    order: int = 1
    # Output row i depends on input row i only (what the batched methods' Problem is told).
    row_independent: bool = False
    # f maps a batch (first axis) sample by sample, and the per-sample Jacobians are wanted.
    per_sample: bool = False

    # -- how it is described and selected ------------------------------------------------------------------------
    tags: frozenset[str] = frozenset()
    # Its operator family (det, solve, norm, ...: harness.families), where its id matches no registered one.
    family: str = ""
    # The first line of f's docstring.
    description: str = ""
    # Where it is defined: "library", a case file's path, or what made it ("harness.check", a pack's note).
    source: str = "library"

    # -- pack plumbing -------------------------------------------------------------------------------------------
    # The case pack it belongs to ("builtin", "opinfo", a plugin's; "" for a user's case file).
    pack: str = ""
    # Globs of the methods that can run it (empty: every method), and of those that run only when --methods
    # names them (a generated pack's compile methods); a method outside `methods` is never paired with it.
    methods: tuple[str, ...] = ()
    opt_in: tuple[str, ...] = ()
    # What a pack records about the case for reports and comparisons (JSON): a sample's fingerprint, what the
    # framework's own tests expect.
    meta: dict[str, Any] = field(default_factory=dict)
    # repro(method_id, reference_method_id) -> a standalone Python script printing both Jacobians, if the pack
    # can write one.
    repro: Callable[[str, str], str] | None = None
    # False: judge its methods but do not time them (a moved twin, whose point is its verdict).
    timed: bool = True

    def __post_init__(self):
        if self.sizes and "small" not in self.sizes:
            raise CaseError(f"case {self.id!r}: sizes must include 'small' (the default), got {sorted(self.sizes)}")
        if self.order not in (1, 2):
            raise CaseError(f"case {self.id!r}: order must be 1 (Jacobian) or 2 (Hessian of a scalar), "
                            f"not {self.order}")
        if self.order == 2 and (self.per_sample or self.row_independent):
            raise CaseError(f"case {self.id!r}: an order=2 case cannot be per_sample or row_independent")

    def impl(self, backend: str):
        """Decorator for a case file: `@f.impl("torch")` over a function taking that backend's arrays (all inputs).
        The case is not changed: the registry gets a copy with the implementation added (the library itself
        passes `impls=` to @case instead)."""

        def add(fn):
            current = CASES.get(self.id)
            if current is None or current.fn is not self.fn:
                raise CaseError(f"case {self.id!r}: .impl({backend!r}) applies to a registered case; pass "
                                f"impls={{{backend!r}: ...}} when making it")
            CASES[self.id] = replace(current, impls={**current.impls, backend: fn})
            return fn

        return add

    def impl_for(self, backend: str) -> Callable[..., Any] | None:
        """The backend's own implementation (a dotted name imported now), or None where f runs there."""
        impl = self.impls.get(backend)
        if isinstance(impl, str):
            try:
                return resolve_dotted(impl)
            except CaseError as exc:
                raise CaseError(f"case {self.id!r}, {backend} implementation: {exc}") from None
        return impl

    def make_inputs(self, seed: int | None = None, size: str | dict[str, Any] = "small") -> tuple[np.ndarray, ...]:
        """The case's inputs as float64 NumPy arrays (other dtypes kept), identical on every call.

        With `sizes`, the factory receives the keyword arguments of the preset `size`; a case without
        presets has one size, whatever is asked.
        """
        raw = self.inputs
        if callable(raw):
            rng = np.random.default_rng(_case_seed(self.id, self.seed if seed is None else seed))
            raw = raw(rng, **self.size_arguments(size))
        if isinstance(raw, np.ndarray) or not isinstance(raw, (tuple, list)):
            raise CaseError(f"case {self.id!r}: inputs must be a tuple of NumPy arrays, got {type(raw).__name__}")
        arrays = []
        for position, value in enumerate(raw):
            array = np.asarray(value)
            if array.dtype.kind == "f":
                array = array.astype(np.float64)
            elif array.dtype.kind not in "iub":
                raise CaseError(f"case {self.id!r}: input {position} has dtype {array.dtype}; use real floats or ints")
            arrays.append(array)
        return tuple(arrays)

    def size_arguments(self, size: str | dict[str, Any]) -> dict[str, Any]:
        if isinstance(size, dict):  # an explicit point, as a sweep gives
            return dict(size)
        if not self.sizes:
            return {}
        if size not in self.sizes:
            raise CaseError(f"case {self.id!r} has no size {size!r} (it has {', '.join(self.sizes)})")
        return dict(self.sizes[size])

    def wrt_indices(self, inputs: tuple[np.ndarray, ...]) -> tuple[int, ...]:
        """Which inputs the Jacobian is taken with respect to (default: every floating input)."""
        if self.wrt is not None:
            return tuple(self.wrt)
        return tuple(i for i, a in enumerate(inputs) if a.dtype.kind == "f")

    def runs(self, method_id: str, named: bool = False) -> bool:
        """Whether the method is paired with this case: it is among `methods`, and, if it is opt-in, the run's
        --methods named it (`named`)."""
        if self.methods and not any(id_matches(method_id, p) for p in self.methods):
            return False
        return named or not any(id_matches(method_id, p) for p in self.opt_in)

    def divergence_for(self, method_id: str, backend_version: str | None) -> Divergence | None:
        return next((d for d in self.divergences if d.applies_to(method_id, backend_version)), None)

    def tolerance(self, dtype: str) -> dict[str, float]:
        return dict(self.tolerances.get(dtype, {}))


def case(fn=None, *, id: str | None = None, **fields):
    """Declare a case: `@case(inputs=lambda rng: (rng.standard_normal(5),))` over `def f(xp, x)`.

    The case id defaults to the function's name, and the decorated name becomes the `Case`. `impls={"torch":
    "torch.special.erf", "autograd": _erf_autograd}` gives backend-specific implementations: a dotted name
    where it is one call of the backend's function on the inputs (imported when that backend runs it), else a
    function defined above the case. `sizes={"small": {"n": 4}, ...}` gives
    size presets passed to the input factory as keywords; `order=2` makes it a Hessian case (a scalar f
    of one differentiated input), checked by the Hessian methods instead of the Jacobian ones.
    """

    def declare(function):
        return register(make_case(function, id=id, **fields))

    return declare(fn) if fn is not None else declare


def make_case(function, *, id: str | None = None, inputs, wrt=None, tags=(), analytic=None, divergences=(),
              row_independent=False, per_sample=False, seed=0, tolerances=None, equal_nan=True, sizes=None,
              order=1, not_twice_differentiable="", impls=None, family="") -> Case:
    """A Case from a function and `@case`'s keywords, not registered (sweep families build their own)."""
    return Case(
        id=id or function.__name__, fn=function, inputs=inputs, wrt=None if wrt is None else tuple(wrt),
        tags=frozenset(tags), analytic=analytic, divergences=tuple(divergences),
        row_independent=row_independent, per_sample=per_sample, seed=seed,
        tolerances=dict(tolerances or {}), equal_nan=equal_nan,
        description=(function.__doc__ or "").strip().split("\n")[0],
        source=_defining_file(function), sizes=dict(sizes or {}), order=order,
        not_twice_differentiable=not_twice_differentiable, impls=dict(impls or {}), family=family,
    )


def _defining_file(function) -> str:
    module = sys.modules.get(function.__module__)
    library = "jacobian_harness.cases"
    if module is not None and (module.__name__ == library or module.__name__.startswith(library + ".")):
        return "library"
    return getattr(function.__code__, "co_filename", "?")


def register(new: Case) -> Case:
    """Add a case to the registry; a second case with the same id is an error naming both. A case without a
    pack belongs to the pack being loaded, else to the built-in library if it is defined there."""
    old = CASES.get(new.id)
    if old is not None and old is not new:
        raise CaseError(f"case id {new.id!r} is defined twice: in {old.source} and in {new.source}")
    pack = new.pack or (_LOADING[-1] if _LOADING else ("builtin" if new.source == "library" else ""))
    if pack != new.pack:
        new = replace(new, pack=pack)
    CASES[new.id] = new
    return new


def load_library(packs: list[str] | tuple[str, ...] = ("builtin",), options: dict | None = None) -> list[str]:
    """Load case packs, the entry points of group `jacobian_harness.cases` (`packs`: their names, or "all"):
    the built-in library (the pack "builtin", the `cases` package, which registers its cases on import)
    always first, so that a pack built on it does not claim its cases; a generated pack's function gets
    `options` (e.g. samples=3). Returns the ids of the selected packs' cases, in their order."""
    from jacobian_harness.plugins import BUILTIN, CASE_GROUP, PluginError, load_plugins, plugin_names

    installed = plugin_names(CASE_GROUP)
    if BUILTIN not in installed:
        raise CaseError(f"the built-in case library is not installed (no {BUILTIN!r} entry point in "
                        f"{CASE_GROUP}); reinstall with `pip install -e .`")
    wanted = installed if ALL_PACKS in packs else list(dict.fromkeys(packs))
    unknown = [name for name in wanted if name not in installed]
    if unknown:
        raise CaseError(f"no case pack named {unknown[0]!r}; installed packs: {', '.join(installed)} "
                        f"(or {ALL_PACKS!r} for every one)")
    for name in [BUILTIN] + [n for n in wanted if n != BUILTIN]:
        _LOADING.append(name)
        try:
            load_plugins(CASE_GROUP, "case pack", names=[name], options=None if name == BUILTIN else options)
        except PluginError as exc:
            raise CaseError(str(exc)) from None
        finally:
            _LOADING.pop()
    return [case_id for name in wanted for case_id, c in CASES.items() if c.pack == name]


def skip(case_id: str, reason: str, pack: str = "") -> None:
    """Record that a pack could not make the case `case_id`, and why (shown in the report)."""
    SKIPPED[case_id] = (pack or (_LOADING[-1] if _LOADING else ""), reason)


def skipped_in(packs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """id -> reason for what the loaded packs among `packs` ("all": every one) could not make into cases."""
    return {case_id: reason for case_id, (pack, reason) in SKIPPED.items() if ALL_PACKS in packs or pack in packs}


def load_case_file(path: str | Path) -> list[str]:
    """Run a user's case file and return the ids it registered; any failure is a CaseError with the file."""
    path = Path(path)
    if not path.is_file():
        raise CaseError(f"case file {path} does not exist")
    before = set(CASES)
    module_name = f"_harness_case_file_{zlib.crc32(str(path.resolve()).encode()):08x}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise CaseError(f"case file {path} cannot be imported as Python (give a .py file)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except CaseError:
        raise
    except SyntaxError as exc:
        raise CaseError(f"case file {path}, line {exc.lineno}: {exc.msg}") from exc
    except Exception as exc:
        line = _line_in(exc, path)
        raise CaseError(f"case file {path}{line}: {type(exc).__name__}: {exc}") from exc
    added = [case_id for case_id in CASES if case_id not in before]
    for case_id in added:
        CASES[case_id] = replace(CASES[case_id], source=str(path))
    return added


@functools.cache  # every evaluation of the case asks again; failed submodule imports would be retried each time
def resolve_dotted(name: str) -> Callable[..., Any]:
    """The object a dotted name names ("torch.nn.functional.pdist"): its longest importable module, then
    attributes; a CaseError naming the part that is missing. Resolved once per process."""
    parts = name.split(".")
    for split in range(len(parts), 0, -1):
        module_name = ".".join(parts[:split])
        try:
            target = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and not module_name.startswith(exc.name):  # a dependency of it is missing
                raise CaseError(f"{name!r}: importing {module_name} failed: {exc}") from None
            continue
        for position in range(split, len(parts)):
            if not hasattr(target, parts[position]):
                raise CaseError(f"{name!r}: {'.'.join(parts[:position])} has no attribute {parts[position]!r}")
            target = getattr(target, parts[position])
        if not callable(target):
            raise CaseError(f"{name!r} is a {type(target).__name__}, not a function")
        return target
    raise CaseError(f"{name!r}: no module {parts[0]!r} is installed")


def _line_in(exc: BaseException, path: Path) -> str:
    tb = exc.__traceback__
    line = ""
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename).resolve() == path.resolve():
            line = f", line {tb.tb_lineno}"
        tb = tb.tb_next
    return line
