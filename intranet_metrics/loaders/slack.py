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
from functools import partial
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputError
from .base import EventBuilder
from .container import TOO_DEEP, Container, container_names, iter_json_array
from .rules import (
    ACTOR_ID,
    BOT,
    LINE,
    MEMBER,
    PROBLEM,
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
# Named groups: Arrow's extract_regex reads the same pattern (``_micros``).
_TS = re.compile(r"^(?P<s>[0-9]{1,12})(?:\.(?P<f>[0-9]{1,6}))?$")
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
        for table, shown in _read_days(box, days):
            raw = partial(_shown, shown)
            apply_fields(RULES, table, builder, users=users, raw=raw)
            if builder.full:
                yield builder.flush()


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
_COLUMNS = ("kind", *_FIELDS, "comment_user", "reaction", "key", "channel", LINE, PROBLEM, MEMBER)
# Records per table handed to ``apply_fields``: the builder's batch (its per-call work, e.g.
# looking up the actors met so far, is then paid as often as the record path paid it).
_BLOCK = 65_536


def _micros(values: pa.Array) -> pa.Array:
    """``parse_ts`` of a column, in Arrow (null where it is no Slack ts)."""
    parts = pc.extract_regex(pc.utf8_trim_whitespace(values.cast(pa.string())), _TS.pattern)
    seconds = pc.struct_field(parts, [0]).cast(pa.int64())
    fraction = pc.utf8_rpad(pc.struct_field(parts, [1]), 6, "0").cast(pa.int64())
    return pc.add(pc.multiply(seconds, 1_000_000), fraction)


def _read_days(
    box: Container, days: list[tuple[str, str, str]]
) -> Iterator[tuple[pa.Table, list[object]]]:
    """Tables of the day files' records as raw named fields, about ``_BLOCK`` records at a
    time whatever the files' sizes (most hold a few messages). A message the reader
    cannot take (not an object, too deep, unreadable JSON) comes with its ``_problem``;
    ``_line`` is the message's index in its day file, ``_member`` the file."""
    block = _Records()
    for channel, _date, member in days:
        block.start(channel, member)
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
                    block.bad(
                        f"day file is not valid JSON ({reason[:120]}); rest of the file skipped"
                    )
                    break
                block.message(msg)
                if block.size >= _BLOCK:
                    yield block.table()
    if block.size:
        yield block.table()


def _text(value: object) -> str | None:
    return value if type(value) is str else None


class _Records:
    """Records gathered as rows of ``_COLUMNS`` (one tuple each), and beside them what a
    reject would show: the message itself, turned into text only if it is rejected."""

    def __init__(self) -> None:
        self._start()

    def start(self, channel: str, member: str) -> None:
        """The next day file's records follow."""
        self.channel, self.member, self.index = channel, member, 0

    def _start(self) -> None:
        self.rows: list[tuple] = []
        self.shown: list[object] = []
        self.size = 0

    def bad(self, problem: str, raw: object = None) -> None:
        self.index += 1
        self.size += 1
        self.rows.append((None,) * (len(_COLUMNS) - 3) + (self.index, problem, self.member))
        self.shown.append(raw)

    def message(self, msg: object) -> None:
        if msg is TOO_DEEP:
            self.bad("message nested too deeply to read")
            return
        if not isinstance(msg, dict):
            self.bad("message is not a JSON object", msg)
            return
        self.index += 1
        self.size += 1
        get = msg.get
        ts, user, bot_id, thread = _text(get("ts")), _text(get("user")), None, None
        if "bot_id" in msg:
            bot_id = _text(get("bot_id"))
        if "thread_ts" in msg:
            thread = _text(get("thread_ts"))
        subtype = get("subtype")
        if subtype is not None and type(subtype) is not str:
            subtype = json.dumps(subtype)  # a name, whatever its JSON type
        comment = get("comment")
        commenter = _text(comment.get("user")) if isinstance(comment, dict) else None
        key = f"{self.channel}/{get('ts')}"
        row = ("message", ts, subtype, user, bot_id, thread, commenter, None, key, self.channel)
        self.rows.append((*row, self.index, None, self.member))
        self.shown.append(msg)
        reactions = get("reactions")
        # A message with no time places no reaction in time (its own reject says so).
        if reactions and parse_ts(ts) is not None:
            self._reactions(reactions, ts, thread)

    def _reactions(self, reactions: object, ts: str, thread: str | None) -> None:
        """One ``reaction`` record per person per reaction of a message."""
        if not isinstance(reactions, list):
            return
        for r in reactions:
            if not isinstance(r, dict) or not isinstance(r.get("users"), list):
                continue
            name = r.get("name")
            for uid in r["users"]:
                if type(uid) is str:
                    key = f"{self.channel}/{ts}/{name}/{uid}"
                    row = ("reaction", ts, None, uid, None, thread, None, _text(name), key)
                    self.rows.append((*row, self.channel, self.index, None, self.member))
                    self.shown.append(None)

    def table(self) -> tuple[pa.Table, list[object]]:
        kinds = {LINE: pa.int64()}
        columns = zip(_COLUMNS, zip(*self.rows, strict=True), strict=True)
        table = pa.table({n: pa.array(v, kinds.get(n, pa.string())) for n, v in columns})
        shown = self.shown
        self._start()
        return table, shown


def _shown(shown: list[object], i: int) -> str | None:
    return None if shown[i] is None else _raw(shown[i])


def _raw(msg: object) -> str:
    return json.dumps(msg, ensure_ascii=False)[:200]
