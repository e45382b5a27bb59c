"""Synthetic runs for the comparison tests (tests/test_comparison_*.py): lognormal timings around
per-pair true times, with rounds, with the two sides of one `ab`, and planted changes."""

import numpy as np

from jacobian_harness.comparison import Settings, compare_runs

METHODS = {"torch.func.jacrev": "torch", "torch.func.jacfwd": "torch", "jax.jacrev": "jax",
           "jax.jacfwd": "jax", "autograd.jacobian": "autograd"}


def synthetic_run(seed: int, cases: int = 30, torch_version: str = "2.13.0", machine: float = 1.0,
                  slow: dict | None = None) -> tuple[dict, dict]:
    """A run of `cases` cases x 5 methods: lognormal samples around a per-pair true time, times `machine`
    (the whole machine's speed) and times slow[(case, method)] (a planted change)."""
    rng = np.random.default_rng(seed)
    truth = np.random.default_rng(0)  # the same true times in every run
    document = {"environment": {"python": "3.11", "cpu": "x", "threads": 1,
                                "versions": {"torch": torch_version, "jax": "0.10.2", "numpy": "2.0"}},
                "options": {"quick": False}, "cases": {}, "results": []}
    arrays = {}
    for c in range(cases):
        case_id = f"case{c}"
        document["cases"][case_id] = {"calibration_s": list(1e-3 * machine * rng.lognormal(0, 0.02, 20))}
        for method, backend in METHODS.items():
            true_s = 10 ** truth.uniform(-5, -3) * machine * (slow or {}).get((case_id, method), 1.0)
            samples = list(true_s * rng.lognormal(0, 0.05, 40))
            document["results"].append({
                "case": case_id, "method": method, "backend": backend, "dtype": "float64", "status": "agree",
                "backend_version": torch_version if backend == "torch" else "same",
                "time": {"median_s": float(np.median(samples)), "samples_s": samples},
                "jacobian": {"key": f"{case_id}|{method}|float64", "blocks": 1}})
            arrays[f"{case_id}|{method}|float64|0"] = np.eye(3) * (c + 1)
    return document, arrays


def compare(base, new, **settings):
    return compare_runs(base[0], new[0], base[1], new[1], Settings(**settings))


def rounds_run(seed: int, rounds: int = 3, cases: int = 30, slow_case: str | None = None, factor: float = 1.25,
               process_sd: float = 0.1) -> tuple[dict, dict]:
    """A `run --rounds` result: each round a fresh process, each pair off its truth by process_sd in each
    (the spread measured here between processes), a whole case slower by `factor` if planted."""
    document, arrays = synthetic_run(seed, cases=cases)
    rng = np.random.default_rng(seed + 1000)
    truth = np.random.default_rng(0)
    for record in document["results"]:
        true_s = 10 ** truth.uniform(-5, -3) * (factor if record["case"] == slow_case and record["backend"] == "torch"
                                                else 1.0)
        medians = list(true_s * np.exp(rng.normal(0, process_sd, rounds)))
        record["time"]["round_medians_s"] = medians
    return document, arrays


def ab_sides(seed: int, rounds: int = 3, cases: int = 30, slow_case: str | None = None, factor: float = 1.25,
             machine_sd: float = 0.3, slow_method: str | None = None,
             process_sd: float = 0.03) -> tuple[tuple[dict, dict], tuple[dict, dict]]:
    """The two sides of one `ab`: in round r both sides' pairs ran back to back, so the machine's state
    that round (lognormal, machine_sd, per case and round) is shared; each side has its own process noise
    (process_sd). A case, or a method in every case, is slower by `factor` if planted."""
    base, new = synthetic_run(seed), synthetic_run(seed + 1)
    rng = np.random.default_rng(seed + 2000)
    truth = np.random.default_rng(0)
    machine = {f"case{c}": np.exp(rng.normal(0, machine_sd, rounds)) for c in range(cases)}
    for b, n in zip(base[0]["results"], new[0]["results"], strict=True):
        true_s = 10 ** truth.uniform(-5, -3)
        slowed = factor if (b["case"] == slow_case and b["backend"] == "torch") or b["method"] == slow_method else 1.0
        b["time"]["round_medians_s"] = list(true_s * machine[b["case"]] * np.exp(rng.normal(0, process_sd, rounds)))
        n["time"]["round_medians_s"] = list(true_s * slowed * machine[b["case"]]
                                            * np.exp(rng.normal(0, process_sd, rounds)))
    for side in (base, new):
        side[0]["options"]["ab_id"] = f"ab{seed}"
    return base, new


def two_stage_sides(seed: int, rounds: int = 3, confirm_rounds: int = 8, cases: int = 60,
                    slow: dict | None = None, process_sd: float = 0.3,
                    machine_sd: float = 0.3) -> tuple[tuple[dict, dict], tuple[dict, dict]]:
    """The two sides of one `ab` of two stages on a noisy machine: every pair's screen rounds, then the screen's
    candidates (picked as `ab` picks them) timed again in `confirm_rounds` rounds a side; slow[(case, method)]
    plants a change of that pair on NEW in both stages."""
    from jacobian_harness.comparison.confirm import candidates

    base, new = ab_sides(seed, rounds=rounds, cases=cases, process_sd=process_sd, machine_sd=machine_sd)
    rng = np.random.default_rng(seed + 3000)
    factors = {(b["case"], b["method"]): (slow or {}).get((b["case"], b["method"]), 1.0) for b in base[0]["results"]}
    for b, n in zip(base[0]["results"], new[0]["results"], strict=True):
        n["time"]["round_medians_s"] = [m * factors[(b["case"], b["method"])] for m in n["time"]["round_medians_s"]]
    for side in (base, new):
        side[0]["options"].update(ab_rounds=2 * rounds, ab_confirm_rounds=2 * confirm_rounds)
    picked = set(candidates(compare(base, new)["pairs"], Settings().min_effect))
    for b, n in zip(base[0]["results"], new[0]["results"], strict=True):
        if (b["case"], b["method"], b["dtype"]) in picked:
            true_s = float(np.median(b["time"]["round_medians_s"]))
            machine = np.exp(rng.normal(0, machine_sd, confirm_rounds))
            b["time"]["confirm_round_medians_s"] = list(
                true_s * machine * np.exp(rng.normal(0, process_sd, confirm_rounds)))
            factor = factors[(b["case"], b["method"])]
            n["time"]["confirm_round_medians_s"] = list(
                true_s * factor * machine * np.exp(rng.normal(0, process_sd, confirm_rounds)))
    return base, new


def with_families(sides):
    """The sides with operator families in their case summaries: case0-4 are "det", the rest f1 ... f5."""
    for side in sides:
        for c in range(30):
            side[0]["cases"][f"case{c}"]["family"] = "det" if c < 5 else f"f{c // 5}"
    return sides
