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
from .ingest import LoadResult, SourceInfo, load_crm, read_crm
from .schema import COLUMNS, empty_deals, validate_deals

__version__ = "0.1.0"

__all__ = [
    "COLUMNS",
    "DEFAULT_CHANNEL_MAP",
    "ChannelKPIError",
    "ColumnError",
    "CurrencyError",
    "DetectionError",
    "FileFormatError",
    "LoadResult",
    "SchemaError",
    "SourceInfo",
    "ValueParseError",
    "channel_map_table",
    "empty_deals",
    "load_crm",
    "read_crm",
    "validate_deals",
]
