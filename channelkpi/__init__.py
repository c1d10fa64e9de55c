"""channelkpi: channel-partner KPIs from raw CRM exports.

Load an export with :func:`load_crm` (or :func:`read_crm` for just the table); every function
after that works on the canonical deals table defined in :mod:`channelkpi.schema`.
"""

from .channels import DEFAULT_CHANNEL_MAP, channel_map_table
from .errors import (
    ChannelKPIError,
    ColumnError,
    CurrencyError,
    DetectionError,
    FileFormatError,
    SchemaError,
    ValueParseError,
)
from .ingest import LoadResult, SourceInfo, load_crm, read_crm, read_targets
from .metrics.definitions import explain
from .metrics.kpis import (
    DEFAULT_QUALITY_WEIGHTS,
    average_deal_size,
    channel_performance,
    cycle_distribution,
    deal_count,
    deal_success,
    deal_velocity,
    kpi_table,
    pipeline,
    pipeline_waterfall,
    quality_score,
    seasonality,
    win_rate,
)
from .metrics.prepared import PreparedDeals, prepare
from .schema import COLUMNS, empty_deals, validate_deals
from .storage import read_parquet, to_parquet

__version__ = "0.1.0"

__all__ = [
    "COLUMNS",
    "DEFAULT_CHANNEL_MAP",
    "DEFAULT_QUALITY_WEIGHTS",
    "ChannelKPIError",
    "ColumnError",
    "CurrencyError",
    "DetectionError",
    "FileFormatError",
    "LoadResult",
    "PreparedDeals",
    "SchemaError",
    "SourceInfo",
    "ValueParseError",
    "average_deal_size",
    "channel_map_table",
    "channel_performance",
    "cycle_distribution",
    "deal_count",
    "deal_success",
    "deal_velocity",
    "empty_deals",
    "explain",
    "kpi_table",
    "load_crm",
    "pipeline",
    "pipeline_waterfall",
    "prepare",
    "quality_score",
    "read_crm",
    "read_parquet",
    "read_targets",
    "report",
    "seasonality",
    "to_parquet",
    "validate_deals",
    "win_rate",
]


def __getattr__(name: str):
    # reports draw charts with Altair: loaded on first use, so `import channelkpi` stays light
    if name == "report":
        from .reports import report

        return report
    raise AttributeError(f"module 'channelkpi' has no attribute {name!r}")
