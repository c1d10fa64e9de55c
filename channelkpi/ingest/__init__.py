"""Ingestion: CRM export files -> the canonical deals table (see :func:`load_crm`)."""

from .load import LEDGER_COLUMNS, LoadResult, SourceInfo, load_crm, read_crm

__all__ = ["LEDGER_COLUMNS", "LoadResult", "SourceInfo", "load_crm", "read_crm"]
