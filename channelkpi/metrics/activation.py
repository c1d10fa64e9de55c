"""Partner activation: how soon signed partners bring their first deal, and how many stay active.

A partner programme signs partners; activation asks which of them then do business. Three
questions, three tables (:class:`Activation`):

``partners``
    Per partner: the signed date, the first deal created and the first deal won after it, the
    days from signing to each, and a status: ``"activated"`` (a first deal within ``within``
    days of signing), ``"not activated"`` (those days have passed without one), ``"pending"``
    (signed too recently to tell: not a failure), ``"no signed date"``.
``summary``
    Per group of the partner table (``by="tier"``) or for all partners: how many signed, are
    pending, are eligible (their ``within`` days have passed), activated within them, and the
    activation rate among the eligible with its Wilson interval.
``active``
    Per period: the partners with a deal created in the ``trailing`` days ending at the period's
    end, of the partners signed by then.

The rules, decided once:

* **Deals before the signed date do not count** (a deal registered while the contract was
  negotiated, or a renewal's old history, is not activation); each partner's number of them
  is shown (``deals_before_signed``) and they are counted as excluded. A partner without a
  signed date has all its deals counted, and is left out of the activation rate.
* **Day 0 is the signing day**: activated within N days means the first deal was created on
  day 0 to N; a partner is eligible when day N is on or before ``as_of``.
* **Partners signed before the deals begin** (the first created or close date of any deal)
  are not judged: their first deal may lie before the export, so they are left out of the
  rate (status ``"signed before the data"``, or ``"activated"`` when a deal inside their window
  is seen) and named in a warning. Likewise an activity window reaching back before the deals
  is not complete: its ``active_share`` is left empty.
* **The first win** is the earliest close date of a won deal counted above; a won deal
  without a close date cannot date a win and is not used for it.
* **Deals after ``as_of``** (created after it; for wins, closed after it) are not seen;
  ``as_of`` is the last date in the data, or the end of the range when one is given.
* **``(direct)`` is never a partner**: its deals, and deals without a partner, do not count; a
  ``(direct)`` row in the partner table is ignored.
* **Partners with deals but not in the partner table** are not partners of the programme as
  far as this table knows: they are listed (:attr:`Activation.unlisted`), named in a warning
  and left out of all three tables. Names match exactly.
* **Partners in the table without deals** are ``"not activated"`` or ``"pending"``, never
  missing.

Only small aggregates leave the engine the deals live in: per partner the first and last
dates and a few counts, and per partner and period the last deal created. The signed dates go
to the engine as a small literal map (partner -> day number).

Examples
--------
>>> import pandas as pd
>>> from channelkpi.datasets import toy_deals
>>> partners = pd.DataFrame({"partner": ["Acme", "Birch"], "signed": ["2024-01-10", "2024-03-15"]})
>>> result = partner_activation(toy_deals(), partners=partners, within=30, as_of="2024-05-10")
>>> result.partners[["partner", "days_to_first_deal", "days_to_first_win", "status"]]
  partner  days_to_first_deal  days_to_first_win     status
0    Acme                   0                 36  activated
1   Birch                  18                 56  activated
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import narwhals.stable.v2 as nw
import numpy as np
import pandas as pd

from ..errors import ChannelKPIError, ColumnError, ValueParseError
from ..schema import DIRECT_PARTNER
from ..types import DateLike, Engine, Freq, Where
from . import rules
from .definitions import DEFINITIONS
from .lazy import collect_frame
from .periods import period_frame
from .prepared import PreparedStage1
from .query import date_range, make_query
from .stage1 import open_stage1
from .stats import wilson_interval

__all__ = ["Activation", "STATUSES", "partner_activation"]

#: A partner's activation status, in the order the tables sort them.
STATUSES = ("activated", "not activated", "pending", "signed before the data", "no signed date")
#: Day number standing for "no signed date": every dated deal is on or after it.
_NO_SIGNING = -(2**31)
_NOT_PARTNERS = (DIRECT_PARTNER, "(none)")


@dataclass(frozen=True, repr=False)
class Activation:
    """The result of :func:`partner_activation`.

    Attributes
    ----------
    partners : pandas.DataFrame
        One row per partner of the table (in the signing range): ``partner``, the ``by``
        column, ``signed``, ``first_created``, ``first_won``, ``days_to_first_deal``,
        ``days_to_first_win``, ``deals`` (created after signing, by ``as_of``), ``won``,
        ``deals_before_signed``, ``eligible``, ``signed_before_data`` and ``status`` (one of
        :data:`STATUSES`).
    summary : pandas.DataFrame
        One row per group (one row without ``by``): ``partners``, ``no_signed_date``,
        ``signed``, ``signed_before_data``, ``pending``, ``eligible``, ``activated``,
        ``activated_late`` (eligible, first
        deal after the window), ``not_activated`` (eligible, no deal in the window),
        ``activation_rate`` (activated / eligible) with ``activation_rate_low`` and
        ``activation_rate_high`` (Wilson 95 %), ``median_days_to_first_deal`` and
        ``median_days_to_first_win`` (over partners that have one).
    active : pandas.DataFrame
        One row per group x period: ``period``, ``period_start``, ``period_end`` (with
        ``freq=None`` none of these), ``window_end`` (the period's last day, or ``as_of`` for
        the period it cuts), ``window_complete`` (the ``trailing`` days lie within the deals),
        ``partners`` (signed by ``window_end``, or without a signed date), ``active`` (of them,
        with a deal created in the ``trailing`` days to ``window_end``) and ``active_share``
        (empty where the window is not complete).
    unlisted : pandas.DataFrame
        Partners with deals that the partner table does not have: ``partner``, ``deals`` (their
        deals ``where=`` keeps) and ``first_created`` (their first deal created by ``as_of``),
        the most deals first.
    as_of : pandas.Timestamp
        The day the data is read as of.
    within, trailing : int
        The activation window and the activity window, in days.
    engine : str
        The engine that read the deals.
    excluded : dict of str -> int
        Deals that count for nothing, per reason: ``filtered_out``, ``no_partner`` (direct or
        empty), ``not_in_partner_table``, ``before_signed``, ``no_created_date``,
        ``after_as_of``.
    warnings : tuple of str
        What was also issued as warnings.
    """

    partners: pd.DataFrame
    summary: pd.DataFrame
    active: pd.DataFrame
    unlisted: pd.DataFrame
    as_of: pd.Timestamp
    within: int
    trailing: int
    engine: str
    excluded: dict = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def __repr__(self) -> str:
        eligible = int(self.summary["eligible"].sum())
        activated = int(self.summary["activated"].sum())
        return (
            f"Activation({len(self.partners)} partners as of {self.as_of.date()}: {activated} of {eligible} "
            f"eligible activated within {self.within} days; tables .partners, .summary, .active)"
        )


# --------------------------------------------------------------------------- the partner table
def _partner_table(partners, by: str | None) -> tuple[pd.DataFrame, list[str]]:
    """The partner table checked: ``partner``, ``signed`` (midnight, NaT when missing) and the
    ``by`` column; and notes on what was dropped."""
    if partners is None:
        raise ChannelKPIError(
            "partner activation needs a partner table with a signed date per partner",
            fix="pass partners=pd.DataFrame({'partner': [...], 'signed': [...]}) (or a load_crm result loaded with "
            "partners=)",
        )
    if not isinstance(partners, pd.DataFrame):
        raise ChannelKPIError(f"partners= is a {type(partners).__name__}, not a table", fix="pass a pandas DataFrame")
    names = [str(c) for c in partners.columns]
    for needed, fix in (
        ("partner", "name the column of partner names 'partner'"),
        ("signed", "add a 'signed' column with each partner's signing date"),
    ):
        if needed not in names:
            raise ColumnError(f"the partner table has no {needed!r} column; its columns are {names}", fix=fix)
    if by is not None and by not in names:
        raise ColumnError(
            f"by={by!r} is not a column of the partner table; its columns are {names}",
            fix="group by one of the partner table's columns (e.g. 'tier'), or by=None",
        )
    table = pd.DataFrame({"partner": partners["partner"].astype("string").str.strip()}, index=partners.index)
    row_number = pd.Series(np.arange(2, len(partners) + 2), index=partners.index)  # as a spreadsheet counts
    empty = table["partner"].isna() | (table["partner"] == "")
    if empty.any():
        raise ColumnError(
            f"the partner table has rows without a partner name (row {int(row_number[empty].iloc[0])})",
            column="partner",
            fix="fill in or remove those rows",
        )
    repeated = table["partner"].duplicated(keep=False)
    if repeated.any():
        first = table.loc[repeated, "partner"].iloc[0]
        rows = row_number[table["partner"] == first].tolist()
        raise ColumnError(
            f"the partner table lists {first!r} more than once (rows {rows})",
            column="partner",
            value=first,
            fix="keep one row per partner",
        )
    table["signed"] = _signed_dates(partners["signed"], row_number)
    if by is not None and by not in ("partner", "signed"):
        table[by] = partners[by].astype("string").fillna("(none)").astype(object)
    notes = []
    direct = table["partner"] == DIRECT_PARTNER
    if direct.any():
        notes.append(f"the partner table lists {DIRECT_PARTNER}, which is never a partner: that row is ignored")
        table = table[~direct]
    table["partner"] = table["partner"].astype(object)
    return table.reset_index(drop=True), notes


def _signed_dates(values: pd.Series, row_number: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        dates = values.dt.tz_localize(None) if getattr(values.dt, "tz", None) is not None else values
        return dates.dt.normalize().astype("datetime64[ns]")
    parsed = pd.to_datetime(values, errors="coerce", format="mixed")
    bad = parsed.isna() & values.notna() & (values.astype("string").str.strip() != "")
    if bad.any():
        raise ValueParseError(
            "a signed date cannot be read",
            row=int(row_number[bad].iloc[0]),
            column="signed",
            value=values[bad].iloc[0],
            fix="write signed dates as YYYY-MM-DD",
        )
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    return parsed.dt.normalize().astype("datetime64[ns]")


def _count(value, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ChannelKPIError(
            f"{name}={value!r} is not a whole number of days of at least {low}", fix=f"pass {name}=90"
        )
    return int(value)


# --------------------------------------------------------------------------- reading the deals
def _unwrap(deals, partners):
    """A load result (anything with ``.deals`` and ``.partners``, not a table) gives both."""
    if not isinstance(deals, pd.DataFrame) and hasattr(deals, "deals") and hasattr(deals, "partners"):
        return deals.deals, deals.partners if partners is None else partners
    return deals, partners


def _prepared_aggregates(stage: PreparedStage1, signed: dict[str, int], as_of_day, q):
    """The per-partner and per-partner-and-period aggregates from the prepared arrays."""
    p = stage.p
    span = tuple(None if d is None else rules.day_number(d) for d in p.date_span())
    if as_of_day is None:
        return span, None, None
    codes, labels, _ = p.level("partner")
    rows = np.ones(p.rows, dtype=bool) if stage.sel is None else stage.sel
    sg_of_label = np.array([signed.get(str(x), _NO_SIGNING) for x in labels], dtype=np.int64)
    sg = sg_of_label[codes] if len(labels) else np.full(p.rows, _NO_SIGNING, dtype=np.int64)
    dated = ~p.cr_null & (p.cr_days <= as_of_day)
    counted = rows & dated & (p.cr_days >= sg)
    won_status = np.asarray(p.status_names, dtype=object)[p.status] == "won"
    won = counted & won_status & ~p.cl_null & (p.cl_days <= as_of_day)
    frame = pd.DataFrame(
        {
            "partner": codes,
            "first_cr": np.where(counted, p.cr_days, np.nan),
            "first_won": np.where(won, p.cl_days, np.nan),
            "deals_n": counted,
            "won_n": won,
            "before_n": rows & dated & (p.cr_days < sg),
            "undated_n": rows & p.cr_null,
            "late_n": rows & ~p.cr_null & (p.cr_days > as_of_day),
            "rows_n": rows,
        }
    )
    per_partner = frame.groupby("partner", sort=False).agg(
        first_cr=("first_cr", "min"),
        first_won=("first_won", "min"),
        deals_n=("deals_n", "sum"),
        won_n=("won_n", "sum"),
        before_n=("before_n", "sum"),
        undated_n=("undated_n", "sum"),
        late_n=("late_n", "sum"),
        n=("rows_n", "sum"),
    )
    per_partner.index = labels[per_partner.index.to_numpy()]
    per_partner = per_partner.rename_axis("partner").reset_index()
    keys = rules.numpy_key(p.cr_days, p.cr_months, p.cr_null, q.freq, q.fiscal_year_start)
    last_cr = (
        pd.DataFrame({"partner": codes[counted], "cr_key": keys[counted], "last_cr": p.cr_days[counted]})
        .groupby(["partner", "cr_key"], sort=False)["last_cr"]
        .max()
        .reset_index()
    )
    last_cr["partner"] = labels[last_cr["partner"].to_numpy()]
    return span, per_partner, last_cr


def _lazy_frame(stage, q):
    """The selected deals with the day numbers, missing flags and creation period key."""
    frame = stage.filtered.select("partner", "status", "created", "closed")
    frame = frame.with_columns(
        cr_days=rules.narwhals_days("created"),
        cr_months=rules.narwhals_month_index("created"),
        cr_null=_flag(nw.col("created").is_null()),
        cl_days=rules.narwhals_days("closed"),
        cl_null=_flag(nw.col("closed").is_null()),
        partner=nw.col("partner").fill_null("(none)"),
    )
    return frame.with_columns(cr_key=rules.narwhals_key("cr_days", "cr_months", "cr_null", q.freq, q.fiscal_year_start))


def _flag(cond):
    return nw.when(cond).then(nw.lit(1)).otherwise(nw.lit(0))


def _lazy_span(stage) -> tuple[int | None, int | None]:
    """The first and last created or close day of all deals (before ``where=``): what the
    export covers, up to the export's date."""
    big = -_NO_SIGNING  # a missing date is above every first and below every last day

    def days(col: str, missing: int):
        return nw.when(nw.col(col).is_null()).then(nw.lit(missing)).otherwise(rules.narwhals_days(col))

    frame = stage.unfiltered.select(
        cr_lo=days("created", big), cl_lo=days("closed", big), cr_hi=days("created", -big), cl_hi=days("closed", -big)
    )
    out = collect_frame(
        frame.select(nw.col("cr_lo").min(), nw.col("cl_lo").min(), nw.col("cr_hi").max(), nw.col("cl_hi").max()),
        [],
    )
    if out.empty:
        return None, None
    row = {k: int(v) for k, v in out.iloc[0].fillna(big).items()}
    first, last = min(row["cr_lo"], row["cl_lo"]), max(row["cr_hi"], row["cl_hi"])
    return (None if first == big else first), (None if last in (-big, big) else last)


