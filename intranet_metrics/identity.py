"""Actor normalisation, exclusions by actor and user agent, and pseudonymisation (SPEC 4-5)."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Iterable

from .errors import ConfigError

KEY_ENV = "INTRANET_METRICS_KEY"

_CONCEALED = re.compile(r"^[0-9a-f]{32}$")
SYSTEM_ACTORS = frozenset({"sharepoint\\system", "app@sharepoint"})
SYSTEM_PREFIXES = ("nt authority\\", "nt service\\")
BOT_USER_AGENTS: tuple[str, ...] = (
    "ms search 6.0 robot",
    "bot",
    "crawler",
    "spider",
    "microsoft office protocol discovery",
    "microsoft office existence discovery",
    "davclnt",
    "microsoft-webdav-miniredir",
    "windowspowershell",
)
# Namespaces an id from a chat platform is stored under (SPEC section 4).
ID_NAMESPACES = ("slack:", "engage:")

# Values of the event fields ``item``, ``parent``, ``thread`` and ``channel`` that name a
# person (SPEC section 5), as one table every loader's values go through (the builder
# applies it): (fields it applies to, what it finds, pattern). Under a key a matching value
# is replaced by its keyed hash (``Pseudonymiser.value``); docs/privacy.md lists them.
EVENT_FIELDS = ("item", "parent", "thread", "channel")
PERSONAL_VALUES: tuple[tuple[tuple[str, ...], str, re.Pattern[str]], ...] = (
    # SharePoint personal sites and OneDrive: /personal/<upn>/..., <tenant>-my.sharepoint.com
    (EVENT_FIELDS, "personal site", re.compile(r"/personal/|-my\.sharepoint\.", re.I)),
    # An email address or UPN anywhere (a URL query, an audit ObjectId, a group name),
    # also URL-encoded (%40).
    (EVENT_FIELDS, "email address", re.compile(r"[\w.'+-]+(?:@|%40)[\w-]+(?:\.[\w-]+)+")),
    # SharePoint profile pages name the account in the query: Person.aspx?accountname=...
    (EVENT_FIELDS, "account name", re.compile(r"accountname=", re.I)),
    # Confluence personal spaces are keyed by the user name: /display/~jdoe, spaceKey=~jdoe.
    (EVENT_FIELDS, "Confluence personal space", re.compile(r"(?:/|=)(?:~|%7e)", re.I)),
    # Slack direct messages (D + id: the folder of a DM) and group DMs (mpdm-a--b--c-1).
    (("channel",), "Slack direct message", re.compile(r"^D(?=[A-Z]*[0-9])[A-Z0-9]{8,}$")),
    (EVENT_FIELDS, "Slack group direct message", re.compile(r"(?:^|/)mpdm-", re.I)),
)
# A part of a source file name (``export.zip!mpdm-anna--bram-1/2024-01-02.json``) that
# names a person: the channel folders above and email addresses.
_PATH_PARTS = re.compile(r"([/\\!])")


def quoted(text: str) -> str:
    """A piece of an input quoted in a message, or a placeholder when a key is set: under a
    key no message prints what a file holds, which may be anyone's name (SPEC section 5)."""
    return "<not shown under INTRANET_METRICS_KEY>" if os.environ.get(KEY_ENV) else repr(text)


def shown_path(path: str) -> str:
    """A source file name as a message shows it: under a key, with each part that names a
    person (a Slack DM folder) replaced by its keyed hash, as the store holds it."""
    return Pseudonymiser.from_env().path(path)


def personal_value(field: str, value: str) -> str | None:
    """What a value of event field ``field`` reveals about a person (a rule's name), else
    None."""
    for fields, what, pattern in PERSONAL_VALUES:
        if field in fields and pattern.search(value):
            return what
    return None


def personal_path(path: str) -> bool:
    """Whether a source file name holds a part that names a person."""
    return any(personal_value("channel", part) for part in _PATH_PARTS.split(path))


def normalise_actor(raw: str) -> str:
    """Trim, lowercase, and strip a SharePoint claims prefix through the last ``|``."""
    actor = raw.strip().lower()
    if "|" in actor:
        actor = actor.rsplit("|", 1)[1].strip()
    return actor


def is_concealed(actor: str) -> bool:
    """A usage-report name concealed by the tenant's privacy setting (32 hex characters)."""
    return actor.startswith("concealed:") or bool(_CONCEALED.match(actor))


def actor_exclusion(actor: str, service_accounts: Iterable[str] = ()) -> str | None:
    """The reason a normalised actor is not a person or not an employee, else None."""
    if not actor:
        return "empty_actor"
    if actor in SYSTEM_ACTORS or actor.startswith(SYSTEM_PREFIXES):
        return "system_account"
    if "#ext#" in actor:
        return "guest"
    if actor in service_accounts:
        return "service_account"
    return None


