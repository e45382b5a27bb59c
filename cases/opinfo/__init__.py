"""The `opinfo` case pack: every differentiable operator of the installed torch, generated from its own OpInfo
database (`torch.testing._internal.common_methods_invocations.op_db`) when the pack is loaded, so that it always
tracks the torch under test.

One case per (operator, sample input): `opinfo.<name>[.<variant>].s<k>`, and its twin at a nearby generic point,
`opinfo.<...>.s<k>.moved` (a finding that persists there is a formula bug; one that vanishes is a kink or a
convention). What cannot become a case (random, complex-only, sparse, integer-only outputs, over the size cap) is
recorded with its reason (harness.casedef.skip) and shown in the report.

Modules: `generate` (op_db -> cases), `expectations` (what torch's own gradient tests expect per op),
`jax_counterparts` (the op -> jax table), `known` (the declared findings, read from `known.toml`), `repro`
(a standalone script per finding).
"""

from __future__ import annotations

# Samples per op (the default of register_cases). OpInfo's first samples are its plainest (small shapes,
# default arguments); later ones add broadcasting, keyword variants, empty and scalar inputs. Three reach past
# the defaults on most ops and keep `run --pack opinfo --quick` near 20 minutes on 2 cores. `--samples N` takes
# more, `--samples all` every one (an op whose first samples are empty or over the cap, such as cholesky_inverse
# or cumprod, gets its cases only there: on 2.15.0 the later samples of 94 ops hold findings not yet declared).
MAX_ENTRIES = 4096  # Jacobian entries (outputs x differentiated inputs) above which a sample is skipped


def register_cases(samples: int | str = 3, max_entries: int = MAX_ENTRIES, lazy: bool = False) -> None:
    """The pack's entry point (`jacobian_harness.cases`): generate the cases of the first `samples` samples (or
    "all") of every OpInfo from the installed torch and register them (`lazy`, in a worker: each op's when first
    asked)."""
    from jacobian_harness.cases.opinfo.generate import generate

    generate(samples=samples, max_entries=max_entries, lazy=lazy)