def _lazy_aggregates(stage, signed: dict[str, int], as_of_day, q):
    """The per-partner and per-partner-and-period aggregates, where the deals live."""
    span = _lazy_span(stage)
    if as_of_day is None:
        return span, None, None
    frame = _lazy_frame(stage, q)
    if signed:
        sg = nw.col("partner").replace_strict(
            list(signed), list(signed.values()), default=nw.lit(_NO_SIGNING, dtype=nw.Int64), return_dtype=nw.Int64
        )
    else:
        sg = nw.lit(_NO_SIGNING, dtype=nw.Int64)
    dated = (nw.col("cr_null") == 0) & (nw.col("cr_days") <= as_of_day)
    frame = frame.with_columns(sg=sg).with_columns(
        counted=_flag(dated & (nw.col("cr_days") >= nw.col("sg"))),
        before_n=_flag(dated & (nw.col("cr_days") < nw.col("sg"))),
        undated_n=_flag(nw.col("cr_null") == 1),
        late_n=_flag((nw.col("cr_null") == 0) & (nw.col("cr_days") > as_of_day)),
    )
    won = (
        (nw.col("counted") == 1)
        & (nw.col("status") == "won")
        & (nw.col("cl_null") == 0)
        & (nw.col("cl_days") <= as_of_day)
    )
    # conditional minima as columns first: a when() inside an aggregation is not portable
    frame = frame.with_columns(
        won_n=_flag(won),
        first_cr=nw.when(nw.col("counted") == 1).then(nw.col("cr_days")),
        first_won=nw.when(won).then(nw.col("cl_days")),
    )
    per_partner = collect_frame(
        frame.group_by("partner").agg(
            nw.col("first_cr").min(),
            nw.col("first_won").min(),
            nw.col("counted").sum().alias("deals_n"),
            nw.col("won_n").sum(),
            nw.col("before_n").sum(),
            nw.col("undated_n").sum(),
            nw.col("late_n").sum(),
            nw.len().alias("n"),
        ),
        ["partner"],
    )
    last_cr = collect_frame(
        frame.filter(nw.col("counted") == 1)
        .group_by("partner", "cr_key")
        .agg(nw.col("cr_days").max().alias("last_cr")),
        ["partner", "cr_key"],
    )
    return span, per_partner, last_cr


