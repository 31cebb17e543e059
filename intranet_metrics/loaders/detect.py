"""Find each input's format by its content, and expand folders into sources."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from ..errors import InputError
from . import all_loaders, by_name, format_names
from .base import decode_head, read_head


def _is_container_candidate(path: Path) -> bool:
    return path.is_dir() or zipfile.is_zipfile(path)


def detect(path: Path, forced: str | None = None) -> ModuleType:
    """The loader for ``path``; ``forced`` names one (``--input-format``)."""
    if forced:
        try:
            return by_name(forced)
        except KeyError:
            raise InputError(
                f"unknown --input-format '{forced}'; choose one of {', '.join(format_names())}"
            ) from None
    head = b"" if path.is_dir() else read_head(path)
    for mod in all_loaders():
        if _is_container_candidate(path) != mod.CONTAINER and not (mod.CONTAINER and path.is_dir()):
            continue
        if mod.sniff(path, head):
            return mod
    if path.is_file() and not head:
        raise InputError(f"{path}: the file is empty; nothing to ingest (remove it or re-export)")
    first = decode_head(head[:200]).splitlines()[0][:60] if head.strip() else ""
    raise InputError(
        f"{path}: not a known export format (starts {first!r}); force one with "
        "--input-format, or see 'intranet-metrics formats'"
    )


def expand(paths: list[Path], forced: str | None = None) -> Iterator[tuple[Path, ModuleType]]:
    """Every source under ``paths``: a folder that is an export is one source, other folders
    are walked (sorted, symlinks not followed), and each file is detected on its own."""
    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: no such file or folder; check the path")
        yield from _expand_one(path, forced)


def _expand_one(path: Path, forced: str | None) -> Iterator[tuple[Path, ModuleType]]:
    if path.is_dir():
        if forced is None:
            for mod in all_loaders():
                if mod.CONTAINER and mod.sniff(path, b""):
                    yield path, mod
                    return
        elif by_name(forced).CONTAINER:
            yield path, detect(path, forced)
            return
        for root, dirs, files in os.walk(path, followlinks=False):
            dirs.sort()
            rootp = Path(root)
            # A sub-folder that is itself an export (Slack, Engage) is one source.
            keep = []
            for d in dirs:
                sub = rootp / d
                if sub.is_symlink():
                    continue
                mod = next((m for m in all_loaders() if m.CONTAINER and m.sniff(sub, b"")), None)
                if mod is not None and forced is None:
                    yield sub, mod
                else:
                    keep.append(d)
            dirs[:] = keep
            for name in sorted(files):
                f = rootp / name
                if f.is_symlink() or name.startswith(".") or not f.is_file():
                    continue
                yield f, detect(f, forced)
        return
    yield path, detect(path, forced)
