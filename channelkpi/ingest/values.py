"""Step 5, parse values: every canonical column of every row, read from its mapped column.

Dates go through :func:`~channelkpi.ingest.dates.parse_dates`, amounts and currencies through
:mod:`.money`, text through :mod:`.text`; what cannot be read is reported by row (or is an
error naming the row, column and value). Which date is the close date, and whether a deal has
one, depends on its outcome (:mod:`.outcome`), so this step comes after it.

Examples
--------
>>> from channelkpi.ingest.reader import read_raw
>>> from channelkpi.ingest.outcome import derive_outcome
>>> raw = read_raw(b"Id,Stage,Amount,Close Date\\n1,Closed Won,\\"1,200\\",3/31/2024\\n2,Prospecting,50,6/30/2024\\n")
>>> roles = {"deal_id": "Id", "stage": "Stage", "amount": "Amount", "close_date": "Close Date"}
>>> notes = []
>>> outcome = derive_outcome(raw, roles, {}, notes)
>>> values = read_values(raw, roles, outcome, np.zeros(2, bool), warnings=notes)
>>> values.amount.tolist(), values.closed.astype(str).tolist(), values.expected_close.astype(str).tolist()
([1200.0, 50.0], ['2024-03-31T00:00:00.000000000', 'NaT'], ['NaT', '2024-06-30T00:00:00.000000000'])
>>> values.probability.tolist()  # Prospecting's default probability; won deals are certain
[1.0, 0.1]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..channels import DEFAULT_CHANNEL_MAP, classify_sources, normalize_source
from ..schema import CHANNELS, DIRECT_PARTNER
from .cells import STR, Coded, arrow_text
from .locate import read_column, rows_text
from .money import Currencies, amounts_work, convert_currency, read_amounts
from .outcome import Outcome
from .parse import parse_amounts, parse_dates
from .presets import DEFAULT_STAGE_PROBABILITY, norm
from .reader import RawTable
from .text import clean_text, clean_text_column
from .wording import BAD_PROBABILITY, DATES_OUT_OF_RANGE, DAY_FIRST, MONTH_FIRST, OPEN_WITH_CLOSE, SOURCES_AS_OTHER
from .wording_errors import MAP_DATE_COLUMN

__all__ = [
    "DATE_ROLES",
    "RECORD_ROLES",
    "TEXT_ROLES",
    "DealValues",
    "close_dates",
    "read_channels",
    "read_dates",
    "read_probability",
    "read_kept",
    "read_text",
    "read_values",
    "settle_probability",
    "start_values",
]

#: Roles read as dates, in the order they are read (and warned about).
DATE_ROLES = ("created", "closed", "expected_close", "close_date", "won_time", "lost_time")
#: Canonical text columns cleaned as text, in order.
TEXT_ROLES = ("partner", "owner", "department", "unit", "source", "stage")
#: The deal's own record: text cleaned like the roles above, read by no KPI (its cleaning notes
#: are not warnings: a garbled deal name changes no number).
RECORD_ROLES = ("name", "account", "product")
_NAT = np.datetime64("NaT", "ns")


@dataclass
class DealValues:
    """The canonical columns of every row of a raw table (before rows become deals)."""

    created: np.ndarray  #: datetime64[ns]
    closed: np.ndarray  #: datetime64[ns]; only won and lost deals have one
    expected_close: np.ndarray  #: datetime64[ns]
    amount: np.ndarray  #: float64, in the reporting currency
    currency: Currencies
    probability: np.ndarray  #: float64, 0-1
    text: dict[str, Coded]  #: partner, owner, ... (partner "(direct)" where none); name, account, product
    channel: Coded  #: the marketing-channel segment
    kept: dict[str, Coded] = field(default_factory=dict)  #: kept export columns, by field name


def _dates_work(raw: RawTable, header: str, dayfirst: bool | None, tz: str | None):
    return ("dates", header, dayfirst, tz), lambda: parse_dates(raw.cells[header], dayfirst=dayfirst, tz=tz)


_SAMPLE_ROWS = 4096  # rows looked at to tell a column of names from a column of categories


def _mostly_distinct(raw: RawTable, header: str) -> bool:
    """From the first rows alone, so that a column of categories is never tidied row by row."""
    head = raw.cells.head(header, _SAMPLE_ROWS)
    return head.dtype == STR and len(raw) > _SAMPLE_ROWS and head.nunique() > len(head) // 2


def _text_work(raw: RawTable, role: str, header: str):
    def clean() -> tuple[Coded, list[str]]:
        notes: list[str] = []
        if role in RECORD_ROLES or role == "kept":
            if _mostly_distinct(raw, header):
                rows = raw.cells[header]
                # deal names and the like: a value per row, so coding the column would hash
                # every row for nothing; it is cleaned row by row in a few array passes
                cleaned = clean_text_column(rows, header, notes).reset_index(drop=True)
                return Coded(np.arange(len(cleaned)), cleaned, lambda: arrow_text(cleaned)), notes
            raw.cells.start_rows(header)  # the deals table takes its rows
        coded = raw.cells.coded(header)
        cleaned = coded.with_values(clean_text(coded.values, header, notes, counts=coded.counts()))
        if role == "partner":  # a deal no partner sourced
            cleaned = cleaned.map(lambda v: v.fillna(DIRECT_PARTNER))
        return cleaned, notes

    return ("text", header), clean


def start_values(
    raw: RawTable,
    roles: dict[str, str],
    *,
    dayfirst: bool | None,
    tz: str | None,
    kept: Mapping[str, str] | None = None,
    decimal: str | None = None,
) -> None:
    """Begin reading the value columns in the raw table's pool (see ``Cells.start``)."""
    cells = raw.cells
    for role in DATE_ROLES:
        if role in roles:
            cells.start(*_dates_work(raw, roles[role], dayfirst, tz))
    for role in ("amount", "won_amount"):
        if role in roles:
            cells.start(*amounts_work(raw, roles[role], decimal))
    for role in ("currency", "probability", "channel"):
        if role in roles:
            cells.start_coded(roles[role])
    for role in TEXT_ROLES + RECORD_ROLES:
        if role in roles:
            cells.start(*_text_work(raw, role, roles[role]))
    for header in (kept or {}).values():
        cells.start(*_text_work(raw, "kept", header))
    for role in TEXT_ROLES:  # the rows of a text column that cleaning leaves as it is
        if role in roles:
            cells.start_rows(roles[role])


