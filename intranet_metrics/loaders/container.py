"""The zip-or-folder reader shared by the container formats (Slack, Engage exports).

Zip members are streamed, never extracted; member names that escape the archive are
refused, and zip-bomb limits apply to the members actually read (per member, in total,
and by compression ratio), checked both before and while reading.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO

from ..errors import InputError
from ..identity import shown_path

# Zip-bomb limits on the members actually read; module attributes so tests can lower them.
MAX_MEMBER_BYTES = 2 << 30
MAX_TOTAL_BYTES = 8 << 30
MAX_RATIO = 200
# Small members compress far better than 200:1 without being bombs (runs of blanks).
RATIO_FLOOR = 1 << 20
_CHUNK = 1 << 16


class _Counted(io.RawIOBase):
    """A zip member stream that stops at the member's declared size and the total budget."""

    def __init__(self, raw: IO[bytes], label: str, limit: int, box: Container) -> None:
        self._raw = raw
        self._label = label
        self._limit = limit
        self._box = box
        self._n = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        try:
            data = self._raw.read(len(b))
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise InputError(
                f"{shown_path(self._label)}: the member is damaged ({exc}); re-download the export"
            ) from None
        n = len(data)
        self._n += n
        self._box.read_total += n
        if self._n > self._limit or self._box.read_total > MAX_TOTAL_BYTES:
            raise InputError(
                f"{shown_path(self._label)}: uncompressed data exceeds the safety limit "
                "(zip bomb?); "
                "unzip it yourself and check its contents"
            )
        b[:n] = data
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


