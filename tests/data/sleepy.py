"""Six small cases whose function sleeps a little on each call, so that a run of them takes a few seconds
and can be killed halfway (tests/test_journal.py)."""

import time

from jacobian_harness import case


def _make(k):
    @case(id=f"sleepy.scale{k}", inputs=lambda rng: (rng.standard_normal(3),))
    def scaled(xp, x):
        time.sleep(0.02)
        return (k + 1) * x * x

    return scaled


for _k in range(6):
    _make(_k)
