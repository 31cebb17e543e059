"""The canonical event columns: one pyarrow schema shared by every loader and the store."""

from __future__ import annotations

import pyarrow as pa

# The activities and their classes live in a module without pyarrow (the config reads
# them for every command, --help included); re-exported here for the loaders.
from .activities import ACTION_CLASSES, ACTIVITIES, DEFAULT_ACTION_CLASSES  # noqa: F401

TIMESTAMP = pa.timestamp("us", tz="UTC")

EVENT_SCHEMA = pa.schema(
    [
        # When it happened, UTC. For aggregates (usage reports): the start of the window.
        pa.field("time", TIMESTAMP, nullable=False),
        # Normalised actor (identity.normalise_actor), or its keyed hash when pseudonymised.
        pa.field("actor", pa.string(), nullable=False),
        pa.field("activity", pa.string(), nullable=False),
        pa.field("item", pa.string()),
        pa.field("parent", pa.string()),
        pa.field("thread", pa.string()),
        pa.field("channel", pa.string()),
        # 1 for an event; the activity count for an aggregate row of a usage report.
        pa.field("count", pa.int64(), nullable=False),
        # Report window of an aggregate row (both inclusive); null for single events.
        pa.field("window_start", pa.date32()),
        pa.field("window_end", pa.date32()),
        # Why the event is never counted (SPEC section 5); null when it counts.
        pa.field("excluded", pa.string()),
        # Provenance.
        pa.field("source_format", pa.string(), nullable=False),
        pa.field("source_file", pa.string(), nullable=False),
        pa.field("source_sha256", pa.string(), nullable=False),
        pa.field("source_line", pa.int64(), nullable=False),
        # Hash of the format's natural event key: the store keeps one event per key.
        pa.field("event_key", pa.string(), nullable=False),
    ]
)

REJECT_SCHEMA = pa.schema(
    [
        pa.field("source_file", pa.string(), nullable=False),
        pa.field("source_sha256", pa.string(), nullable=False),
        pa.field("source_format", pa.string(), nullable=False),
        pa.field("source_line", pa.int64(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        # The start of the raw row, cut to 200 characters (never the whole of a huge line).
        pa.field("raw", pa.string()),
    ]
)

EVENT_COLUMNS: tuple[str, ...] = tuple(EVENT_SCHEMA.names)
