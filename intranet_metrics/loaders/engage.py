"""Placeholder for the engage-export loader (being written)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from ..errors import InputError
from .base import EventBuilder

NAME = "engage-export"
DESCRIPTION = "not implemented yet"
CAN: tuple[str, ...] = ()
CANNOT = ""
CONTAINER = False


def sniff(path: Path, head: bytes) -> bool:
    return False


def load(path: Path, builder: EventBuilder) -> Iterator[pa.RecordBatch]:
    raise InputError(f"{path}: the {NAME} loader is not implemented yet")
