"""Find each input's format by its content, and expand folders into sources."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

from ..errors import InputError
from ..identity import quoted
from . import all_loaders, by_name, format_names
from .base import decode_head, read_head
from .container import ARCHIVE_ERRORS, archive_error

# Called with (path, reason) for every file or folder a walk does not read, so that
# nothing is dropped silently: the store lists them as skipped sources.
SkipCallback = Callable[[Path, str], None]
# Called with (path, error) for a recognised export that cannot be read (``--skip-bad``).
FailCallback = Callable[[Path, InputError], None]


class NotAnExport(InputError):
    """A file that is no export of any known format (a README, notes, a picture, an office
    document, a checksum list): named on the command line it is an error; met in a folder
    walk it is listed as skipped with ``reason`` and the walk goes on."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def _looks_utf16_without_bom(head: bytes) -> bool:
    """ASCII text saved as UTF-16 without a byte-order mark: every other byte is NUL."""
    sample = head[:400]
    if len(sample) < 8:
        return False
    for start in (0, 1):
        nuls = sample[start::2].count(0)
        if nuls >= 0.9 * len(sample[start::2]) and sample[1 - start :: 2].count(0) == 0:
            return True
    return False


def _sniff(mod: ModuleType, path: Path, head: bytes) -> bool:
    """A loader's sniff, which must never end a run with a traceback: a damaged archive is
    the user's one-line error, any other failure to look inside means "not this format"."""
    try:
        return bool(mod.sniff(path, head))
    except ARCHIVE_ERRORS as exc:
        err = archive_error(path, exc)
        if err is None:
            raise
        raise err from None
    except (OSError, UnicodeDecodeError, ValueError):
        return False


def _zip_members(path: Path) -> list[str]:
    try:
        with zipfile.ZipFile(path) as zf:
            return [i.filename for i in zf.infolist() if not i.filename.endswith("/")]
    except (OSError, zipfile.BadZipFile, ValueError):
        return []


def detect(path: Path, forced: str | None = None) -> ModuleType:
    """The loader for ``path``; ``forced`` names one (``--input-format``)."""
    if forced:
        try:
            return by_name(forced)
        except KeyError:
            raise InputError(
                f"unknown --input-format '{forced}'; choose one of {', '.join(format_names())}"
            ) from None
    is_dir = path.is_dir()
    try:
        head = b"" if is_dir else read_head(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc}); check it") from None
    # One zip check per file (not one per loader): it opens the file.
    container = is_dir or zipfile.is_zipfile(path)
    for mod in all_loaders():
        if container != mod.CONTAINER:
            continue
        if _sniff(mod, path, head):
            return mod
    if path.is_file() and not decode_head(head).strip():
        raise NotAnExport(
            f"{path}: the file is empty; nothing to ingest (remove it or re-export)",
            "an empty file",
        )
    if not is_dir and container:
        members = _zip_members(path)
        shown = ", ".join(m[:40] for m in members[:3]) + (", ..." if len(members) > 3 else "")
        nested = any(m.lower().endswith(".zip") for m in members)
        raise NotAnExport(
            f"{path}: a zip that is not a Slack or Engage export (holds "
            f"{quoted(shown) if shown else 'nothing'}"
            f"{'; zips inside zips are not opened' if nested else ''}); unzip it and "
            "ingest the folder",
            "a zip (or office document) that is no Slack or Engage export"
            + ("; zips inside zips are not opened" if nested else ""),
        )
    if _looks_utf16_without_bom(head):
        raise InputError(
            f"{path} line 1: UTF-16 text without a byte-order mark; save it as UTF-8 "
            "(or UTF-16 with BOM) and ingest it again"
        )
    if b"\x00" in head[:4096]:
        raise NotAnExport(
            f"{path}: a binary file, not a text export; remove it from the folder or give "
            "the export itself (see 'intranet-metrics formats')",
            "a binary file",
        )
    lines = decode_head(head[:200]).splitlines()
    first = lines[0][:60] if lines else ""
    raise NotAnExport(
        f"{path}: not a known export format (starts {quoted(first)}); force one with "
        "--input-format, or see 'intranet-metrics formats'",
        "text of no known export format; force one with --input-format if it is one",
    )