def _rows_before_filter(stage) -> int | None:
    if isinstance(stage, PreparedStage1):
        return stage.p.rows
    return int(collect_frame(stage.unfiltered.select(nw.len().alias("n")), [])["n"].iloc[0])


# --------------------------------------------------------------------------- the tables
def _days_to_dates(days: pd.Series) -> pd.Series:
    return pd.Timestamp(rules.EPOCH) + pd.to_timedelta(days, unit="D")


def _partner_rows(
    table, per_partner, as_of_day: int, within: int, by, start_day, end_day, data_start: int | None
) -> pd.DataFrame:
    signed_day = (table["signed"] - pd.Timestamp(rules.EPOCH)).dt.days
    keep = signed_day.isna() if start_day is None and end_day is None else pd.Series(False, index=table.index)
    in_range = signed_day.notna() & (signed_day <= as_of_day)
    if start_day is not None:
        in_range &= signed_day >= start_day
    if end_day is not None:
        in_range &= signed_day <= end_day
    rows = table[keep | in_range].merge(per_partner, on="partner", how="left")
    signed_day = (rows["signed"] - pd.Timestamp(rules.EPOCH)).dt.days
    out = rows[["partner", *([by] if by and by not in ("partner", "signed") else []), "signed"]].copy()
    out["first_created"] = _days_to_dates(rows["first_cr"])
    out["first_won"] = _days_to_dates(rows["first_won"])
    out["days_to_first_deal"] = (rows["first_cr"] - signed_day).astype("Int64")
    out["days_to_first_win"] = (rows["first_won"] - signed_day).astype("Int64")
    for name, col in (("deals", "deals_n"), ("won", "won_n"), ("deals_before_signed", "before_n")):
        out[name] = rows[col].fillna(0).astype("int64")
    # signed before the deals begin: a first deal may lie before them, so the partner's window
    # cannot be judged (a deal seen inside it still proves activation)
    early = (signed_day.notna() & (data_start is not None) & (signed_day < (data_start or 0))).to_numpy(bool)
    out["eligible"] = (signed_day.notna() & (as_of_day - signed_day >= within)).to_numpy(bool) & ~early
    activated = (out["days_to_first_deal"] <= within).fillna(False).to_numpy(bool)
    status = np.where(
        activated,
        "activated",
        np.where(early, "signed before the data", np.where(out["eligible"], "not activated", "pending")),
    )
    out["signed_before_data"] = early
    out["status"] = pd.Categorical(np.where(signed_day.isna(), "no signed date", status), categories=STATUSES)
    return out.sort_values(["signed", "partner"], kind="stable", na_position="last").reset_index(drop=True)


