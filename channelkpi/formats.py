"""How numbers and names read on screen: one place for the tiles, the tooltips, the tables and
the spreadsheets, so a number looks the same wherever it is shown.

Examples
--------
>>> column_kind("won_amount_prev"), column_kind("win_rate_change"), column_kind("open_count")
('money', 'rate', 'count')
>>> value_text(54850.0, "money"), value_text(812.5, "money"), value_text(0.4671, "rate")
('$54,850', '$812.50', '46.7%')
>>> format_value(1234567.0, "money"), display_name("(direct)")
('$1.2M', 'Direct (no partner)')
"""

from __future__ import annotations

import numpy as np

from .schema import DIRECT_PARTNER

__all__ = [
    "DIRECT_LABEL",
    "display_name",
    "column_kind",
    "excel_format",
    "format_value",
    "value_text",
    "is_missing",
]

#: How deals without a partner are named on screen (the deals table keeps ``DIRECT_PARTNER``).
DIRECT_LABEL = "Direct (no partner)"

_MONEY = {
    "won_amount",
    "avg_deal_size",
    "median_deal_size",
    "open_amount",
    "weighted_amount",
    "change_amount",
    "sales_velocity",
    "start",
    "created",
    "won",
    "lost",
    "end",
    "target",
    "next_target",
    "next_pipeline",
    "amount",
}
_RATES = {
    "win_rate",
    "win_rate_low",
    "win_rate_high",
    "win_rate_shrunk",
    "success_rate",
    "success_rate_value",
    "pending_share",
    "lost_share",
    "won_share",
    "share",
    "expected_rate",
    "group_rate",
    "difference",
    "attainment",
    "partner_share",
}
_COUNTS = {"n", "rank", "weeks", "count", "month", "groups"}


def display_name(value: object) -> str:
    """A level value as people read it: deals without a partner are "Direct (no partner)".

    >>> display_name("(direct)"), display_name("Brightline IT")
    ('Direct (no partner)', 'Brightline IT')
    """
    text = str(value)
    return DIRECT_LABEL if text == DIRECT_PARTNER else text


def is_missing(value) -> bool:
    """True for None, NaN and infinities: a number that is not there (shown as "—")."""
    if value is None:
        return True
    try:
        return not np.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def column_kind(name: str) -> str:
    """How a KPI column's numbers read: ``money``, ``rate``, ``days``, ``score``, ``ratio``,
    ``count``, ``date`` or ``other`` (``_prev`` and ``_change`` columns read as their KPI).

    >>> column_kind("won_amount_prev"), column_kind("cycle_days_median"), column_kind("partner")
    ('money', 'days', 'other')
    """
    base = name
    for suffix in ("_prev", "_change"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    if base in _MONEY or base.startswith("won_amount_"):
        return "money"
    if base in _RATES or base.startswith("pct_"):
        return "rate"
    if base.startswith("cycle_days"):
        return "days"
    if base in ("quality_score", "best_quality"):
        return "score"
    if base == "coverage":
        return "ratio"
    if base in _COUNTS or base.endswith("_count"):
        return "count"
    if base in ("period_start", "period_end", "as_of"):
        return "date"
    return "other"


def excel_format(kind: str, currency: str = "$") -> str | None:
    """The Excel number format of a :func:`column_kind` (None: Excel's default).

    >>> excel_format("money", "€"), excel_format("rate")
    ('"€"#,##0.00;-"€"#,##0.00', '0.0%')
    """
    symbol = currency.replace('"', "")
    return {
        "money": f'"{symbol}"#,##0.00;-"{symbol}"#,##0.00',
        "rate": "0.0%",
        "days": "#,##0.0",
        "score": "0.0",
        "ratio": "0.00",
        "count": "#,##0",
        "date": "yyyy-mm-dd",
    }.get(kind)


def _short_money(value: float, currency: str) -> str:
    sign = "-" if value < 0 else ""
    for cut, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= cut:
            return f"{sign}{currency}{abs(value) / cut:,.1f}{suffix}"
    return f"{sign}{currency}{abs(value):,.0f}"


def format_value(value, kind: str, currency: str = "$") -> str:
    """A tile's value, short: ``money`` ($1.2M), ``rate`` (41.0%), ``days``, ``score``, ``count``.

    >>> format_value(1234567.0, "money"), format_value(0.41, "rate"), format_value(float("nan"), "days")
    ('$1.2M', '41.0%', '—')
    """
    if is_missing(value):
        return "—"
    if kind == "money":
        return _short_money(value, currency)
    if kind == "rate":
        return f"{value:.1%}"
    if kind == "days":
        return f"{value:,.0f} days"
    if kind == "score":
        return f"{value:.0f} / 100"
    return f"{value:,.0f}"


def value_text(value, kind: str, currency: str = "$") -> str:
    """A number in full, as a tooltip or a table cell says it: money without cents from 1,000 on
    (with cents below), rates with one decimal, days and scores with one decimal, counts whole.

    >>> value_text(-1234.5, "money", "€"), value_text(0.5, "days"), value_text(3, "count")
    ('-€1,234', '0.5 days', '3')
    """
    if is_missing(value):
        return "—"
    value = float(value)
    if kind == "money":
        sign = "-" if value < 0 else ""
        digits = ",.0f" if abs(value) >= 1000 else ",.2f"
        return f"{sign}{currency}{abs(value):{digits}}"
    if kind == "rate":
        return f"{value:.1%}"
    if kind == "days":
        return f"{value:,.1f} days"
    if kind == "score":
        return f"{value:,.1f}"
    if kind == "ratio":
        return f"{value:.2f}"
    return f"{value:,.0f}"
