"""Memory a pair needs, estimated before its method runs, against the run's --max-memory.

The estimate counts what a method must hold, in elements of the dtype:
- the Jacobian, twice (the blocks as computed and their stacked or converted copy);
- for a vectorized method (`Method.batch`), the whole batch at once: one basis vector per output ("out",
  vmap of vjp) or per input ("in", vmap of jvp), each carrying a copy of f's inputs and outputs.
f's intermediate values are unknown before it runs, so the batch term is a lower bound for deep
functions; that is why the default limit is only half the free memory. A method that honours
`chunk_size` (torch.func.jacrev) runs in chunks that fit instead of being skipped.
"""

from __future__ import annotations

import math
import re

from jacobian_harness.adapters.base import Method

FREE_FRACTION = 0.5
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def sizes(method: Method, order: int, n_in: int, n_out: int) -> tuple[int, int]:
    # An order-2 method's "output" is the gradient, shaped like its input.
    return (n_in, n_in) if order == 2 else (n_in, n_out)


def estimate_bytes(method: Method, n_in: int, n_out: int, itemsize: int, chunk: int | None = None) -> int:
    elements = 2 * n_in * n_out
    if method.batch is not None:
        batch = n_out if method.batch == "out" else n_in
        if chunk is not None:
            batch = min(batch, chunk)
        elements += batch * (n_in + n_out + (n_out if method.batch == "out" else n_in))
    return elements * itemsize


def fitting_chunk(method: Method, n_in: int, n_out: int, itemsize: int, limit: int) -> int | None:
    """The largest chunk size with which the method fits in `limit`, or None if none does."""
    if not method.chunks or method.batch is None:
        return None
    per_element = (n_in + n_out + (n_out if method.batch == "out" else n_in)) * itemsize
    room = limit - 2 * n_in * n_out * itemsize
    chunk = room // per_element
    return int(chunk) if chunk >= 1 else None


def parse_size(text: str) -> int:
    """'8G', '512M', '1.5G', '1000000' -> bytes (binary units)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", text, re.IGNORECASE)
    if not match:
        raise ValueError(f"{text!r} is not a size like 8G, 512M or 1000000")
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def format_size(size: float) -> str:
    for unit in ("T", "G", "M", "K"):
        if size >= _UNITS[unit]:
            return f"{size / _UNITS[unit]:.3g} {unit}iB"
    return f"{int(size)} B"


def default_max_memory(jobs: int) -> int:
    """Half the memory free now, shared by the workers that run at once."""
    from jacobian_harness.environment import available_memory

    free = available_memory()
    return int(free * FREE_FRACTION / max(1, jobs)) if free else 0


def elements(shapes) -> int:
    return sum(math.prod(shape) for shape in shapes)