def _summary(rows: pd.DataFrame, groups: pd.DataFrame, by, within: int) -> pd.DataFrame:
    r = rows.assign(
        _one=1,
        _no_signed=rows["signed"].isna(),
        _signed=rows["signed"].notna(),
        _pending=rows["signed"].notna() & ~rows["eligible"] & ~rows["signed_before_data"],
        _early=rows["signed_before_data"],
        _eligible=rows["eligible"],
        _activated=rows["eligible"] & (rows["days_to_first_deal"] <= within).fillna(False),
        _late=rows["eligible"] & (rows["days_to_first_deal"] > within).fillna(False),
        _first=rows["days_to_first_deal"].astype(float),
        _win=rows["days_to_first_win"].astype(float),
    )
    keys = [by] if by else []
    r["_g"] = r[by] if by else 0
    counted = ["_one", "_no_signed", "_signed", "_early", "_pending", "_eligible", "_activated", "_late"]
    sums = r.groupby("_g")[counted].sum()
    medians = r.groupby("_g")[["_first", "_win"]].median()
    index = pd.Index(groups[by].tolist() if by else [0], name="_g")
    sums = sums.reindex(index, fill_value=0).astype("int64")
    medians = medians.reindex(index)
    out = pd.DataFrame(index=index)
    out["partners"] = sums["_one"]
    out["no_signed_date"] = sums["_no_signed"]
    out["signed"] = sums["_signed"]
    out["signed_before_data"] = sums["_early"]
    out["pending"] = sums["_pending"]
    out["eligible"] = sums["_eligible"]
    out["activated"] = sums["_activated"]
    out["activated_late"] = sums["_late"]
    out["not_activated"] = sums["_eligible"] - sums["_activated"]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["activation_rate"] = np.where(out["eligible"] > 0, out["activated"] / out["eligible"], np.nan)
    low, high = wilson_interval(out["activated"].to_numpy(), out["eligible"].to_numpy())
    out["activation_rate_low"], out["activation_rate_high"] = low, high
    out["median_days_to_first_deal"] = medians["_first"].to_numpy()
    out["median_days_to_first_win"] = medians["_win"].to_numpy()
    out = out.reset_index(drop=not keys)
    return out.rename(columns={"_g": by}) if keys else out


