"""The run document, `results.json`: the one module that creates it, adds to it, sorts, merges, saves
and loads it. Every command and view reads only this document (and its Jacobians, `jacobians.npz`).

Its fields, each with its meaning, and the history of its versions: harness/run_schema.py (RunDocument).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, cast

from jacobian_harness.records import pair_key
from jacobian_harness.results import ResultsError, jacobian_key, read_json, load_jacobians, write_arrays, write_json

from jacobian_harness.run_schema import (COMMANDS, KIND, READS, SCHEMA_VERSION, CaseSummary, Environment,
                                         RunDocument)


def new_document(command: str, options, *, dtype: str, quick: bool, jobs: int = 0, shard: str | None = None,
                 rounds: int = 1, cases: list[str] | None = None, methods: list[str] | None = None,
                 case_files: list[str] | tuple = (), selected_methods: list[str] | tuple = (),
                 environment: Environment | None = None, packs: list[str] | tuple = ("builtin",),
                 samples: int | str | None = None, skipped: dict[str, str] | None = None) -> RunDocument:
    """An empty run document for `options` (harness.evaluate.Options) and the selection that made it;
    `environment` defaults to this process's (harness.environment.collect); `skipped`: what the packs
    could not make into cases, id -> reason (harness.casedef.skipped_in)."""
    from jacobian_harness.environment import collect

    assert command in COMMANDS, command
    return RunDocument(schema_version=SCHEMA_VERSION, kind=KIND,
                       environment=environment if environment is not None else collect(options.threads),
                       options={"command": command, "dtype": dtype, "quick": quick, "seed": options.seed,
                                "threads": options.threads, "jobs": jobs, "shard": shard, "size": options.size,
                                "max_memory": options.max_memory, "rounds": rounds, "timing": vars(options.timing),
                                "cases": cases, "methods": methods, "case_files": list(case_files),
                                "selected_methods": list(selected_methods), "packs": list(packs),
                                "samples": samples},
                       cases={}, skipped_cases=dict(skipped or {}), results=[])


def case_summary(case) -> CaseSummary:
    from jacobian_harness.families import family_of

    return {"id": case.id, "description": case.description, "tags": sorted(case.tags), "source": case.source,
            "family": family_of(case.id, case.family),
            "row_independent": case.row_independent, "per_sample": case.per_sample, "order": case.order,
            "sizes": case.sizes, "not_twice_differentiable": case.not_twice_differentiable,
            "analytic": case.analytic is not None, "pack": case.pack, "meta": case.meta,
            "divergences": [{"methods": d.methods, "kind": d.kind, "reason": d.reason, "issue": d.issue,
                             "versions": d.versions} for d in case.divergences]}


def add_case(document: RunDocument, arrays: dict, result) -> None:
    """A finished case (harness.runner.CaseResult): its summary, its records, and its Jacobians into `arrays`
    (npz keys, results.jacobian_key)."""
    from jacobian_harness.casedef import CASES

    case = CASES[result.case_id]
    summary = case_summary(case)
    shapes = [list(a.shape) for a in result.inputs]
    wrt = list(case.wrt_indices(result.inputs)) if result.inputs else None
    summary["input_shapes"], summary["wrt"] = shapes, wrt
    summary["output_shape"] = list(result.out_shape) if result.out_shape is not None else None
    # The sizes the forward/reverse rule is stated in (full Jacobians of first order only).
    full = case.order == 1 and not case.per_sample and wrt is not None and result.out_shape is not None
    summary["n_in"] = sum(math.prod(shapes[i]) for i in wrt) if full and wrt is not None else None
    summary["n_out"] = math.prod(result.out_shape) if full else None
    summary["calibration_s"] = result.calibration_s
    chosen_seed = document["options"].get("seed")
    summary["seed"] = case.seed if chosen_seed is None else chosen_seed
    document["cases"][case.id] = summary
    for record in result.records:
        blocks = result.jacobians.get((record["method"], record["dtype"]))
        if blocks is not None:
            record["jacobian"] = {"key": jacobian_key(case.id, record["method"], record["dtype"], None),
                                  "blocks": len(blocks)}
            for k, block in enumerate(blocks):
                arrays[jacobian_key(case.id, record["method"], record["dtype"], k)] = block
        document["results"].append(record)
    for k, block in enumerate(result.reference or []):
        arrays[jacobian_key(case.id, "reference", "float64", k)] = block


def sort_like(document: RunDocument, case_ids: list[str]) -> None:
    """Cases finish in any order on several workers; results keep the library's order. Each case's summary
    keeps its `position` in `case_ids` (the whole selection, also in a `run --shard` part), by which `merge`
    puts the parts' cases back in the order of one unsharded run."""
    order = {case_id: k for k, case_id in enumerate(case_ids)}
    for case_id, summary in document["cases"].items():
        summary["position"] = order[case_id]
    document["cases"] = dict(sorted(document["cases"].items(), key=lambda item: order[item[0]]))
    document["results"].sort(key=lambda r: order[r["case"]])


def mark_interrupted(document: RunDocument, cases_planned: int, evaluations_journaled: int, resume: str) -> None:
    """The run stopped before every case finished: what it holds, and the command that finishes it."""
    document["partial"] = True
    document["interrupted"] = {"cases_finished": len(document["cases"]), "cases_planned": cases_planned,
                               "evaluations_journaled": evaluations_journaled, "resume": resume}


class DocumentError(Exception):
    """Documents that cannot be combined (merge); the message names the part and the difference."""


