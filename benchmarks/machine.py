"""What the benchmark scripts share: how fast this machine is right now."""

from __future__ import annotations

import time
from pathlib import Path


def calibration() -> float:
    """CPU seconds of a fixed pure-Python loop. Shared machines vary by half from hour to
    hour: compare figures taken when this reads about the same (lower is faster)."""
    start = time.process_time()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.process_time() - start


def describe() -> str:
    """CPU model, cores, memory and the versions that decide the figures, on one line."""
    import os
    import platform

    import duckdb
    import pyarrow

    model, mem = platform.processor() or platform.machine(), 0.0
    try:
        with open("/proc/cpuinfo") as fh:
            model = next(x.split(":", 1)[1].strip() for x in fh if x.startswith("model name"))
        with open("/proc/meminfo") as fh:
            mem = int(next(x.split()[1] for x in fh if x.startswith("MemTotal"))) / 2**20
    except (OSError, StopIteration):
        pass
    return (
        f"{model}, {os.cpu_count()} CPUs, {mem:.0f} GB RAM; {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}, pyarrow "
        f"{pyarrow.__version__}, DuckDB {duckdb.__version__}"
    )


def bytecode(*checkouts: Path | None) -> None:
    """Write the bytecode of the package measured (and of each other checkout given) once,
    as pip does when it installs a package. This machine sets PYTHONDONTWRITEBYTECODE=1,
    and an editable install then compiles the package's modules in every process (0.16-0.20
    CPU-s each on 2026-12-02), a cost an installed package never pays and the references'
    libraries (installed, compiled) do not pay either."""
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("intranet_metrics")
    folders = [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
    folders += [Path(c) / "intranet_metrics" for c in checkouts if c is not None]
    for folder in folders:
        compileall.compile_dir(str(folder), quiet=1)
