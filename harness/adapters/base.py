"""The narrow interface every backend implements, and the registries of backends and methods.

An adapter module creates one `Backend` subclass instance and registers its Jacobian methods with
`@backend.method("id", mode=...)`. It must not import its framework at module level: `load()` does,
so that listing methods never needs the framework and a missing framework is "unavailable".
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable

import numpy as np

from jacobian_harness.plugins import ADAPTER_GROUP, load_plugins

BACKENDS: dict[str, Backend] = {}
METHODS: dict[str, Method] = {}


class Unsupported(Exception):
    """This method cannot compute this case's Jacobian; the message says why."""


class BackendUnavailable(Exception):
    """The framework behind a backend cannot be imported here."""


@dataclass(frozen=True)
class Problem:
    """What a method builder receives: the function with constants bound, and its differentiated inputs."""

    fn: Callable[..., Any]
    args: tuple
    out_shape: tuple[int, ...]
    row_independent: bool = False
    per_sample: bool = False
    chunk_size: int | None = None  # for methods with `chunks`: at most this many rows or columns at once


@dataclass(frozen=True)
class Method:
    """A Jacobian method: `build(lib, problem)` prepares and returns a zero-argument callable.

    The callable returns one Jacobian block per differentiated input, each of shape out.shape + in.shape
    (or the per-sample form for per-sample cases). Everything done in `build` counts as preparation.
    """

    id: str
    backend: str
    mode: str
    build: Callable[[Any, Problem], Callable[[], Any]]
    requires: tuple[str, ...] = ()
    doc: str = ""
    dtypes: tuple[str, ...] = ("float64", "float32")
    reference: bool = False  # evaluated for the reference even when a run's --methods leaves it out
    # How f runs in this method's regime (e.g. jitted), so that J/f compares like with like.
    baseline: Callable[[Any, Callable[..., Any]], Callable[..., Any]] | None = None
    order: int = 1  # the case order it runs on: 1, a Jacobian of f; 2, the Hessian of a scalar f of one input
    # A check that returns a projection of the Jacobian rather than the Jacobian: `project` maps the
    # reference blocks (and the case's per-sample flag) to the value the check must return.
    project: Callable[[list[np.ndarray], Problem], np.ndarray] | None = None
    # Memory: a vectorized method holds a whole batch at once, one element per output ("out": vmap of vjp)
    # or per input ("in": vmap of jvp); None for methods that loop. `chunks`: it honours problem.chunk_size.
    batch: str | None = None
    chunks: bool = False
    # What it returns, and so what it is judged against: "jacobian" (the blocks; a Hessian on an order-2
    # case), "projection" (a check's v^T J u, judged against the Jacobian reference through `project`) or
    # "second-order" (w^T f''(x)[u, v], judged against a reference chosen among the second-order methods).
    quantity: str = "jacobian"


QUANTITIES = ("jacobian", "projection", "second-order")
# How a method computes: one pass per output row (reverse), per input column (forward), finite differences,
# a projection check of one against the other, or a composition of two passes for second order.
MODES = ("reverse", "forward", "fd", "check", "forward-over-reverse", "reverse-over-reverse", "reverse-over-forward",
         "forward-over-forward")


class Backend:
    """One framework: how to import it, convert arrays, and wait for results.

    A backend declares here, once, what the rest of the project derives from it: the run document's recorded
    versions (environment.packages), the reports' colours, the library's checked versions, the tests' skip
    hints and the rule that only its adapter imports its framework (tests/test_imports.py)."""

    name: str = ""
    import_name: str = ""
    packages: tuple[str, ...] = ()  # the distributions whose versions a run records (the framework's first)
    extra: str = ""  # the pyproject extra that installs it; "" where the core dependencies do
    # The versions on which the built-in library was last run whole and every declaration confirmed (applying
    # ones still happen, version-limited ones that do not apply agree; tests/test_cases.py checks both on the
    # installed versions). Add a version only after the suite and `run` pass on it.
    checked: tuple[str, ...] = ()
    colour: str = "#000000"  # its colour in the reports' plots

    def __init__(self):
        self._lib = None
        BACKENDS[self.name] = self

    def method(self, method_id: str, *, mode: str, requires: tuple[str, ...] = (), dtypes=None,
               reference: bool = False, baseline=None, order: int = 1, project=None, batch: str | None = None,
               chunks: bool = False, quantity: str | None = None):
        """Register a Jacobian method of this backend under a stable id (`quantity` defaults to
        "projection" for a method with `project`, else "jacobian")."""
        quantity = quantity or ("projection" if project is not None else "jacobian")
        if mode not in MODES:
            raise ValueError(f"method {method_id!r}: mode must be one of {', '.join(MODES)}, not {mode!r}")
        if quantity not in QUANTITIES:
            raise ValueError(f"method {method_id!r}: quantity must be one of {', '.join(QUANTITIES)}, not {quantity!r}")

        def register(build):
            if method_id in METHODS:
                raise ValueError(f"method id {method_id!r} is registered twice")
            METHODS[method_id] = Method(
                id=method_id, backend=self.name, mode=mode, build=build, requires=tuple(requires),
                doc=(build.__doc__ or "").strip().split("\n")[0],
                dtypes=tuple(dtypes) if dtypes else Method.dtypes, reference=reference,
                baseline=baseline, order=order, project=project, batch=batch, chunks=chunks, quantity=quantity,
            )
            return build

        return register

    # -- import -----------------------------------------------------------------------------------------
    def load(self):
        """Import the framework once (configuring it), or raise BackendUnavailable with the reason."""
        if self._lib is None:
            try:
                self._lib = self.setup(importlib.import_module(self.import_name))
            except ImportError as exc:
                raise BackendUnavailable(f"{self.name}: {exc}") from exc
        return self._lib

    def setup(self, lib):
        """Configure the freshly imported framework; return what method builders receive."""
        return lib

    def installed(self) -> bool:
        """Whether the framework's package is found, without importing it (importing all of them takes a
        minute: `availability` does)."""
        import importlib.util

        try:
            return importlib.util.find_spec(self.import_name) is not None
        except (ImportError, ValueError):
            return False

    def availability(self) -> tuple[bool, str]:
        try:
            self.load()
        except BackendUnavailable as exc:
            return False, str(exc)
        return True, ""

    def version(self) -> str | None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version(self.import_name)
        except PackageNotFoundError:
            return None

    def set_threads(self, lib, threads: int) -> None:
        """Fix the framework's intra-op thread count (best effort; recorded in the results)."""

    # -- arrays -----------------------------------------------------------------------------------------
    def namespace(self, lib):
        """The array namespace `xp` that case functions receive."""
        raise NotImplementedError(f"backend {self.name!r} does not define namespace()")

    def asarray(self, lib, array: np.ndarray, dtype: str):
        raise NotImplementedError(f"backend {self.name!r} does not define asarray()")

    def to_numpy(self, lib, value) -> np.ndarray:
        return np.asarray(value)

    def sync(self, lib, value) -> None:
        """Block until `value` is computed (asynchronous frameworks override this)."""

    def classify(self, exc: BaseException) -> str:
        """'unsupported' for a failure that means "this method cannot do this op", else 'error'."""
        return "unsupported" if isinstance(exc, Unsupported) else "error"

    def hint(self, exc: BaseException) -> str:
        """What the user most likely has to do about `exc` (a failure of their function in this framework),
        or "" where the error says it already."""
        return ""