def user_agent_exclusion(user_agent: str | None, extra: Iterable[str] = ()) -> str | None:
    """The reason a web-log user agent is a robot or a client probe, else None."""
    if not user_agent:
        return None
    ua = user_agent.lower()
    for needle in (*BOT_USER_AGENTS, *extra):
        if needle and needle.lower() in ua:
            return "user_agent"
    return None


class Pseudonymiser:
    """Replaces a normalised identity with a keyed hash (HMAC-SHA256), or passes it through."""

    def __init__(self, key: bytes | None) -> None:
        self._key = key

    @classmethod
    def from_env(cls, required: bool = False) -> Pseudonymiser:
        key = os.environ.get(KEY_ENV)
        if required and not key:
            raise ConfigError(
                f"pseudonymise = true in the config but {KEY_ENV} is not set; "
                f"export {KEY_ENV}=<secret> (the same secret for every run)"
            )
        return cls(key.encode() if key else None)

    @property
    def enabled(self) -> bool:
        return self._key is not None

    @property
    def fingerprint(self) -> str | None:
        """A public fingerprint of the key, stored so that two keys are never mixed."""
        if self._key is None:
            return None
        return hashlib.sha256(b"intranet-metrics-key:" + self._key).hexdigest()[:16]

    def __call__(self, actor: str) -> str:
        if self._key is None:
            return actor
        digest = hmac.new(self._key, actor.encode(), hashlib.sha256).hexdigest()[:40]
        # Keep the concealed marker: such names stay countable and never join the roster.
        return f"concealed:p:{digest}" if is_concealed(actor) else f"p:{digest}"

    def value(self, field: str, value: str) -> str:
        """An event field's value as stored: its keyed hash (``h:<hex>``) when it names a
        person and a key is set, else the value itself. The hash does not depend on the
        field, so a thread id hashed in ``parent`` still joins the same id in ``item``."""
        if self._key is None or not personal_value(field, value):
            return value
        return "h:" + hmac.new(self._key, b"value\x1f" + value.encode(), "sha256").hexdigest()[:32]

    def path(self, path: str) -> str:
        """A source file name as stored: each part that names a person (a Slack DM folder,
        an email address) replaced by its keyed hash when a key is set."""
        if self._key is None or not personal_path(path):
            return path
        return "".join(
            self.value("channel", part) if personal_value("channel", part) else part
            for part in _PATH_PARTS.split(path)
        )

    def key_hash(self, text: str) -> str:
        """Hash of an event key; keyed when pseudonymising so keys reveal nothing."""
        if self._key is None:
            return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()[:32]

    def key_part(self, text: str) -> str:
        """A part of an event key that may name a person (a user or item as written), as
        20 hex digits: HMAC-SHA256 under a key (nothing to brute-force without it), else
        BLAKE2b. Key version 3 of a format builds its keys from such parts, each hashed once
        per distinct value instead of a hash per event. 80 bits: two distinct values of one
        store collide with odds of about n**2 / 2**81 (1e-12 for a million values)."""
        return self.key_parts([text])[0]

    def key_parts(self, texts: Iterable[str]) -> list[str]:
        """``key_part`` of each text (the hash of the prefix made once and copied)."""
        start = (
            hashlib.blake2b(b"key-part\x1f", digest_size=10)
            if self._key is None
            else hmac.new(self._key, b"key-part\x1f", hashlib.sha256)
        )
        out: list[str] = []
        append, copy = out.append, start.copy
        for text in texts:
            h = copy()
            h.update(text.encode())
            append(h.hexdigest()[:20])  # blake2b's 10 bytes are 20 hex digits already
        return out

    def key_hashes(self, texts: Iterable[str] | Iterable[bytes], prefix: str = "") -> list[str]:
        """``key_hash(prefix + text)`` of each text (str, or its UTF-8 bytes). The hash of
        the prefix is computed once and copied: 40% less work than a new hash per key."""
        start = (
            hashlib.blake2b(prefix.encode(), digest_size=16)
            if self._key is None
            else hmac.new(self._key, prefix.encode(), hashlib.sha256)
        )
        out: list[str] = []
        append, copy = out.append, start.copy
        for text in texts:
            h = copy()
            h.update(text.encode() if type(text) is str else text)  # type: ignore[arg-type]
            append(h.hexdigest()[:32])  # blake2b's 16 bytes are 32 hex digits already
        return out


def alias_forms(value: str) -> set[str]:
    """Every normalised form of a roster identifier that an event actor may take."""
    v = normalise_actor(value)
    if not v:
        return set()
    forms = {v}
    for ns in ID_NAMESPACES:
        if v.startswith(ns):
            forms.add(v[len(ns) :])
    if "@" not in v and "\\" not in v and ":" not in v:
        # A bare Slack or Engage id in the roster matches the namespaced actor.
        forms.update(ns + v for ns in ID_NAMESPACES)
    return forms
