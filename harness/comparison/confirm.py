"""Two stages of an `ab`'s pair verdicts: the screen (every pair's rounds) picks candidates, the confirmation
(the candidates alone, timed again in more rounds of fresh processes) judges them.

Holm's adjustment over a thousand pairs needs a p-value near alpha / 2000 to call one pair: on a busy machine
a real x3.7 slowdown (unadjusted p 5e-5) stayed inconclusive (issue 30). So, as a careful experimenter does,
the screen only selects: a change of at least the minimum effect with an unadjusted one-sided p below
SCREEN_P (or an interval beyond the minimum effect). The candidates are then measured again, independently of
the rounds that picked them, and Holm's adjustment runs over the candidates only: the chance of any false
call among them stays below alpha, whichever pairs the screen picked. A pair the screen did not pick keeps
its screen verdict, adjusted over every pair as in one stage (it calls nothing a candidate would not).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np

from jacobian_harness.comparison.document import Pair, PairSpeed, Settings, SpeedVerdict, Stages
from jacobian_harness.comparison.speed import Clock, correct_for_many
from jacobian_harness.records import PairKey, pair_key
from jacobian_harness.stats import (Prior, Test, detectable_in_two_stages, moderate, moderated_changes, paired_test,
                                    rounds_test, variance_prior)

SCREEN_P = 0.05       # a candidate's one-sided p-value in the screen, before any adjustment
MAX_CANDIDATES = 40   # timed again at most, the smallest p first: the confirmation's time stays bounded
CONFIRM_FIELDS = {"wall": "confirm_round_medians_s", "cpu": "confirm_round_cpu_medians_s"}
SCREEN_FIELDS = ("ratio", "low", "high", "p_slower", "p_faster", "p_slower_adjusted", "p_faster_adjusted",
                 "verdict")


def direction(speed: Mapping[str, Any], min_effect: float) -> str | None:
    """"slower" or "faster" where a screen verdict calls for a second look, else None."""
    bound = 1.0 + min_effect
    low, high = speed.get("low"), speed.get("high")
    if speed["ratio"] >= bound and (speed["p_slower"] < SCREEN_P or (low is not None and low > bound)):
        return "slower"
    if speed["ratio"] <= 1 / bound and (speed["p_faster"] < SCREEN_P or (high is not None and high < 1 / bound)):
        return "faster"
    return None


def candidates(pairs: Sequence[Pair], min_effect: float) -> list[PairKey]:
    """The library pairs judged on rounds whose screen calls for a second look (`direction`), at most
    MAX_CANDIDATES: the slower ones first, then the faster, each the smallest p-value first. A slowdown fails
    an upgrade check and a speed-up does not; and a change of a whole method (2.15.0's torch.compile'd
    Jacobians, 0.7x: 26 of 40 candidates in a busy `ab` of op.*) must not crowd a slowdown out of the cap."""
    picked = []
    for pair in pairs:
        speed = pair["speed"]
        if pair["control"] or not speed or speed.get("test") != "rounds":
            continue
        if (towards := direction(speed, min_effect)) is not None:
            picked.append((towards != "slower", speed["p_slower" if towards == "slower" else "p_faster"],
                           pair_key(pair)))
    return [key for _, _, key in sorted(picked)[:MAX_CANDIDATES]]


def stage_rounds(base: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[int, int] | None:
    """Rounds a side (screen, confirmation) of the two sides of one `ab` of two stages, else None."""
    options = [document.get("options") or {} for document in (base, new)]
    keys = ("ab_id", "ab_rounds", "ab_confirm_rounds")
    if any(options[0].get(k) != options[1].get(k) for k in keys) or not all(options[0].get(k) for k in keys):
        return None
    return options[0]["ab_rounds"] // 2, options[0]["ab_confirm_rounds"] // 2


def confirm_speeds(pairs: list[Pair], records: tuple[dict, dict], clock: Clock, settings: Settings,
                   screen_tests: dict[PairKey, Test], rounds: tuple[int, int]) -> Stages:
    """The candidates' verdicts from their confirmation rounds (pair["speed"] replaced, the screen's kept
    beside), Holm-adjusted over the candidates; every library pair's `detectable` for two stages.
    `screen_tests`: the screen's test of each library pair judged on rounds; `rounds`: rounds a side
    [screen, confirmation]."""
    base_records, new_records = records
    prior = variance_prior([t[1] for t in screen_tests.values()], [t[2] for t in screen_tests.values()])
    again = []
    for pair in pairs:
        key = pair_key(pair)
        b, n = _confirm_rounds(base_records[key], clock.name), _confirm_rounds(new_records[key], clock.name)
        if key in screen_tests and b and n:
            scale = clock.scales.get(pair["case"], clock.run_scale)
            again.append((pair, b, [m / scale for m in n]))
    tests = [paired_test(b, n) if len(b) == len(n) else rounds_test(b, n) for _, b, n in again]
    changes = moderated_changes(tests, min_effect=settings.min_effect, alpha=settings.alpha, prior=prior)
    for (pair, b, n), change in zip(again, changes, strict=True):
        screen = cast(SpeedVerdict, {k: v for k, v in (pair["speed"] or {}).items() if k in SCREEN_FIELDS})
        pair["speed"] = cast(PairSpeed, {**change.as_record(), "test": "rounds", "rounds": [len(b), len(n)],
                                         "paired": len(b) == len(n), "stage": "confirm", "screen": screen})
    correct_for_many([cast(PairSpeed, pair["speed"]) for pair, _, _ in again], settings)
    outcomes = {"confirmed": 0, "fell back": 0, "reversed": 0}
    for pair in (pair for pair in pairs if pair_key(pair) in screen_tests):
        speed = cast(PairSpeed, pair["speed"])
        if speed.get("stage") == "confirm":
            speed["outcome"] = _outcome(speed, settings.min_effect)
            outcomes[speed["outcome"]] += 1
        else:
            speed["stage"] = "screen"
        se, df = _standard_error(screen_tests[pair_key(pair)], prior)
        two_stages = detectable_in_two_stages(se, df, rounds, len(again), SCREEN_P, settings.min_effect,
                                              settings.alpha)
        speed["detectable"] = max(two_stages, speed.get("detectable") or 0.0) if speed["stage"] == "confirm" \
            else two_stages
    return Stages(screened=len(screen_tests), candidates=len(again), confirmed=outcomes["confirmed"],
                  fell_back=outcomes["fell back"], reversed=outcomes["reversed"], rounds=list(rounds))


def _outcome(speed: PairSpeed, min_effect: float) -> str:
    towards = direction(speed["screen"], min_effect) or ("slower" if speed["screen"]["ratio"] > 1 else "faster")
    if speed["verdict"] == towards:
        return "confirmed"
    return "reversed" if speed["verdict"] in ("slower", "faster") else "fell back"


def _confirm_rounds(record: Mapping[str, Any], clock: str) -> list[float] | None:
    """The confirmation rounds' medians of a record timed again, at least two."""
    timing = record.get("time")
    medians = timing.get(CONFIRM_FIELDS[clock]) if isinstance(timing, dict) else None
    if not medians or len(medians) < 2 or not all(isinstance(m, (int, float)) and m > 0 for m in medians):
        return None
    return list(medians)


def _standard_error(test: Test, prior: Prior) -> tuple[float, float]:
    """A screen test's standard error and degrees of freedom, its variance moderated by the screen's prior."""
    variances, dfs = moderate([test[1]], [test[2]], prior)
    return float(np.sqrt(variances[0] * test[3])), float(dfs[0])