ADAPTER_MODULES = (
    "jacobian_harness.adapters.fd",
    "jacobian_harness.adapters.torch",
    "jacobian_harness.adapters.jax",
    "jacobian_harness.adapters.autograd",
    "jacobian_harness.adapters.tensorflow",
)




def load_adapters() -> None:
    """Import the built-in adapter modules and those of installed plugins (entry point group
    `jacobian_harness.adapters`); they register their methods, and no framework is imported."""
    for module in ADAPTER_MODULES:
        importlib.import_module(module)
    load_plugins(ADAPTER_GROUP, "adapter")


def get_method(method_id: str) -> Method:
    load_adapters()
    try:
        return METHODS[method_id]
    except KeyError:
        raise KeyError(f"unknown method {method_id!r}; `jacobian-harness list` shows the method ids") from None


# -- the jvp/vjp consistency check: v^T (J u) from forward mode and (v^T J) u from reverse mode --------------

def projection_vectors(problem: Problem) -> tuple[np.ndarray, list[np.ndarray]]:
    """Fixed random v (output-shaped) and u (one per input), the same for every backend and run."""
    rng = np.random.default_rng(20261124)
    v = rng.standard_normal(problem.out_shape)
    return v, [rng.standard_normal(tuple(a.shape)) for a in problem.args]


def project_reference(blocks: list[np.ndarray], problem: Problem) -> np.ndarray:
    """v^T J u from reference blocks, in full or per-sample form; returned twice (forward, reverse)."""
    v, us = projection_vectors(problem)
    total = 0.0
    for block, u in zip(blocks, us, strict=True):
        if problem.per_sample:  # block (B, *out[1:], *in[1:]): samples do not mix
            batch = block.shape[0]
            total += np.einsum("bo,boi,bi->", v.reshape(batch, -1), block.reshape(batch, v[0].size, -1),
                               u.reshape(batch, -1))
        else:
            total += v.reshape(-1) @ block.reshape(v.size, -1) @ u.reshape(-1)
    return np.array([total, total])


# -- the second-order check: w^T f''(x)[u, v], one scalar per composition of jvp and vjp ---------------------

def second_order_directions(problem: Problem) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Fixed random w (output-shaped) and u, v (one of each per differentiated input), the same for every
    backend and run: the check is w^T f''(x)[u, v] = d/dt d/ds w^T f(x + t u + s v) at t = s = 0."""
    rng = np.random.default_rng(20261203)
    w = rng.standard_normal(problem.out_shape)
    us = [rng.standard_normal(tuple(a.shape)) for a in problem.args]
    vs = [rng.standard_normal(tuple(a.shape)) for a in problem.args]
    return w, us, vs


# The four compositions, named outer-inner as the Hessian APIs are (jacfwd(jacrev) is forward-over-reverse):
# the inner transform gives w^T J(x) v (forward: w . jvp(f, v); reverse: vjp(f, w) . v), the outer one
# differentiates that scalar along u (forward: its jvp; reverse: its gradient, dotted with u).
COMPOSITIONS = {"fwd-fwd": "forward-over-forward", "fwd-rev": "forward-over-reverse",
                "rev-fwd": "reverse-over-forward", "rev-rev": "reverse-over-reverse"}