def read_dates(raw: RawTable, header: str, *, dayfirst: bool | None, tz: str | None, warnings: list[str]):
    """A date column as datetime64[ns] (NaT where blank or unreadable, with warnings)."""
    values = raw.cells[header]
    parsed = read_column(
        values,
        header,
        raw,
        warnings,
        lambda _values: raw.cells.derive(*_dates_work(raw, header, dayfirst, tz)),
        what="date",
        fix=MAP_DATE_COLUMN.format(code="columns={'their date header': '...'}"),
    )
    if parsed.out_of_range is not None and parsed.out_of_range.any():
        oor = parsed.out_of_range
        warnings.append(
            DATES_OUT_OF_RANGE.format(
                header=repr(header), count=int(oor.sum()), rows=rows_text(raw.rows[oor], values[oor])
            )
        )
    if parsed.ambiguous:
        warnings.append((DAY_FIRST if parsed.dayfirst else MONTH_FIRST).format(header=repr(header)))
    return parsed.values.to_numpy()


def close_dates(dates: Mapping[str, np.ndarray], outcome: Outcome, raw: RawTable, rejected: np.ndarray, warnings):
    """The close date (won and lost deals) and the expected close date (open deals).

    A "close date" column (Salesforce, HubSpot, Zoho) is the actual close date of a closed deal
    and the expected one of an open deal; won and lost times (Pipedrive) fill the close date.
    """
    n = len(raw)
    won, lost, open_ = outcome.rows("won"), outcome.rows("lost"), outcome.rows("open")
    closed = dates.get("closed", np.full(n, _NAT)).copy()
    if "won_time" in dates:
        closed = np.where(~np.isnat(closed) | ~won, closed, dates["won_time"])
    if "lost_time" in dates:
        closed = np.where(~np.isnat(closed) | ~lost, closed, dates["lost_time"])
    if "close_date" in dates:
        closed = np.where(~np.isnat(closed) | ~(won | lost), closed, dates["close_date"])
    expected = dates.get("expected_close", np.full(n, _NAT)).copy()
    if "close_date" in dates:
        expected = np.where(~np.isnat(expected) | ~open_, expected, dates["close_date"])
    open_with_close = open_ & ~np.isnat(closed) & ~rejected
    if open_with_close.any():
        warnings.append(
            OPEN_WITH_CLOSE.format(count=int(open_with_close.sum()), rows=rows_text(raw.rows[open_with_close]))
        )
        closed = np.where(open_, _NAT, closed)
    return closed, expected