def _active(
    table, last_cr, *, by, q, as_of_day: int, trailing: int, start_day, end_day, first_day, data_start
) -> pd.DataFrame:
    """Partners signed by each period's end and those of them with a deal in the trailing window
    (its share left empty where the window reaches back before the deals begin)."""
    end_day = as_of_day if end_day is None else min(end_day, as_of_day)
    begin = first_day if start_day is None else start_day
    begin = min(begin if begin is not None else end_day, end_day)
    to_ts = pd.Timestamp(rules.EPOCH)
    first_key, last_key = (q.key(to_ts + pd.Timedelta(days=d)) for d in (begin, end_day))
    periods = period_frame(range(first_key, last_key + 1), q.freq, q.fiscal_year_start)
    if q.freq is None:
        window_end = np.array([end_day], dtype=np.int64)
    else:
        period_last = (periods["period_end"] - to_ts).dt.days.to_numpy(np.int64)
        window_end = np.minimum(period_last, end_day)
    keys = periods["key"].to_numpy(np.int64)
    names = table["partner"].to_numpy(object)
    # the last counted deal created in each period (deals before the first period count in it)
    last = np.full((len(names), len(keys)), np.iinfo(np.int64).min // 2, dtype=np.int64)
    if last_cr is not None and len(last_cr):
        lc = last_cr[last_cr["partner"].isin(set(names)) & (last_cr["cr_key"] <= keys[-1])]
        row = pd.Index(names).get_indexer(lc["partner"])
        col = np.searchsorted(keys, np.maximum(lc["cr_key"].to_numpy(np.int64), keys[0]))
        np.maximum.at(last, (row, col), lc["last_cr"].to_numpy(np.int64))
    last = np.maximum.accumulate(last, axis=1)
    signed_day = (table["signed"] - to_ts).dt.days.to_numpy(float)
    counts = np.isnan(signed_day)[:, None] | (signed_day[:, None] <= window_end[None, :])
    active = last > (window_end - trailing)[None, :]
    # a window that starts before the deals do would count partners inactive for want of data
    complete = np.ones(len(window_end), bool) if data_start is None else window_end - trailing + 1 >= data_start
    groups = table[by].to_numpy(object) if by else np.zeros(len(names), dtype=object)
    labels = pd.unique(groups) if by else np.array([0], dtype=object)
    frames = []
    for label in sorted(labels, key=str) if by else labels:
        mine = groups == label
        part = periods.drop(columns="key").copy() if q.freq is not None else pd.DataFrame(index=range(1))
        if by:
            part.insert(0, by, label)
        part["window_end"] = to_ts + pd.to_timedelta(window_end, unit="D")
        part["window_complete"] = complete
        part["partners"] = counts[mine].sum(axis=0).astype("int64")
        part["active"] = (active[mine] & counts[mine]).sum(axis=0).astype("int64")
        with np.errstate(invalid="ignore", divide="ignore"):
            part["active_share"] = np.where(
                (part["partners"] > 0) & complete, part["active"] / part["partners"], np.nan
            )
        frames.append(part)
    return pd.concat(frames, ignore_index=True)


def partner_activation(
    deals,
    *,
    partners: pd.DataFrame | None = None,
    by: str | None = None,
    within: int = 90,
    as_of: DateLike = None,
    freq: Freq = "M",
    start: DateLike = None,
    end: DateLike = None,
    fiscal_year_start: int = 1,
    where: Where = None,
    trailing: int = 365,
    columns: Mapping[str, str] | None = None,
    engine: Engine = "auto",
) -> Activation:
    """Partner activation: days from signing to the first deal and the first win, the share of
    partners activated within ``within`` days, and the active partners per period.

    Parameters
    ----------
    deals : pandas.DataFrame, PreparedDeals, a table narwhals reads, or a load result
        The canonical deals table on any engine; or an object with ``.deals`` and ``.partners``
        (a :func:`channelkpi.load_crm` result), whose partner table is then the default.
    partners : pandas.DataFrame
        The partner table: ``partner`` (the names the deals use), ``signed`` (the signing date;
        empty where unknown) and any other columns (``tier``, ``region`` ...).
    by : str, optional
        A partner-table column to group the summary and the active partners by (``"tier"``);
        None: all partners together.
    within : int
        The activation window in days: activated = a first deal created on day 0 (the signing
        day) to day ``within``.
    as_of : date-like, optional
        Read the data as of this day (deals created, or won, after it are not seen). Default:
        the last date in the data (the deals' created and close dates, the signed dates), or
        ``end`` when that is earlier.
    freq : {"W", "M", "Q", "Y"} or None
        The periods of the active-partner table (None: one row, as of ``as_of``).
    start, end : date-like, optional
        The signing dates of the partners in ``partners`` and ``summary`` (a partner without a
        signed date is left out when either is given), and the periods of ``active`` (default:
        from the first deal counted to ``as_of``).
    fiscal_year_start : int
        First month of the fiscal year (1-12), for quarters and years.
    where : dict of str -> list of str, optional
        Count only these deals, e.g. ``{"channel": ["partner"]}``.
    trailing : int
        A partner is active at a day when it created a deal in the ``trailing`` days up to and
        including that day.
    columns : dict of str -> str, optional
        ``{"their column": "canonical name"}`` for a deals table named otherwise.
    engine : {"auto", "duckdb", "pandas"}
        What reads a pandas table (other tables are read by their own engine).

    Returns
    -------
    Activation
        ``.partners`` (one row per partner), ``.summary`` (one row per group), ``.active`` (one
        row per group x period) and ``.unlisted`` (partners with deals missing from the table),
        with ``.as_of``, ``.excluded`` and ``.warnings`` (see :class:`Activation`).

    Raises
    ------
    ChannelKPIError
        Without a partner table, for a partner table without ``partner`` or ``signed``, with a
        name twice or a date that cannot be read, for ``by=`` not one of its columns, or an
        option out of range.

    Warns
    -----
    UserWarning
        When deals name partners that the partner table does not have (listed in
        ``.unlisted``).

    Examples
    --------
    >>> import pandas as pd
    >>> from channelkpi.datasets import toy_deals
    >>> partners = pd.DataFrame({
    ...     "partner": ["Acme", "Birch", "Cedar"],
    ...     "signed": ["2024-01-10", "2024-03-15", "2024-04-25"],
    ...     "tier": ["gold", "silver", "silver"]})
    >>> result = partner_activation(toy_deals(), partners=partners, by="tier", within=30)
    >>> result.partners[["partner", "signed", "days_to_first_deal", "status"]]
      partner     signed  days_to_first_deal      status
    0    Acme 2024-01-10                   0   activated
    1   Birch 2024-03-15                  18   activated
    2   Cedar 2024-04-25                <NA>     pending
    >>> result.summary[["tier", "signed", "pending", "eligible", "activated", "activation_rate"]]
         tier  signed  pending  eligible  activated  activation_rate
    0    gold       1        0         1          1              1.0
    1  silver       2        1         1          1              1.0
    >>> result.active.query("tier == 'silver'")[["period", "partners", "active"]]
        period  partners  active
    5  2024-01         0       0
    6  2024-02         0       0
    7  2024-03         1       0
    8  2024-04         2       1
    9  2024-05         2       1
    """
    deals, partners = _unwrap(deals, partners)
    within = _count(within, "within", 0)
    trailing = _count(trailing, "trailing", 1)
    table, notes = _partner_table(partners, by)
    q = make_query(by="partner", freq=freq, fiscal_year_start=fiscal_year_start, where=where)
    start_ts, end_ts = date_range(start, end)
    start_day = None if start_ts is None else rules.day_number(start_ts)
    end_day = None if end_ts is None else rules.day_number(end_ts)
    signed_days = (table["signed"] - pd.Timestamp(rules.EPOCH)).dt.days
    signed = {p: int(d) for p, d in zip(table["partner"], signed_days) if not pd.isna(d)}

    stage = open_stage1(deals, q, set(), engine=engine, columns=columns)
    aggregates = _prepared_aggregates if isinstance(stage, PreparedStage1) else _lazy_aggregates
    if as_of is None:
        (_, last_day), _, _ = aggregates(stage, signed, None, q)
        candidates = [d for d in (last_day, max(signed.values(), default=None)) if d is not None]
        if not candidates:
            raise ChannelKPIError(
                "there is no date in the deals or the partner table to read the data as of",
                fix="pass as_of='YYYY-MM-DD'",
            )
        # a range is read as of its end (as every KPI's range), never past the data
        as_of_day = max(candidates) if end_day is None else min(max(candidates), end_day)
    else:
        as_of_day = rules.day_number(date_range(as_of, None)[0])
    (data_start, _), per_partner, last_cr = aggregates(stage, signed, as_of_day, q)

    listed = set(table["partner"])
    is_partner = ~per_partner["partner"].isin(_NOT_PARTNERS)
    unknown = per_partner[is_partner & ~per_partner["partner"].isin(listed) & (per_partner["n"] > 0)]
    unlisted = pd.DataFrame(
        {
            "partner": unknown["partner"].to_numpy(object),
            "deals": unknown["n"].to_numpy("int64"),
            "first_created": _days_to_dates(unknown["first_cr"]).to_numpy(),
        }
    )
    unlisted = unlisted.sort_values(["deals", "partner"], ascending=[False, True], kind="stable").reset_index(drop=True)
    messages = list(notes)
    if len(unlisted):
        shown = ", ".join(repr(p) for p in unlisted["partner"].head(10))
        more = f" and {len(unlisted) - 10} more" if len(unlisted) > 10 else ""
        messages.append(
            f"{len(unlisted)} partner(s) with deals are not in the partner table and are left out of activation: "
            f"{shown}{more} (see .unlisted; add them to the partner table, or fix their names)"
        )
    for message in messages:
        warnings.warn(message, UserWarning, stacklevel=2)

    rows = _partner_rows(table, per_partner, as_of_day, within, by, start_day, end_day, data_start)
    early = rows["signed_before_data"]
    if early.any():
        first = (pd.Timestamp(rules.EPOCH) + pd.Timedelta(days=data_start)).date()
        shown = ", ".join(repr(p) for p in rows.loc[early, "partner"].head(5))
        more = f" and {int(early.sum()) - 5} more" if early.sum() > 5 else ""
        message = (
            f"{int(early.sum())} partner(s) signed before the deals begin ({first}): whether they brought a "
            f"deal within {within} days cannot be told from these deals, so they are left out of the "
            f"activation rate: {shown}{more} (status 'signed before the data'; load an export that reaches "
            "back to their signing to count them)"
        )
        messages.append(message)
        warnings.warn(message, UserWarning, stacklevel=2)
    groups = pd.DataFrame({by: sorted(table[by].unique(), key=str)}) if by else None
    summary = _summary(rows, groups, by, within)
    ours = per_partner[per_partner["partner"].isin(listed)]
    first_day = None if ours["first_cr"].isna().all() else int(ours["first_cr"].min())
    active = _active(
        table,
        last_cr,
        by=by,
        q=q,
        as_of_day=as_of_day,
        trailing=trailing,
        start_day=start_day,
        end_day=end_day,
        first_day=first_day,
        data_start=data_start,
    )
    total = _rows_before_filter(stage)
    seen = int(per_partner["n"].sum())
    excluded = {
        "filtered_out": (total - seen) if q.where else 0,
        "no_partner": int(per_partner.loc[~is_partner, "n"].sum()),
        "not_in_partner_table": int(unknown["n"].sum()),
        "before_signed": int(ours["before_n"].sum()),
        "no_created_date": int(ours["undated_n"].sum()),
        "after_as_of": int(ours["late_n"].sum()),
    }
    as_of_ts = pd.Timestamp(rules.EPOCH) + pd.Timedelta(days=as_of_day)
    meta = {
        "kpi": "partner_activation",
        "definition": DEFINITIONS["partner_activation"].formula,
        "rows": total,
        "used": int(ours["deals_n"].sum()),
        "excluded": {k: v for k, v in excluded.items() if v},
        "engine": stage.engine,
        "as_of": str(as_of_ts.date()),
        "within": within,
        "trailing": trailing,
    }
    for frame in (rows, summary, active):
        frame.attrs["channelkpi"] = dict(meta)
    return Activation(
        partners=rows,
        summary=summary,
        active=active,
        unlisted=unlisted,
        as_of=as_of_ts,
        within=within,
        trailing=trailing,
        engine=stage.engine,
        excluded=excluded,
        warnings=tuple(messages),
    )
