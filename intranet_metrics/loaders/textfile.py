"""Opening export files, in one place: gzip, byte-order marks, encodings, CSV separators,
and CSV records split with a length limit of the reader's own.

Every loader and the roster open their files here, so a rule about bytes (a ``.gz``
archive, a UTF-16 BOM, a Windows-1252 spreadsheet, a ``;`` separator) is written once.
Nothing here changes process-global state: the csv module's field size limit is read,
never set (it is one value for the whole process, and a thread reading another file
would see it change).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import pyarrow as pa

from ..errors import InputError

GZIP_MAGIC = b"\x1f\x8b"
HEAD_BYTES = 64 * 1024
# Separators a spreadsheet writes: Excel in a Dutch (or German, French) locale writes ';'.
DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
WINDOWS_1252 = "cp1252"
_SCAN = 1 << 20
# Errors a damaged gzip stream raises while it is read.
GZIP_ERRORS = (gzip.BadGzipFile, EOFError, zlib.error)


def is_gzip(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(2) == GZIP_MAGIC
    except OSError:
        return False


def open_binary(path: Path) -> IO[bytes]:
    """A file's bytes; a gzip file (by its magic number, whatever its name) is streamed
    decompressed, so ``u_ex260101.log.gz`` reads as the log it holds."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == GZIP_MAGIC:
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def read_head(path: Path, n: int = HEAD_BYTES) -> bytes:
    """The first ``n`` bytes of a file (of its content, for a gzip file). A damaged gzip
    gives what could be read."""
    with open_binary(path) as fh:
        try:
            return fh.read(n)
        except GZIP_ERRORS:
            return b""