def read_probability(raw: RawTable, roles: dict[str, str], warnings: list[str]) -> np.ndarray:
    """Probabilities as 0-1 (``90%``, ``90`` and ``0.9`` alike); impossible ones left empty."""
    n = len(raw)
    if "probability" not in roles:
        return np.full(n, np.nan)
    header = roles["probability"]
    coded = raw.cells.coded(header)
    raw_vals = coded.values.astype(object).map(lambda v: v.replace("%", "") if isinstance(v, str) else v)
    parsed = parse_amounts(raw_vals)
    p = parsed.values
    percent = (
        "%" in header or (p.max() > 1 if p.notna().any() else False) or coded.values.astype(str).str.contains("%").any()
    )
    if percent:
        p = p / 100.0
    bad = ((p < 0) | (p > 1)).to_numpy()
    rows_bad = coded.take(bad | parsed.bad)
    if rows_bad.any():
        warnings.append(
            BAD_PROBABILITY.format(
                header=repr(header),
                count=int(rows_bad.sum()),
                rows=rows_text(raw.rows[rows_bad], coded.subset(rows_bad).to_series()),
            )
        )
        p = p.where(~bad)
    return coded.take(p.to_numpy())


def read_text(raw: RawTable, roles: dict[str, str], warnings: list[str]) -> dict[str, Coded]:
    """The text columns, cleaned (missing roles are all missing, the partner "(direct)")."""
    n = len(raw)
    out = {}
    for role in TEXT_ROLES + RECORD_ROLES:
        if role in roles:
            out[role], notes = raw.cells.derive(*_text_work(raw, role, roles[role]))
            if role in TEXT_ROLES:
                warnings.extend(notes)
        else:
            value = DIRECT_PARTNER if role == "partner" else np.nan
            out[role] = Coded(np.zeros(n, np.intp), pd.Series([value], dtype=STR))
    return out


def read_kept(raw: RawTable, kept: Mapping[str, str], warnings: list[str]) -> dict[str, Coded]:
    """The kept export columns (``{field name: header}``), cleaned as text like partner names."""
    out = {}
    for name, header in kept.items():
        out[name], notes = raw.cells.derive(*_text_work(raw, "kept", header))
        warnings.extend(notes)
    return out


