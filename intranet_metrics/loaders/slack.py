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
from .rules import (
    ACTOR_ID,
    BOT,
    LINE,
    PROBLEM,
    RAW,
    TIME,
    Actor,
    FieldRules,
    apply_fields,
    blank,
    differs,
    filled,
    is_,
    row,
)

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


# Classification as data (SPEC section 6, slack-export), applied by ``rules.apply_fields``
# to records of two kinds: a ``message`` (its own fields) and a ``reaction`` (one per
# person per reaction, at its message's time). A message with no subtype or a human
# subtype is a person's post or reply; every other subtype (joins, topics, bot_message...)
# is kept as other. Bots (a ``bot_id``, Slackbot, ``is_bot`` in users.json) are excluded.
HUMAN = is_("subtype", None, *sorted(HUMAN_SUBTYPES))
RULES = FieldRules(
    time=("ts", lambda values: _micros(values)),
    # A system message's person is its user, a file comment's commenter, else its bot.
    actor=Actor(ids=("user", "comment_user", "bot_id"), prefix="slack:"),
    fields={
        "key": ("key",),
        "item": ("ts",),
        "parent": ("thread_ts",),
        "thread": ("thread_ts",),
        "channel": ("channel",),
    },
    rejects=(
        row("message has no valid ts (epoch seconds)", is_(TIME, None)),
        row("message has no user", is_("kind", "message"), HUMAN, blank("user"), blank("bot_id")),
    ),
    exclusions=(
        row("bot", HUMAN, filled("bot_id")),
        row("bot", HUMAN, is_(ACTOR_ID, SLACKBOT)),
        row("bot", HUMAN, is_(BOT, True)),
    ),
    activities=(
        row("reaction", is_("kind", "reaction")),
        row("reply", is_("subtype", "thread_broadcast")),
        row("reply", HUMAN, differs("thread_ts", "ts")),
        row("post", HUMAN),
    ),
    default="other",
    parent_for=frozenset({"reply"}),
)
# Raw fields read from a message (text values only; anything else is no value).
_FIELDS = ("ts", "subtype", "user", "bot_id", "thread_ts")
_COLUMNS = ("kind", *_FIELDS, "comment_user", "reaction", "key", "channel", LINE, PROBLEM, RAW)
# Records per table handed to ``apply_fields``.
_BLOCK = 8192


def _micros(values: pa.Array) -> pa.Array:
    return pa.array([parse_ts(v) for v in values.to_pylist()], pa.int64())


def _load_day(
    box: Container,
    member: str,
    channel: str,
    users: dict[str, tuple[str | None, bool]],
    builder: EventBuilder,
) -> Iterator[pa.RecordBatch]:
    for table in _read_day(box, member, channel):
        apply_fields(RULES, table, builder, member=member, users=users)
        if builder.full:
            yield builder.flush()


def _read_day(box: Container, member: str, channel: str) -> Iterator[pa.Table]:
    """Tables of a day file's records as raw named fields, ``_BLOCK`` messages at a time.
    A message the reader cannot take (not an object, too deep, unreadable JSON) comes
    with its ``_problem``; ``_line`` is the message's index in the file."""
    block = _Records(channel)
    with box.open_text(member) as fh:
        messages = iter_json_array(fh)
        while True:
            try:
                msg = next(messages)
            except StopIteration:
                break
            except (ValueError, UnicodeDecodeError) as exc:
                # One reject for the unreadable part; the other day files still count.
                reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
                problem = f"day file is not valid JSON ({reason[:120]}); rest of the file skipped"
                block.bad(problem, None)
                break
            block.message(msg)
            if block.size >= _BLOCK:
                yield block.table()
    if block.size:
        yield block.table()


def _text(msg: dict, name: str) -> str | None:
    value = msg.get(name)
    return value if isinstance(value, str) else None


class _Records:
    """Records gathered as columns (``_COLUMNS``)."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.index = 0
        self._start()

    def _start(self) -> None:
        self.columns: dict[str, list] = {name: [] for name in _COLUMNS}
        self.size = 0

    def _add(self, **values: object) -> None:
        for name, column in self.columns.items():
            column.append(values.get(name))

    def bad(self, problem: str, raw: str | None) -> None:
        self.index += 1
        self.size += 1
        self._add(**{LINE: self.index, PROBLEM: problem, RAW: raw})

    def message(self, msg: object) -> None:
        if msg is TOO_DEEP:
            self.bad("message nested too deeply to read", None)
            return
        if not isinstance(msg, dict):
            self.bad("message is not a JSON object", _raw(msg))
            return
        self.index += 1
        self.size += 1
        fields = {name: _text(msg, name) for name in _FIELDS}
        subtype = msg.get("subtype")
        if subtype is not None and not isinstance(subtype, str):
            fields["subtype"] = json.dumps(subtype)  # a name, whatever its JSON type
        comment = msg.get("comment") if isinstance(msg.get("comment"), dict) else {}
        ts, line = msg.get("ts"), self.index
        self._add(
            kind="message",
            comment_user=_text(comment, "user"),
            key=f"{self.channel}/{ts}",
            channel=self.channel,
            **fields,
            **{LINE: line, RAW: _raw(msg)},
        )
        if parse_ts(ts) is not None:  # a message with no time places no reaction in time
            self._reactions(msg.get("reactions"), fields, line)

    def _reactions(self, reactions: object, message: dict, line: int) -> None:
        """One ``reaction`` record per person per reaction of a message."""
        if not isinstance(reactions, list):
            return
        ts, thread = message["ts"], message["thread_ts"]
        for r in reactions:
            if not isinstance(r, dict) or not isinstance(r.get("users"), list):
                continue
            name = r.get("name")
            for uid in r["users"]:
                if isinstance(uid, str):
                    self._add(
                        kind="reaction",
                        ts=ts,
                        thread_ts=thread,
                        user=uid,
                        reaction=name if isinstance(name, str) else None,
                        key=f"{self.channel}/{ts}/{name}/{uid}",
                        channel=self.channel,
                        **{LINE: line},
                    )

    def table(self) -> pa.Table:
        types = {LINE: pa.int64()}
        table = pa.table(
            {n: pa.array(v, types.get(n, pa.string())) for n, v in self.columns.items()}
        )
        self._start()
        return table


def _raw(msg: object) -> str:
    return json.dumps(msg, ensure_ascii=False)[:200]