def bom(head: bytes) -> str | None:
    """The encoding a byte-order mark at the start of ``head`` names (``utf-16`` or
    ``utf-8-sig``), or None without one. The one place BOMs are recognised."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    return None


@contextmanager
def open_lines(
    path: Path, errors: str = "strict", newline: str | None = ""
) -> Iterator[IO[bytes] | IO[str]]:
    """A line-oriented export for a loader that reads bytes (gzip streamed): the bytes
    after any UTF-8 BOM, or, for UTF-16 with a BOM, the decoded text (``errors`` and
    ``newline`` as for ``open``). The loader tells the two apart with
    ``isinstance(fh, io.TextIOBase)``; the encoding is found here, nowhere else."""
    with open_binary(path) as raw:
        mark = bom(raw.read(3))
        if mark != "utf-16":
            raw.seek(len(codecs.BOM_UTF8) if mark else 0)
            yield raw
            return
        raw.seek(0)
        text = io.TextIOWrapper(raw, encoding="utf-16", errors=errors, newline=newline)
        try:
            yield text
        finally:
            text.detach()  # the file is closed once, by the with above


def decode_head(head: bytes) -> str:
    """The start of a file as text (BOM removed; undecodable bytes replaced) for sniffing."""
    return head.decode("utf-16" if bom(head) == "utf-16" else "utf-8-sig", errors="replace")


@dataclass(frozen=True)
class Encoding:
    """How a text file is decoded: ``name`` for Python, and a note when it was assumed."""

    name: str
    note: str | None = None
    # Windows-1252 assumed: the first byte that is not UTF-8 (hex) and its line, so that a
    # warning can be phrased in the reader's language (notices.py "roster_encoding").
    bad_byte: str | None = None
    bad_line: int | None = None


def _codec(name: str, where: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise InputError(
            f"{where}: unknown encoding '{name}'; use e.g. utf-8, utf-16, cp1252 "
            "(Windows-1252) or latin-1"
        ) from None


def first_bad_line(fh: IO[bytes], decoder: codecs.IncrementalDecoder) -> tuple[int, str] | None:
    """The line (1-based) and byte of the first place ``decoder`` cannot read, or None."""
    line = 1
    while chunk := fh.read(_SCAN):
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            # exc.object is the held-back partial character (never a newline) + chunk.
            bad = exc.object[exc.start : exc.start + 1].hex()
            return line + exc.object[: exc.start].count(b"\n"), bad
        line += chunk.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        return line, exc.object[exc.start : exc.start + 1].hex()
    return None


def _utf8_bad_line(path: Path) -> tuple[int, str] | None:
    """Where a file stops being UTF-8 (None if it is UTF-8 throughout). Blocks cut at a
    line end (LF is never part of a multi-byte character) are checked by Arrow, an ASCII
    block as it was read (no character to cut); only a bad block is decoded to find the
    line, and only then are the lines before it counted."""
    done = 0  # bytes found UTF-8 (before ``tail``)
    with open_binary(path) as fh:
        tail = b""
        while True:
            chunk = fh.read(_SCAN)
            if not tail and chunk.isascii():  # the usual block: nothing to cut or copy
                if not chunk:
                    return None
                done += len(chunk)
                continue
            data = tail + chunk
            cut = data.rfind(b"\n") + 1 if chunk else len(data)
            if not cut and chunk and len(data) < 4 * _SCAN:
                tail = data  # no line end yet: wait for more (bounded below)
                continue
            if not cut:  # a very long line: cut before a character's continuation bytes
                cut = len(data)
                while cut > len(data) - 4 and cut and 0x80 <= data[cut - 1] < 0xC0:
                    cut -= 1
                if cut and data[cut - 1] >= 0xC0:
                    cut -= 1
                cut = cut or len(data)
            block, tail = data[:cut], data[cut:]
            if block and not is_utf8(block):
                dec = codecs.getincrementaldecoder("utf-8")()
                found = first_bad_line(io.BytesIO(block), dec)
                if found is not None:
                    return _line_ends(path, done) + found[0], found[1]
            done += len(block)
            if not chunk:
                return None


def _line_ends(path: Path, size: int) -> int:
    """The LF bytes among the first ``size`` bytes of a file (as ``open_binary`` reads it)."""
    n = 0
    with open_binary(path) as fh:
        while size > 0 and (chunk := fh.read(min(size, _SCAN))):
            n += chunk.count(b"\n")
            size -= len(chunk)
    return n


def is_utf8(block: bytes) -> bool:
    """Valid UTF-8 (as strictly as Python's decoder judges), checked by Arrow (~20x faster
    than a decode). A block cut inside a character is invalid: callers cut at line ends."""
    if block.isascii():
        return True
    text = pa.Array.from_buffers(
        pa.string(),
        1,
        [None, pa.py_buffer(np.array([0, len(block)], np.int32)), pa.py_buffer(block)],
    )
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def choose_encoding(path: Path, forced: str | None = None) -> Encoding:
    """The encoding of a text export: ``forced`` (``--encoding``) if given; UTF-16 when it
    starts with a UTF-16 BOM; UTF-8 (with or without BOM) when every byte is UTF-8;
    otherwise Windows-1252, with a note naming the assumption and the line that decided.
    The whole file is checked, so a decoding error never surfaces half-way through a
    read: a forced encoding that does not fit is an error naming the line."""
    where = str(path)
    head = read_head(path, 4)
    if forced:
        name = _codec(forced, where)
        with open_binary(path) as fh:
            if name == "utf-8" and head.startswith(codecs.BOM_UTF8):
                name = "utf-8-sig"
            found = (
                _utf8_bad_line(path)
                if name in ("utf-8", "utf-8-sig")
                else first_bad_line(fh, codecs.getincrementaldecoder(name)())
            )
        if found is not None:
            raise InputError(
                f"{path} line {found[0]}: byte 0x{found[1]} is not {forced} text (tried "
                f"encoding {name}, as forced); give the right --encoding or re-save the file"
            )
        return Encoding(name)
    if bom(head) == "utf-16":
        with open_binary(path) as fh:
            found = first_bad_line(fh, codecs.getincrementaldecoder("utf-16")())
        if found is not None:
            raise InputError(
                f"{path} line {found[0]}: not UTF-16 text after its UTF-16 byte-order mark "
                "(tried encoding utf-16); re-save the file as UTF-8"
            )
        return Encoding("utf-16")
    found = _utf8_bad_line(path)
    if found is None:
        return Encoding("utf-8-sig")
    return Encoding(
        WINDOWS_1252,
        f"not UTF-8 (byte 0x{found[1]} on line {found[0]}); read as Windows-1252 "
        "(Excel's 'CSV' on Windows); give --encoding if it is another",
        bad_byte=found[1],
        bad_line=found[0],
    )


def open_text(
    path: Path,
    newline: str | None = None,
    encoding: Encoding | str | None = None,
    errors: str | None = None,
) -> IO[str]:
    """A text export opened as text: gzip streamed, the BOM removed, decoded with
    ``encoding`` (an ``Encoding`` from ``choose_encoding``, a codec name, or None for the
    BOM rule alone: UTF-16 with a BOM, else UTF-8 with or without one)."""
    if isinstance(encoding, Encoding):
        name = encoding.name
    elif encoding:
        name = encoding
    else:
        name = "utf-16" if bom(read_head(path, 2)) == "utf-16" else "utf-8-sig"
    if name == "utf-8":
        name = "utf-8-sig"  # a BOM is never data
    # Windows-1252 is an assumption (or a choice) for text that is not UTF-8: the five
    # bytes it leaves undefined are replaced rather than fail a spreadsheet's file.
    errors = errors or ("replace" if name == WINDOWS_1252 else "strict")
    return io.TextIOWrapper(open_binary(path), encoding=name, errors=errors, newline=newline)


# -- CSV ----------------------------------------------------------------------------------
def sniff_delimiter(header: str, forced: str | None = None) -> str:
    """The separator of a CSV file, from its header line: the one of ``, ; tab |`` that
    occurs most often outside quotes (a header is short and regular, so counting is
    sure where csv.Sniffer, made for whole samples, guesses). ``forced`` wins."""
    if forced:
        return parse_delimiter(forced)
    outside = header.split('"')[::2]  # the parts between quoted names
    counts = {d: sum(part.count(d) for part in outside) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def parse_delimiter(value: str) -> str:
    """``--delimiter`` as written: a character, or a name (``tab``, ``semicolon``, ...)."""
    names = {v: k for k, v in _DELIMITER_NAMES.items()}
    text = value if value in ("\t", " ") else value.strip()
    text = {"\\t": "\t", "tab": "\t"}.get(text.lower(), names.get(text.lower(), text))
    if len(text) != 1 or text in '"\r\n':
        raise InputError(
            f"'{value}' is no CSV separator: give one character such as ',' ';' '|' or 'tab'"
        )
    return text


def delimiter_name(delimiter: str) -> str:
    return _DELIMITER_NAMES.get(delimiter, repr(delimiter))


@dataclass(frozen=True)
class BadRecord:
    """A CSV record that cannot be read, with the reason (no raw text: it may be huge)."""

    reason: str
    last_line: int


def csv_rows(
    fh: IO[str], delimiter: str = ",", limit: int = 1 << 20, start: int = 1
) -> Iterator[tuple[int, list[str] | BadRecord]]:
    """``(first line, values)`` of each non-blank CSV record of a text stream opened with
    ``newline=''``; a record that cannot be read comes as a ``BadRecord`` and the next one
    is read after it.

    Records are split as RFC 4180 says (a line end inside quotes belongs to the field),
    by counting quotes, and a record longer than ``limit`` characters is skipped a piece
    at a time: memory stays bounded whatever the file, and a 30 MB AuditData value costs
    one reject, not the rest of the file. Records go to the csv module a batch at a time;
    one longer than the csv module's field size limit (one value for the whole process:
    read here, never set) is split by ``split_record``.
    """
    short = csv.field_size_limit()
    blank = " \t\r\n" + delimiter
    lines: list[int] = []
    texts: list[str] = []
    for first, record in _records(fh, limit, start):
        if type(record) is str:
            text = record.rstrip("\r\n")
            if len(text) <= short:
                if text.strip(blank):
                    lines.append(first)
                    texts.append(text)
                    if len(texts) >= _BATCH:
                        yield from _parse(lines, texts, delimiter)
                        lines, texts = [], []
                continue
            yield from _parse(lines, texts, delimiter)
            lines, texts = [], []
            yield first, split_record(text, delimiter)
        else:
            yield from _parse(lines, texts, delimiter)
            lines, texts = [], []
            yield first, record
    yield from _parse(lines, texts, delimiter)


_BATCH = 512


def _parse(
    lines: list[int], texts: list[str], delimiter: str
) -> Iterator[tuple[int, list[str] | BadRecord]]:
    """Records (each complete by its quotes) through one csv.reader; if the csv module
    reads them otherwise (a quote inside an unquoted value), one at a time."""
    if not texts:
        return
    try:
        rows = list(csv.reader(texts, delimiter=delimiter))
    except csv.Error:
        rows = []
    if len(rows) == len(texts):
        yield from zip(lines, rows, strict=True)
        return
    for first, text in zip(lines, texts, strict=True):
        try:
            yield first, next(csv.reader([text], delimiter=delimiter))
        except csv.Error as exc:
            yield first, BadRecord(f"unreadable CSV record ({exc})", first)


def _records(fh: IO[str], limit: int, start: int) -> Iterator[tuple[int, str | BadRecord]]:
    """``(first line, text)`` of each record, split by counting quotes (text keeps its
    line end), or a ``BadRecord`` for one too long or never closed."""
    readline = fh.readline
    line = start - 1  # physical lines read whole so far
    parts: list[str] = []
    size = quotes = first = 0
    over = partial = False
    while True:
        piece = readline(limit)
        if not first and piece[-1:] in ("\n", "\r") and not piece.count('"') % 2:
            line += 1  # the usual case: a line that is a whole record
            yield line, piece
            continue
        if piece:
            if not first:
                first = line + 1
            partial = piece[-1] not in "\r\n"
            quotes += piece.count('"')
            if not over:
                size += len(piece)
                if size > limit:
                    over, parts = True, []
                else:
                    parts.append(piece)
            if partial:
                continue  # a line longer than ``limit``, or the last one: read on
            line += 1
            if quotes % 2:
                continue  # a line end inside quotes
        elif not first:
            return
        else:
            line += partial
        done, odd = not piece, quotes % 2
        record_first, first = first, 0
        quotes = size = 0
        yield _record(record_first, line, "".join(parts), odd, over, limit)
        parts, over = [], False
        if odd or done:
            return


def _record(
    first: int, line: int, text: str, odd: int, over: bool, limit: int
) -> tuple[int, str | BadRecord]:
    """A finished record (lines ``first``-``line``): its text, or why it is unreadable."""
    if odd:
        return first, BadRecord(
            f"unclosed quote: the record from line {first} runs to the end of the file "
            f"(line {line})",
            line,
        )
    if over:
        return first, BadRecord(
            f"record longer than {limit:,} characters (lines {first}-{line}); skipped", line
        )
    return first, text


def split_record(text: str, delimiter: str) -> list[str]:
    """The values of one complete CSV record, read as the csv module reads it (a quote
    opens a quoted value only at a value's start; ``""`` inside is a quote). For records
    longer than the csv module's process-wide field limit."""
    out: list[str] = []
    i, n = 0, len(text)
    while True:
        if i < n and text[i] == '"':
            buf = []
            i += 1
            while True:
                j = text.find('"', i)
                if j < 0:
                    buf.append(text[i:])
                    i = n
                    break
                buf.append(text[i:j])
                if text.startswith('"', j + 1):
                    buf.append('"')
                    i = j + 2
                    continue
                i = j + 1
                break
            # Text after the closing quote up to the separator belongs to the value.
            k = text.find(delimiter, i)
            k = n if k < 0 else k
            buf.append(text[i:k])
            out.append("".join(buf))
            i = k
        else:
            k = text.find(delimiter, i)
            k = n if k < 0 else k
            out.append(text[i:k])
            i = k
        if i >= n:
            return out
        i += 1  # past the separator
        if i == n:
            out.append("")
            return out