MACHINE_WARNINGS = ("environment cpu ", "environment cpu_count ")


def merge(parts: list[tuple[str, RunDocument, dict]],
          allow_different_machines: bool = False) -> tuple[RunDocument, dict]:
    """One run from the (path, document, arrays) of its `run --shard` parts, in the order of one unsharded
    run; DocumentError when a part is of another run or holds a pair twice."""
    from jacobian_harness.comparison import environment_warnings

    first_path, first, _ = parts[0]
    for path, document, _ in parts[1:]:
        # Shards of one run share everything but their shard: any other difference is two different runs.
        differences = [d for d in environment_warnings(first, document, library="")
                       if not (allow_different_machines and d.startswith(MACHINE_WARNINGS))]
        differences += [f"run option {name} differs"
                        for name in ("dtype", "selected_methods", "case_files", "packs", "samples")
                        if first["options"].get(name) != document["options"].get(name)]
        if differences:
            raise DocumentError(f"{path} is not a part of the same run as {first_path}: {differences[0]}")
    # A part's cost is of that part (its machine, its workers): the merged run keeps none of its own.
    merged: dict[str, Any] = {key: value for key, value in first.items() if key not in ("cases", "results", "cost")}
    merged["environment"] = dict(first["environment"])
    merged["options"] = {**first["options"], "command": "merge", "shard": None,
                         "merged_from": [p for p, _, _ in parts]}
    machines = sorted({str(document["environment"].get("cpu")) for _, document, _ in parts})
    if len(machines) > 1:  # their speeds are not comparable: `compare` says so and judges no speed
        merged["environment"].update(cpu=f"{len(machines)} machines", machines=machines)
    merged["cases"], merged["results"], arrays, seen = {}, [], {}, set()
    for path, document, part_arrays in parts:
        for record in document["results"]:
            key = pair_key(record)
            if key in seen:
                raise DocumentError(f"{path}: pair {' '.join(key)} is also in another part (the same shard twice?)")
            seen.add(key)
            merged["results"].append(record)
        merged["cases"].update(document["cases"])
        arrays.update(part_arrays)
        merged["partial"] = merged.get("partial", False) or bool(document.get("partial"))
        for name, pick in (("started_at", min), ("finished_at", max)):
            values = [str(v) for v in (merged["environment"].get(name), document["environment"].get(name)) if v]
            merged["environment"][name] = pick(values) if values else None
    # The order of one unsharded run: cases by their position in it (as first seen in parts written before
    # cases had one), methods as selected, float64 before float32.
    if all("position" in summary for summary in merged["cases"].values()):
        merged["cases"] = dict(sorted(merged["cases"].items(), key=lambda item: item[1]["position"]))
    cases = {case_id: k for k, case_id in enumerate(merged["cases"])}
    methods = {method_id: k for k, method_id in enumerate(first["options"].get("selected_methods") or [])}
    merged["results"].sort(key=lambda r: (cases.get(r["case"], len(cases)), r["dtype"] != "float64",
                                          methods.get(r["method"], len(methods))))
    return cast(RunDocument, merged), arrays


def save(out: Path, document: RunDocument, arrays: dict) -> None:
    """results.json and jacobians.npz, each written atomically (the Jacobians first: a results.json on
    disk always has its arrays)."""
    write_arrays(Path(out) / "jacobians.npz", arrays)
    write_json(Path(out) / "results.json", document)


def load(path: str | Path) -> RunDocument:
    """Read and validate a results.json (or the directory holding one); version 1 comes back upgraded."""
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    document = read_json(path, "results")
    if not isinstance(document, dict) or document.get("kind") != KIND:
        raise ResultsError(f"{path}: not a jacobian-harness results file")
    if document.get("schema_version") not in READS:
        raise ResultsError(f"{path}: schema_version {document.get('schema_version')!r} is not supported "
                           f"(this harness reads {', '.join(map(str, READS))}; upgrade jacobian-harness)")
    if not isinstance(document.get("results"), list):
        raise ResultsError(f"{path}: 'results' is missing or not a list")
    return upgrade(document)


def load_with_jacobians(path: str | Path) -> tuple[RunDocument, dict, Path]:
    """(document, Jacobian arrays, its directory) of a results directory or results.json."""
    directory = Path(path) if Path(path).is_dir() else Path(path).parent
    return load(path), load_jacobians(directory), directory


# Backends whose version v1 files recorded under `versions` (v1 did not record tensorflow's).
_V1_BACKEND_PACKAGES = {"torch": "torch", "jax": "jax", "autograd": "autograd", "fd": "numpy"}


def upgrade(document: dict) -> RunDocument:
    """A version 1 document as version 2: `options.command` and `environment.backends` filled in from
    what version 1 recorded. A version 2 document is returned as it is."""
    if document.get("schema_version") == SCHEMA_VERSION:
        return cast(RunDocument, document)  # load checked its kind and version
    options = dict(document.get("options") or {})
    if options.get("source") == "harness.check":
        options["command"] = "check"
    elif "sweep" in options:
        options["command"] = "sweep"
    elif "merged_from" in options:
        options["command"] = "merge"
    elif "ab_id" in options:
        options["command"] = "ab"
    else:
        options["command"] = "run"
    environment = dict(document.get("environment") or {})
    versions = environment.get("versions") or {}
    environment.setdefault("backends", {name: versions.get(package) for name, package in _V1_BACKEND_PACKAGES.items()})
    return cast(RunDocument, {**document, "schema_version": SCHEMA_VERSION, "options": options,
                              "environment": environment})