class Container:
    """Read-only access to the files of a zip or a folder, by relative POSIX name.

    Zip members are streamed (never extracted); names that escape the archive and members
    whose sizes or compression ratio look like a zip bomb raise InputError. Symlinks in a
    folder are skipped.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.read_total = 0
        self._zip: zipfile.ZipFile | None = None
        self._names: list[str] | None = None
        if path.is_dir():
            return
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise InputError(
                f"{path}: not a readable zip ({exc}); re-download the export"
            ) from None
        self._names = []
        for info in self._zip.infolist():
            if not info.filename:  # ZipInfo.is_dir() raises IndexError on it
                self._zip.close()
                raise InputError(
                    f"{path}: a member has no name; the zip is damaged, re-download the export"
                )
            if info.filename.endswith("/"):
                continue
            if _escapes(info.filename):
                self._zip.close()
                raise InputError(
                    f"{path}: member '{info.filename[:80]}' points outside the archive; "
                    "refusing to read it (re-export, or unzip and inspect it yourself)"
                )
            self._names.append(info.filename)

    def __enter__(self) -> Container:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def names(self) -> list[str]:
        """Every regular file, relative to the container root."""
        if self._names is None:
            self._names = _folder_names(self.path)
        return list(self._names)

    def check(self, names: list[str]) -> None:
        """Refuse, before reading anything, members whose declared sizes are unsafe."""
        if self._zip is None:
            return
        total = 0
        for name in names:
            info = self._zip.getinfo(name)
            total += info.file_size
            ratio = info.file_size / max(info.compress_size, 1)
            if (
                info.file_size > MAX_MEMBER_BYTES
                or total > MAX_TOTAL_BYTES
                or (info.file_size > RATIO_FLOOR and ratio > MAX_RATIO)
            ):
                raise InputError(
                    f"{shown_path(f'{self.path}!{name}')}: {info.file_size} bytes uncompressed "
                    f"(ratio {ratio:.0f}:1) exceeds the safety limits (zip bomb?); "
                    "unzip it yourself and check its contents"
                )

    def open(self, name: str) -> IO[bytes]:
        """A binary stream of one member; zip members are counted while read."""
        if self._zip is None:
            return open(self.path / name, "rb")  # the caller closes it
        self.check([name])
        info = self._zip.getinfo(name)
        raw = _Counted(
            self._zip.open(info),
            f"{self.path}!{name}",
            min(info.file_size, MAX_MEMBER_BYTES),
            self,
        )
        return io.BufferedReader(raw, _CHUNK)

    def open_text(self, name: str) -> IO[str]:
        """A member as UTF-8 text (BOM removed), for CSV (newline='') and JSON alike."""
        return io.TextIOWrapper(self.open(name), encoding="utf-8-sig", newline="")


def _escapes(name: str) -> bool:
    """A member name that is absolute or climbs out of the archive (either slash kind)."""
    norm = name.replace("\\", "/")
    return (
        norm.startswith("/")
        or bool(re.match(r"^[A-Za-z]:", norm))
        or ".." in PurePosixPath(norm).parts
    )


def _folder_names(root: Path) -> list[str]:
    names = []
    for dirpath, dirs, files in os.walk(root, followlinks=False):
        base = Path(dirpath)
        dirs[:] = sorted(d for d in dirs if not (base / d).is_symlink())
        for f in sorted(files):
            p = base / f
            if not p.is_symlink() and p.is_file():
                names.append(p.relative_to(root).as_posix())
    return names


def container_names(path: Path, max_depth: int) -> list[str] | None:
    """Names for sniffing: zip members or folder files up to ``max_depth`` below the root,
    None when ``path`` is neither a folder nor a zip (never raises)."""
    try:
        if path.is_dir():
            names = []
            for p in path.iterdir():
                if p.is_symlink():
                    continue
                if p.is_file():
                    names.append(p.name)
                elif p.is_dir() and max_depth > 0:
                    names.extend(
                        f"{p.name}/{c.name}"
                        for c in p.iterdir()
                        if c.is_file() and not c.is_symlink()
                    )
            return names
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                return [i.filename for i in zf.infolist() if not i.filename.endswith("/")]
    except (OSError, zipfile.BadZipFile, ValueError):
        return None
    return None


def member_head(path: Path, name: str, n: int = _CHUNK) -> bytes:
    """The first ``n`` bytes of one file of a folder or zip, for sniffing (bounded read)."""
    if path.is_dir():
        with open(path / name, "rb") as fh:
            return fh.read(n)
    with zipfile.ZipFile(path) as zf, zf.open(name) as fh:
        return fh.read(n)


class _TooDeep:
    """An array element nested too deeply to parse (``iter_json_array`` yields it so the
    caller can reject that one record and read on)."""

    def __repr__(self) -> str:
        return "TOO_DEEP"


TOO_DEEP = _TooDeep()


def _value_end(buf: str, pos: int) -> int | None:
    """Where the JSON array or object starting at ``buf[pos]`` ends (brackets counted
    outside strings), or None when ``buf`` ends first."""
    depth = 0
    i, n = pos, len(buf)
    while i < n:
        c = buf[i]
        if c == '"':
            i += 1
            while i < n and buf[i] != '"':
                i += 2 if buf[i] == "\\" else 1
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


def iter_json_array(fh: IO[str], limit: int = 64 << 20) -> Iterator[object]:
    """Yield the elements of a top-level JSON array one at a time (bounded memory).

    Raises ValueError (a json.JSONDecodeError or a plain message) at the first element
    that cannot be read; elements already yielded stay valid.
    """
    reader = _ArrayReader(fh, limit)
    if reader.skip_ws() != "[":
        raise ValueError("the file is not a JSON array")
    reader.pos += 1
    first = True
    while True:
        c = reader.skip_ws()
        if c == "]":
            return
        if not c:
            raise ValueError("the JSON array is cut short")
        if not first:
            if c != ",":
                raise ValueError(f"expected ',' or ']' at character {reader.pos}")
            reader.pos += 1
            reader.skip_ws()
        first = False
        yield reader.value()


class _ArrayReader:
    """A text stream read in chunks, with a position in what is buffered."""

    def __init__(self, fh: IO[str], limit: int) -> None:
        self.fh, self.limit = fh, limit
        self.dec = json.JSONDecoder()
        self.buf = ""
        self.pos = 0
        self.eof = False

    def fill(self) -> bool:
        if self.eof:
            return False
        # Read at least as much as is buffered so a long element costs O(n log n), not O(n^2).
        chunk = self.fh.read(max(_CHUNK, len(self.buf) - self.pos))
        if not chunk:
            self.eof = True
            return False
        self.buf = self.buf[self.pos :] + chunk
        self.pos = 0
        return True

    def skip_ws(self) -> str:
        """The next character that is not white space ("" at the end)."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.fill():
                return ""

    def value(self) -> object:
        """The JSON value at the position (reading more as needed); moves past it."""
        while True:
            try:
                value, end = self.dec.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError:
                if len(self.buf) - self.pos > self.limit or not self.fill():
                    raise
                continue
            except RecursionError:
                # Nested deeper than the parser can go: pass over this element only.
                end = _value_end(self.buf, self.pos)
                if end is None:
                    if len(self.buf) - self.pos > self.limit or not self.fill():
                        raise ValueError("a value nested too deeply, cut short") from None
                    continue
                value = TOO_DEEP
            # A number at the buffer's end may continue in the next chunk.
            if end == len(self.buf) and self.fill():
                continue
            self.pos = end
            return value


ARCHIVE_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError)


def archive_error(path: Path, exc: BaseException) -> InputError | None:
    """The one-line error for a damaged, encrypted or unsupported zip that surfaced from
    deep inside zipfile, or None when ``exc`` is not such a problem (then it is a bug)."""
    if isinstance(exc, (zipfile.BadZipFile, zlib.error, EOFError)):
        return InputError(f"{path}: the archive is damaged ({exc}); re-download or re-export it")
    text = str(exc).lower()
    # zipfile's words for an encrypted member, an unknown compression method or feature.
    if isinstance(exc, NotImplementedError) or (
        isinstance(exc, RuntimeError) and ("encrypted" in text or "password" in text)
    ):
        return InputError(
            f"{path}: a member is encrypted or uses an unsupported zip feature ({exc}); "
            "export again without a password, or unzip it yourself"
        )
    return None
