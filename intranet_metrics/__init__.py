"""intranet-metrics: adoption rates of a social intranet over an HR population."""

from __future__ import annotations

__version__ = "0.1.0"
