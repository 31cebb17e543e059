"""intranet-metrics: adoption rates of a social intranet over an HR population.

The public API, for notebooks and scripts (each call reads ./intranet-metrics.toml like
the CLI unless given ``config=``)::

    import intranet_metrics as im
    store = im.open_store(create=True)
    im.ingest(store, ["exports/"])
    m = im.measure(store, "2026-01-01", "2026-03-31", roster="roster.csv")
    m.to_frame()

The names are loaded on first use (module ``__getattr__``): ``import intranet_metrics``
stays light, so the CLI starts fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

# name -> module that defines it
_API = {
    **dict.fromkeys(
        (
            "open_store",
            "ingest",
            "measure",
            "baseline",
            "compare",
            "compare_to",
            "trend",
            "identities",
            "sources",
            "forget",
            "repair",
            "rejects",
            "formats",
            "load_baseline",
        ),
        ".api",
    ),
    **dict.fromkeys(("Measurement", "Comparison", "Trend", "from_dict"), ".results"),
    **dict.fromkeys(("Metric", "Registry"), ".metrics"),
    "DEFAULT_METRICS": ".metrics",
    "Config": ".config",
    "load_config": ".config",
    "IntranetMetricsError": ".errors",
    "ExitCode": ".errors",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'intranet_metrics' has no attribute {name!r}")
    attr = "DEFAULT" if name == "DEFAULT_METRICS" else name
    value = getattr(import_module(module, __name__), attr)
    globals()[name] = value  # once loaded, an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
