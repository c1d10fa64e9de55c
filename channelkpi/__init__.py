"""channelkpi: channel-partner KPIs from raw CRM exports.

Load an export with :func:`load_crm` (or :func:`read_crm` for just the table); every function
after that works on the canonical deals table defined in :mod:`channelkpi.schema`.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# Each public name and the module defining it, imported on first use (PEP 562): `import
# channelkpi` costs nothing, so a Voilà server that only loads `channelkpi.serving`, or
# `channelkpi --help`, does not load pandas, and reports load Altair only when asked for.
_EXPORTS = {
    "DEFAULT_CHANNEL_MAP": ".channels",
    "channel_map_table": ".channels",
    "ChannelKPIError": ".errors",
    "ColumnError": ".errors",
    "CurrencyError": ".errors",
    "DetectionError": ".errors",
    "FileFormatError": ".errors",
    "SchemaError": ".errors",
    "ValueParseError": ".errors",
    "LoadResult": ".ingest",
    "SourceInfo": ".ingest",
    "load_crm": ".ingest",
    "read_crm": ".ingest",
    "explain": ".metrics.definitions",
    "DEFAULT_QUALITY_WEIGHTS": ".metrics.kpis",
    "average_deal_size": ".metrics.kpis",
    "channel_performance": ".metrics.kpis",
    "cycle_distribution": ".metrics.kpis",
    "deal_count": ".metrics.kpis",
    "deal_success": ".metrics.kpis",
    "deal_velocity": ".metrics.kpis",
    "kpi_table": ".metrics.kpis",
    "pipeline": ".metrics.kpis",
    "pipeline_waterfall": ".metrics.kpis",
    "quality_score": ".metrics.kpis",
    "seasonality": ".metrics.kpis",
    "win_rate": ".metrics.kpis",
    "PreparedDeals": ".metrics.prepared",
    "prepare": ".metrics.prepared",
    "read_targets": ".metrics.targets",
    "report": ".reports",
    "COLUMNS": ".schema",
    "empty_deals": ".schema",
    "validate_deals": ".schema",
    "read_parquet": ".storage",
    "to_parquet": ".storage",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'channelkpi' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later look-ups do not come here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
