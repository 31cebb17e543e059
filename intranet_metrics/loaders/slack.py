"""slack-export: a Slack workspace export (zip or folder) of users, channels and day files.

Layout: ``users.json``, ``channels.json`` (and ``groups.json``, ``mpims.json``, ``dms.json``)
and ``<channel>/<YYYY-MM-DD>.json``, each a JSON array of messages. Human messages are posts
or replies, every human in a ``reactions[].users`` list gets a ``reaction``, system subtypes
are ``other`` and bots are excluded. Slack exports hold no reads.

Zip and folder reading lives in ``container.py``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from ..errors import InputError
from .base import EventBuilder
from .container import TOO_DEEP, Container, container_names, iter_json_array

NAME = "slack-export"
DESCRIPTION = "Slack workspace export (zip or folder): posts, replies and reactions"
CAN: tuple[str, ...] = ("react", "contribute")
CANNOT = (
    "Slack exports record no reads, so the reader rate counts only people who reacted or posted."
)
CONTAINER = True
PRIORITY = 10  # detection order (loaders/__init__.py)

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
            if msg is TOO_DEEP:
                builder.reject(index, "message nested too deeply to read", member=member)
                continue
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
        builder.reject(line, "message has no valid ts (epoch seconds)", _raw(msg), member=member)
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
    _add_reactions(builder, msg.get("reactions"), users, common)


def _add_reactions(
    builder: EventBuilder,
    reactions: object,
    users: dict[str, tuple[str | None, bool]],
    common: dict,
) -> None:
    """One ``reaction`` event per person per reaction of a message."""
    if not isinstance(reactions, list):
        return
    channel, ts = common["channel"], common["item"]
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