def expand(
    paths: list[Path],
    forced: str | None = None,
    on_skip: SkipCallback | None = None,
    on_fail: FailCallback | None = None,
) -> Iterator[tuple[Path, ModuleType]]:
    """Every source under ``paths``: a folder that is an export is one source, other folders
    are walked (sorted, symlinks and hidden names not followed), and each file is detected
    on its own. Whatever a walk leaves out is passed to ``on_skip`` with the reason: hidden
    files, links, special files, and files that are no export (``NotAnExport``). A file
    named in ``paths`` must be an export. A recognised export that cannot be read goes to
    ``on_fail`` when given (``--skip-bad``), else its error ends the run."""
    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: no such file or folder; check the path")
        yield from _expand_one(path, forced, on_skip or (lambda p, why: None), on_fail)


def _expand_one(
    path: Path, forced: str | None, on_skip: SkipCallback, on_fail: FailCallback | None
) -> Iterator[tuple[Path, ModuleType]]:
    if path.is_dir():
        if forced is None:
            mod = _container(path)
            if mod is not None:
                yield path, mod
                return
        elif by_name(forced).CONTAINER:
            yield path, detect(path, forced)
            return
        yield from _walk(path, forced, on_skip, on_fail)
        return
    try:
        mod = detect(path, forced)
    except NotAnExport:
        raise
    except InputError as exc:
        if on_fail is None:
            raise
        on_fail(path, exc)
        return
    yield path, mod


def _container(path: Path) -> ModuleType | None:
    """The container format (Slack, Engage) a folder is an export of, or None."""
    return next((m for m in all_loaders() if m.CONTAINER and _sniff(m, path, b"")), None)


def _walk(
    path: Path, forced: str | None, on_skip: SkipCallback, on_fail: FailCallback | None
) -> Iterator[tuple[Path, ModuleType]]:
    """The sources in a folder that is no export itself: sorted, hidden names and links
    not followed, each skipped name passed to ``on_skip`` with the reason."""
    for root, dirs, files in os.walk(path, followlinks=False):
        dirs.sort()
        rootp = Path(root)
        keep = []
        for d in dirs:
            found = _sub_folder(rootp / d, forced, on_skip, on_fail)
            if found is True:
                keep.append(d)
            elif found is not None and found is not False:
                yield found
        dirs[:] = keep
        for name in sorted(files):
            found_file = _file(rootp / name, forced, on_skip, on_fail)
            if found_file is not None:
                yield found_file


def _sub_folder(
    sub: Path, forced: str | None, on_skip: SkipCallback, on_fail: FailCallback | None
) -> tuple[Path, ModuleType] | bool | None:
    """A sub-folder met in a walk: a source of its own (an export), True to walk into it,
    False to leave it (a link, hidden, or a failed export)."""
    if sub.is_symlink():
        on_skip(sub, "symbolic link to a folder: not followed")
        return False
    if sub.name.startswith("."):
        on_skip(sub, "hidden folder: not read")
        return False
    try:
        mod = _container(sub)
    except InputError as exc:
        if on_fail is None:
            raise
        on_fail(sub, exc)
        return False
    if mod is not None and forced is None:
        return sub, mod
    return True


def _file(
    f: Path, forced: str | None, on_skip: SkipCallback, on_fail: FailCallback | None
) -> tuple[Path, ModuleType] | None:
    """A file met in a walk: its source, or None when it is skipped or failed (said)."""
    if f.is_symlink():
        on_skip(f, "symbolic link: not followed (give its target instead)")
    elif f.name.startswith(".") or _hidden_on_windows(f):
        on_skip(f, "hidden file: not read")
    elif not f.is_file():
        on_skip(f, "not a regular file")
    else:
        try:
            return f, detect(f, forced)
        except NotAnExport as exc:
            on_skip(f, f"skipped (not an export): {exc.reason}")
        except InputError as exc:
            if on_fail is None:
                raise
            on_fail(f, exc)
    return None


def _hidden_on_windows(path: Path) -> bool:
    """Windows' hidden attribute (Thumbs.db, desktop.ini carry it); False elsewhere."""
    attrs = getattr(path.lstat(), "st_file_attributes", 0)
    return bool(attrs & 2)  # FILE_ATTRIBUTE_HIDDEN
