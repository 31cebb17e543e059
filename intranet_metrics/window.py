"""The window a measurement covers: local calendar dates ``start``..``end``, inclusive. Its
own module so that a call checks the dates it was given without importing the engine
(ibis, pandas): ``identities`` reads no figure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .errors import UsageError


@dataclass(frozen=True)
class Window:
    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise UsageError(
                f"--to {self.end} is before --from {self.start}; give the window in order"
            )
