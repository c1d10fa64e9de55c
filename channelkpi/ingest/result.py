"""What :func:`~channelkpi.ingest.load.load_crm` returns: the deals, the ledger, the source.

Examples
--------
>>> LEDGER_COLUMNS
('row', 'outcome', 'reason', 'detail', 'deal_id')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["LEDGER_COLUMNS", "LoadResult", "SourceInfo"]

#: Columns of :attr:`LoadResult.ledger`.
LEDGER_COLUMNS = ("row", "outcome", "reason", "detail", "deal_id")


@dataclass(frozen=True)
class SourceInfo:
    """Which preset read the file, why, and which header fed each canonical column."""

    preset: str
    label: str
    reason: str
    columns: Mapping[str, str] = field(default_factory=dict)  #: role -> header in the file
    kind: str = ""  #: file kind, e.g. "CSV (comma)"
    encoding: str | None = None

    def __str__(self) -> str:
        return f"{self.label} [{self.preset}]: {self.reason}"


@dataclass
class LoadResult:
    """What :func:`load_crm` returns.

    Attributes
    ----------
    deals : pandas.DataFrame
        The canonical deals table (see :mod:`channelkpi.schema`), one row per deal.
    ledger : pandas.DataFrame
        One row per input row that was not kept one-to-one: ``row`` (its number in the file as
        a spreadsheet shows it), ``outcome`` (``rejected`` or ``merged``), ``reason``,
        ``detail`` and ``deal_id``.
    source : SourceInfo
        The preset chosen and why.
    warnings : list of str
        Everything worth knowing about the load that did not stop it.
    partners, owners : pandas.DataFrame or None
        The partner and owner tables given to ``load_crm`` (one row per name, names as the
        deals spell them, columns named as on the deals), or None. Passing the result itself
        to a KPI function uses them: partners and owners without deals show with zero counts.
    lines : pandas.DataFrame or None
        The line items, when rows repeating a deal id were read as its lines (products): one
        row per line with ``row`` (its number in the file), ``deal_id``, ``product``, ``amount``
        (the line's) and the kept columns whose value differs between a deal's lines; else
        None. Passing the result itself to a KPI function with ``by="product"`` (or a
        ``where=`` on a line column) reads them: a product's amounts are its lines' amounts,
        its counts are the deals containing it (see :mod:`channelkpi.metrics.products`).
    """

    deals: pd.DataFrame
    ledger: pd.DataFrame
    source: SourceInfo
    warnings: list[str]
    file: str
    rows_read: int
    blank_rows: int = 0
    partners: pd.DataFrame | None = None
    owners: pd.DataFrame | None = None
    lines: pd.DataFrame | None = None

    def summary(self) -> dict:
        """Counts that reconcile: ``rows_read == kept + merged + rejected``.

        ``kept`` rows became one deal each; ``merged`` rows were folded into a kept deal
        (line items, repeated rows); ``rejected`` rows are not deals (footers, rows without id
        and outcome), each listed in :attr:`ledger` with its reason.
        """
        merged = int((self.ledger["outcome"] == "merged").sum())
        rejected = int((self.ledger["outcome"] == "rejected").sum())
        status = self.deals["status"].value_counts()
        return {
            "file": self.file,
            "source": self.source.preset,
            "rows_read": self.rows_read,
            "kept": len(self.deals),
            "merged": merged,
            "rejected": rejected,
            "deals": len(self.deals),
            "open": int(status.get("open", 0)),
            "won": int(status.get("won", 0)),
            "lost": int(status.get("lost", 0)),
            "blank_rows_skipped": self.blank_rows,
            "warnings": len(self.warnings),
        }

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"<LoadResult {s['file']!r} via {s['source']}: {s['rows_read']} rows read -> "
            f"{s['kept']} kept, {s['merged']} merged, {s['rejected']} rejected; "
            f"{s['won']} won, {s['lost']} lost, {s['open']} open; {s['warnings']} warning(s)>"
        )
