"""Cases that attack the runner: a segfault, a hang and stray prints. Used by tests/test_worker.py."""
import ctypes
import sys
import time

import numpy as np

from jacobian_harness import case


@case(id="hostile.segfault", inputs=(np.ones(3),))
def segfault(xp, x):
    ctypes.string_at(0)  # reads address 0: SIGSEGV, the way a broken extension crashes
    return x


@case(id="hostile.hang", inputs=(np.ones(3),))
def hang(xp, x):
    time.sleep(3600)
    return x


@case(id="hostile.chatty", inputs=(np.ones(3),), analytic=lambda x: np.diag(2 * x))
def chatty(xp, x):
    print("stray output on stdout")
    sys.stdout.flush()
    return x * x


@case(id="hostile.hog", inputs=(np.ones(3),))
def hog(xp, x):
    np.ones(2**60, dtype=np.uint8)  # an exabyte: the allocation fails with MemoryError
    return x
