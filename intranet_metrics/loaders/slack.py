"""slack-export: a Slack workspace export (zip or folder) of users, channels and day files.

Layout: ``users.json``, ``channels.json`` (and ``groups.json``, ``mpims.json``, ``dms.json``)
and ``<channel>/<YYYY-MM-DD>.json``, each a JSON array of messages. Human messages are posts
or replies, every human in a ``reactions[].users`` list gets a ``reaction``, system subtypes
are ``other`` and bots are excluded. Slack exports hold no reads.

This module also holds the zip-or-folder reader shared with the engage-export loader.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO

import pyarrow as pa

from ..errors import InputError
from .base import EventBuilder

NAME = "slack-export"
DESCRIPTION = "Slack workspace export (zip or folder): posts, replies and reactions"
CAN: tuple[str, ...] = ("react", "contribute")
CANNOT = (
    "Slack exports record no reads, so the reader rate counts only people who reacted or posted."
)
CONTAINER = True

# -- the zip-or-folder reader (also used by engage.py) ----------------------------------------
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
                f"{self._label}: the member is damaged ({exc}); re-download the export"
            ) from None
        n = len(data)
        self._n += n
        self._box.read_total += n
        if self._n > self._limit or self._box.read_total > MAX_TOTAL_BYTES:
            raise InputError(
                f"{self._label}: uncompressed data exceeds the safety limit (zip bomb?); "
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
            if info.is_dir():
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
                    f"{self.path}!{name}: {info.file_size} bytes uncompressed "
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
                return [i.filename for i in zf.infolist() if not i.is_dir()]
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


def iter_json_array(fh: IO[str], limit: int = 64 << 20) -> Iterator[object]:
    """Yield the elements of a top-level JSON array one at a time (bounded memory).

    Raises ValueError (a json.JSONDecodeError or a plain message) at the first element
    that cannot be read; elements already yielded stay valid.
    """
    dec = json.JSONDecoder()
    buf = ""
    pos = 0
    eof = False

    def fill() -> bool:
        nonlocal buf, pos, eof
        if eof:
            return False
        # Read at least as much as is buffered so a long element costs O(n log n), not O(n^2).
        chunk = fh.read(max(_CHUNK, len(buf) - pos))
        if not chunk:
            eof = True
            return False
        buf = buf[pos:] + chunk
        pos = 0
        return True

    def skip_ws() -> str:
        nonlocal pos
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n":
                pos += 1
            if pos < len(buf):
                return buf[pos]
            if not fill():
                return ""

    if skip_ws() != "[":
        raise ValueError("the file is not a JSON array")
    pos += 1
    first = True
    while True:
        c = skip_ws()
        if c == "]":
            return
        if not c:
            raise ValueError("the JSON array is cut short")
        if not first:
            if c != ",":
                raise ValueError(f"expected ',' or ']' at character {pos}")
            pos += 1
            skip_ws()
        first = False
        while True:
            try:
                value, end = dec.raw_decode(buf, pos)
            except json.JSONDecodeError:
                if len(buf) - pos > limit or not fill():
                    raise
                continue
            # A number at the buffer's end may continue in the next chunk.
            if end == len(buf) and fill():
                continue
            break
        pos = end
        yield value


# -- slack-export ------------------------------------------------------------------------------
_LISTS = ("channels.json", "groups.json", "mpims.json", "dms.json")
_DAY = re.compile(r"^(?P<channel>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})\.json$")
_TS = re.compile(r"^(\d{1,12})(?:\.(\d{1,6}))?$")
HUMAN_SUBTYPES = frozenset({"me_message", "file_share", "thread_broadcast"})
# Slackbot's own messages carry this user id and no bot_id.
SLACKBOT = "USLACKBOT"


def _root(names: list[str]) -> str | None:
    """The prefix ('' or 'folder/') holding users.json beside a channel list, shallowest first."""
    have = set(names)
    for name in sorted(names, key=lambda n: n.count("/")):
        if name == "users.json" or name.endswith("/users.json"):
            prefix = name[: -len("users.json")]
            if any(prefix + lst in have for lst in _LISTS):
                return prefix
    return None


def sniff(path: Path, head: bytes) -> bool:
    names = container_names(path, max_depth=0 if path.is_dir() else 1)
    if not names:
        return False
    if not path.is_dir():
        # A zip of an export folder keeps that folder as a prefix; deeper is someone else's zip.
        names = [n for n in names if n.count("/") <= 1]
    return _root(names) is not None


def parse_ts(ts: object) -> int | None:
    """Slack's ``"1459154014.000018"`` as integer microseconds (no float rounding)."""
    if not isinstance(ts, str):
        return None
    m = _TS.match(ts.strip())
    if not m:
        return None
    return int(m.group(1)) * 1_000_000 + int((m.group(2) or "0").ljust(6, "0"))


