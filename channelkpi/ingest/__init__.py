"""Ingestion: CRM export files -> the canonical deals table (see :func:`load_crm`)."""

from .load import load_crm, read_crm
from .result import LEDGER_COLUMNS, LoadResult, SourceInfo
from .targets import read_targets

__all__ = ["LEDGER_COLUMNS", "LoadResult", "SourceInfo", "load_crm", "read_crm", "read_targets"]
