"""One module per export format; ``detect`` finds the right one by content."""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType

# Detection order: containers first, then formats with a distinctive header, generic last.
_MODULES: tuple[str, ...] = (
    "slack",
    "engage",
    "m365_usage",
    "m365_audit",
    "iis",
    "apache",
    "generic",
)


@cache
def all_loaders() -> tuple[ModuleType, ...]:
    """Every loader module, in detection order."""
    return tuple(importlib.import_module(f"{__name__}.{m}") for m in _MODULES)


def by_name(name: str) -> ModuleType:
    for mod in all_loaders():
        if name == mod.NAME:
            return mod
    raise KeyError(name)


def format_names() -> list[str]:
    return [m.NAME for m in all_loaders()]