def read_channels(
    raw: RawTable,
    roles: dict[str, str],
    sources: Coded,
    channel_map: Mapping[str, str] | None,
    rejected: np.ndarray,
    warnings: list[str],
) -> Coded:
    """The marketing-channel segment of each row: a channel column's own segments (or its
    values mapped like sources), else the lead source through the channel map."""
    if "channel" in roles:
        coded = raw.cells.coded(roles["channel"])

        def segments(values: pd.Series) -> pd.Series:
            given = values.map(lambda v: norm(v) if not pd.isna(v) else np.nan)
            return given.where(given.isin(CHANNELS), classify_sources(values, channel_map=channel_map).to_numpy())

        return coded.map(segments)
    if "source" not in roles:
        return Coded(np.zeros(len(raw), np.intp), pd.Series(["unknown"], dtype=object))
    seg = sources.map(lambda v: classify_sources(v, channel_map=channel_map))
    known = set(DEFAULT_CHANNEL_MAP) | {normalize_source(k) for k in (channel_map or {})}
    mapped = sources.values.map(lambda v: normalize_source(v) in known if not pd.isna(v) else True).astype(bool)
    unmapped = sources.take((seg.values == "other").to_numpy() & ~mapped.to_numpy()) & ~rejected
    if unmapped.any():
        counts = sources.subset(unmapped).to_series().value_counts()
        named = ", ".join(f"{k!r} ({v})" for k, v in counts.head(8).items())
        warnings.append(
            SOURCES_AS_OTHER.format(
                header=repr(roles["source"]),
                sources=named + (f" and {len(counts) - 8} more" if len(counts) > 8 else ""),
                argument="channel_map={'source': 'paid'|'earned'|'owned'|'partner'}",
            )
        )
    return seg


def settle_probability(probability: np.ndarray, stages: Coded, outcome: Outcome, roles: dict[str, str]) -> np.ndarray:
    """Open deals without a probability take their stage's default; won ones 1, lost ones 0."""
    p = probability.copy()
    if "stage" in roles and "probability" not in roles:
        default = stages.values.map(lambda s: DEFAULT_STAGE_PROBABILITY.get(norm(s)) if not pd.isna(s) else np.nan)
        fill = np.isnan(p) & outcome.rows("open")
        p[fill] = stages.take(default.astype(float).to_numpy())[fill]
    p[np.isnan(p) & outcome.rows("won")] = 1.0
    p[np.isnan(p) & outcome.rows("lost")] = 0.0
    return p


def read_values(
    raw: RawTable,
    roles: dict[str, str],
    outcome: Outcome,
    rejected: np.ndarray,
    *,
    dayfirst: bool | None = None,
    tz: str | None = None,
    currency: str | None = None,
    fx=None,
    channel_map: Mapping[str, str] | None = None,
    kept: Mapping[str, str] | None = None,
    decimal: str | None = None,
    warnings: list[str],
    let_go: bool = False,
) -> DealValues:
    """Read every mapped column (``rejected`` rows are read but not warned about where it matters).

    ``let_go=True``: each column's tidied rows and parses are released as soon as its values are
    taken (``Cells.release``), for a reader that takes nothing else from the file's cells: a
    million-row file's columns are then never all held parsed at once.
    """

    def done(*done_roles: str) -> None:
        if let_go:
            raw.cells.release(*(roles[role] for role in done_roles if role in roles))

    dates = {}
    for role in DATE_ROLES:
        if role in roles:
            dates[role] = read_dates(raw, roles[role], dayfirst=dayfirst, tz=tz, warnings=warnings)
            done(role)
    closed, expected = close_dates(dates, outcome, raw, rejected, warnings)
    amount, cur = read_amounts(raw, roles, outcome, warnings, decimal=decimal)
    amount, cur = convert_currency(amount, cur, currency, fx, raw, rejected, warnings)
    done("amount", "won_amount", "currency")
    probability = read_probability(raw, roles, warnings)
    done("probability")
    text = read_text(raw, roles, warnings)
    channel = read_channels(raw, roles, text["source"], channel_map, rejected, warnings)
    done(*TEXT_ROLES, *RECORD_ROLES, "channel")
    return DealValues(
        created=dates.get("created", np.full(len(raw), _NAT)),
        closed=closed,
        expected_close=expected,
        amount=amount,
        currency=cur,
        probability=settle_probability(probability, text["stage"], outcome, roles),
        text=text,
        channel=channel,
        kept=read_kept(raw, kept or {}, warnings),
    )
