from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI (CI=true) runs the same examples every time, so a submission's result does not depend
# on the draw; a deeper random search is local: FUZZ_EXAMPLES=3000 pytest tests/test_fuzz.py
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT.parent / "shared" / "samples"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def samples() -> Path:
    """The real exports in ../shared/samples; tests using it skip when it is absent."""
    if not SAMPLES.is_dir():
        pytest.skip("../shared/samples is not present")
    return SAMPLES


@pytest.fixture
def data() -> Path:
    return DATA


def pytest_collection_modifyitems(config, items):
    """Modules holding a test marked slow run first, whole (module fixtures are built once),
    in their own order. pytest-xdist (pyproject.toml: -n 2 --dist loadfile) hands each worker
    one file at a time in this order, so the longest files do not start last and leave one
    worker idle while the other finishes them."""
    modules: dict[str, list] = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::")[0], []).append(item)
    slow = [m for m, its in modules.items() if any(i.get_closest_marker("slow") for i in its)]
    rest = [m for m in modules if m not in slow]
    items[:] = [item for m in slow + rest for item in modules[m]]
