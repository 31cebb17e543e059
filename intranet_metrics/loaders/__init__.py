"""One module per export format; ``detect`` finds the right one by content.

Formats are found, not listed: every module of this package that declares ``NAME`` is a
loader, and declares beside it its ``PRIORITY`` (detection order, lowest first: containers
and formats with a distinctive header before looser ones, generic last), ``CONTAINER``
(a folder or zip rather than a file), ``CAN`` and ``CANNOT`` (what it can tell), and
``sniff`` and ``load``. A new format is one new module here.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from types import ModuleType

# What a loader module must declare; ``all_loaders`` refuses a module missing any.
REQUIRED = ("NAME", "PRIORITY", "DESCRIPTION", "CAN", "CANNOT", "CONTAINER", "sniff", "load")


@cache
def all_loaders() -> tuple[ModuleType, ...]:
    """Every loader module, in detection order (``PRIORITY``, then name)."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        mod = importlib.import_module(f"{__name__}.{info.name}")
        if not hasattr(mod, "NAME"):
            continue  # a helper module (base, rules, textfile, detect, container)
        missing = [a for a in REQUIRED if not hasattr(mod, a)]
        if missing:
            raise TypeError(f"loader {mod.__name__} does not declare {', '.join(missing)}")
        found.append(mod)
    return tuple(sorted(found, key=lambda m: (m.PRIORITY, m.NAME)))


def by_name(name: str) -> ModuleType:
    for mod in all_loaders():
        if name == mod.NAME:
            return mod
    raise KeyError(name)


def format_names() -> list[str]:
    return [m.NAME for m in all_loaders()]
