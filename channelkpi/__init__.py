"""channelkpi: channel-partner KPIs from raw CRM exports.

Load an export with :func:`load_crm` (or :func:`read_crm` for just the table); every function
after that works on the canonical deals table defined in :mod:`channelkpi.schema`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .version import __version__ as __version__

# The public names, imported on first use (PEP 562): `import channelkpi` costs nothing, so a
# Voilà server that only loads `channelkpi.serving`, or `channelkpi --help`, does not load
# pandas, and reports load Altair only when asked for.
__all__ = [
    "COLUMNS",
    "DEFAULT_CHANNEL_MAP",
    "DEFAULT_QUALITY_WEIGHTS",
    "ChannelKPIError",
    "ColumnError",
    "CurrencyError",
    "DetectionError",
    "History",
    "FileFormatError",
    "LoadResult",
    "Mapping",
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
    "deals_behind",
    "empty_deals",
    "explain",
    "funnel_deals",
    "kpi_table",
    "load_crm",
    "load_history",
    "load_mapping",
    "movement_deals",
    "partner_activation",
    "pipeline",
    "pipeline_movement",
    "pipeline_waterfall",
    "prepare",
    "quality_score",
    "read_crm",
    "read_parquet",
    "read_targets",
    "report",
    "seasonality",
    "slip_deals",
    "slipped_deals",
    "stage_funnel",
    "stage_visits",
    "time_in_stage",
    "to_parquet",
    "validate_deals",
    "win_rate",
]

if TYPE_CHECKING:  # what type checkers and editors see; at run time each is imported on first use
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
    from .history import History
    from .ingest import LoadResult, SourceInfo, load_crm, read_crm, read_targets
    from .ingest.history import load_history
    from .ingest.mapfile import Mapping, load_mapping
    from .metrics.activation import partner_activation
    from .metrics.behind import deals_behind
    from .metrics.definitions import explain
    from .metrics.funnel import funnel_deals, stage_funnel
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
    from .metrics.movement import movement_deals, pipeline_movement
    from .metrics.prepared import PreparedDeals, prepare
    from .metrics.slips import slip_deals, slipped_deals
    from .metrics.stagetime import stage_visits, time_in_stage
    from .reports import report
    from .schema import COLUMNS, empty_deals, validate_deals
    from .storage import read_parquet, to_parquet


def __getattr__(name: str):
    if name not in __all__:
        raise AttributeError(f"module 'channelkpi' has no attribute {name!r}")
    # each module imported by name, never by a string it is given
    if name in ("DEFAULT_CHANNEL_MAP", "channel_map_table"):
        from . import channels as module
    elif name.endswith("Error"):
        from . import errors as module
    elif name in ("LoadResult", "SourceInfo", "load_crm", "read_crm", "read_targets"):
        from . import ingest as module
    elif name in ("Mapping", "load_mapping"):
        from .ingest import mapfile as module
    elif name == "History":
        from . import history as module
    elif name == "load_history":
        from .ingest import history as module
    elif name == "explain":
        from .metrics import definitions as module
    elif name == "partner_activation":
        from .metrics import activation as module
    elif name == "deals_behind":
        from .metrics import behind as module
    elif name in ("pipeline_movement", "movement_deals"):
        from .metrics import movement as module
    elif name in ("stage_funnel", "funnel_deals"):
        from .metrics import funnel as module
    elif name in ("time_in_stage", "stage_visits"):
        from .metrics import stagetime as module
    elif name in ("slipped_deals", "slip_deals"):
        from .metrics import slips as module
    elif name in ("PreparedDeals", "prepare"):
        from .metrics import prepared as module
    elif name == "report":
        from . import reports as module
    elif name in ("COLUMNS", "empty_deals", "validate_deals"):
        from . import schema as module
    elif name in ("read_parquet", "to_parquet"):
        from . import storage as module
    else:  # the eight KPIs and their weights
        from .metrics import kpis as module
    value = getattr(module, name)
    globals()[name] = value  # later look-ups do not come here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
