"""What the benchmark scripts share: how fast this machine is right now."""

from __future__ import annotations

import time


def calibration() -> float:
    """CPU seconds of a fixed pure-Python loop. Shared machines vary by half from hour to
    hour: compare figures taken when this reads about the same (lower is faster)."""
    start = time.process_time()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.process_time() - start