def _read_users(box: Container, name: str | None) -> dict[str, tuple[str | None, bool]]:
    """User id -> (email or None, is_bot)."""
    users: dict[str, tuple[str | None, bool]] = {}
    if name is None:
        return users
    try:
        with box.open_text(name) as fh:
            for u in iter_json_array(fh):
                if isinstance(u, dict) and isinstance(u.get("id"), str):
                    profile = u.get("profile") if isinstance(u.get("profile"), dict) else {}
                    email = profile.get("email") if isinstance(profile.get("email"), str) else None
                    users[u["id"]] = (email or None, bool(u.get("is_bot")))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{box.path}!{name}: users.json cannot be read ({exc}); re-export the workspace"
        ) from None
    return users


def load(path: Path, builder: EventBuilder) -> Iterator[pa.RecordBatch]:
    with Container(path) as box:
        names = box.names()
        prefix = _root(names)
        if prefix is None:
            raise InputError(
                f"{path}: no users.json beside channels.json; give the folder or zip of a "
                "Slack workspace export"
            )
        days = []
        for name in names:
            if name.startswith(prefix) and (m := _DAY.match(name[len(prefix) :])):
                days.append((m["channel"], m["date"], name))
        days.sort()
        users_name = prefix + "users.json"
        box.check([users_name] + [d[2] for d in days])
        users = _read_users(box, users_name)
        for channel, _date, name in days:
            yield from _load_day(box, name, channel, users, builder)


def _load_day(
    box: Container,
    member: str,
    channel: str,
    users: dict[str, tuple[str | None, bool]],
    builder: EventBuilder,
) -> Iterator[pa.RecordBatch]:
    with box.open_text(member) as fh:
        messages = iter_json_array(fh)
        index = 0
        while True:
            try:
                msg = next(messages)
            except StopIteration:
                break
            except (ValueError, UnicodeDecodeError) as exc:
                # One reject for the unreadable part; the other day files still count.
                reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
                builder.reject(
                    index + 1,
                    f"day file is not valid JSON ({reason[:120]}); rest of the file skipped",
                    member=member,
                )
                break
            index += 1
            _add_message(builder, member, index, channel, msg, users)
            if builder.full:
                yield builder.flush()


def _raw(msg: object) -> str:
    return json.dumps(msg, ensure_ascii=False)[:200]


def _actor(uid: str, users: dict[str, tuple[str | None, bool]]) -> str:
    email = users.get(uid, (None, False))[0]
    return email or f"slack:{uid}"


def _is_bot(uid: str | None, users: dict[str, tuple[str | None, bool]]) -> bool:
    return uid == SLACKBOT or (uid is not None and users.get(uid, (None, False))[1])


def _add_message(
    builder: EventBuilder,
    member: str,
    line: int,
    channel: str,
    msg: object,
    users: dict[str, tuple[str | None, bool]],
) -> None:
    if not isinstance(msg, dict):
        builder.reject(line, "message is not a JSON object", _raw(msg), member=member)
        return
    ts = msg.get("ts")
    us = parse_ts(ts)
    if us is None:
        builder.reject(line, f"message has no valid ts: {str(ts)[:40]!r}", _raw(msg), member=member)
        return
    user = msg.get("user") if isinstance(msg.get("user"), str) else None
    bot_id = msg.get("bot_id") if isinstance(msg.get("bot_id"), str) else None
    subtype = msg.get("subtype")
    thread_ts = msg.get("thread_ts") if isinstance(msg.get("thread_ts"), str) else None
    common = {
        "time": us,
        "line": line,
        "key": f"{channel}/{ts}",
        "item": ts,
        "thread": thread_ts,
        "channel": channel,
        "member": member,
    }
    if subtype is None or subtype in HUMAN_SUBTYPES:
        if user is None and bot_id is None:
            builder.reject(line, "message has no user", _raw(msg), member=member)
            return
        reply = (thread_ts is not None and thread_ts != ts) or subtype == "thread_broadcast"
        builder.add(
            actor=f"slack:{bot_id}" if user is None else _actor(user, users),
            activity="reply" if reply else "post",
            parent=thread_ts if reply else None,
            excluded="bot" if bot_id is not None or _is_bot(user, users) else None,
            **common,
        )
    else:
        # System and integration messages (joins, topics, bot_message...) are kept as other.
        comment = msg.get("comment") if isinstance(msg.get("comment"), dict) else {}
        who = user or comment.get("user") or bot_id
        builder.add(
            actor=_actor(who, users) if isinstance(who, str) else "",
            activity="other",
            **common,
        )
    reactions = msg.get("reactions")
    if not isinstance(reactions, list):
        return
    for r in reactions:
        if not isinstance(r, dict) or not isinstance(r.get("users"), list):
            continue
        name = r.get("name")
        for uid in r["users"]:
            if not isinstance(uid, str):
                continue
            builder.add(
                actor=_actor(uid, users),
                activity="reaction",
                excluded="bot" if _is_bot(uid, users) else None,
                **{**common, "key": f"{channel}/{ts}/{name}/{uid}"},
            )
