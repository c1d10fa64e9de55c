"""Salesforce history exports: ``OpportunityHistory`` (a row per state) and
``OpportunityFieldHistory`` (a row per field change).

``OpportunityHistory`` rows are full states -- stage, amount, close date, probability as they
were from ``CreatedDate`` on -- read by the loader's own steps (:mod:`.rows`). ``PrevAmount``,
``PrevCloseDate`` and ``FromOpportunityStageName`` repeat the state before, so they add nothing
to read. ``IsDeleted`` rows belong to a deleted deal, deleted at their ``SystemModstamp``.

``OpportunityFieldHistory`` rows are changes of one field (``Field``, ``OldValue``,
``NewValue``); the states are rebuilt from the current export: before a field's first change it
held that change's old value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...errors import ColumnError
from ..outcome import check_stage_map, derive_outcome
from ..parse import parse_amounts, parse_bools, parse_dates
from ..presets import norm
from ..reader import read_raw
from .rows import StateRows, raw_of, read_state_rows, time_of_day

__all__ = [
    "FIELD_HISTORY_HEADERS",
    "FIELDS",
    "field_history_states",
    "is_field_history",
    "opportunity_history_states",
    "status_of",
]

#: The headers that make a file an OpportunityFieldHistory export (normalised).
FIELD_HISTORY_HEADERS = frozenset({"opportunityid", "field", "oldvalue", "newvalue", "createddate"})

#: Field names of OpportunityFieldHistory -> the canonical field they change.
FIELDS = {
    "stagename": "stage",
    "amount": "amount",
    "closedate": "close_date",
    "owner": "owner",
    "ownerid": "owner",
    "ownerassignment": "owner",
    "partneraccount": "partner",
    "partneraccountid": "partner",
}

# the instant a report export's row began, by label
_INSTANT_LABELS = ("createddate", "editdate", "lastmodifieddate", "lastmodified", "changedat", "modifieddate")


def is_field_history(headers: list[str]) -> bool:
    """Whether the headers are those of an OpportunityFieldHistory export."""
    return FIELD_HISTORY_HEADERS <= {norm(h) for h in headers}


def opportunity_history_states(source, *, columns=None, stage_map=None, **options) -> tuple[StateRows, frozenset[str]]:
    """The states of an OpportunityHistory export (API names or report labels), and the fields
    it records."""
    source = raw_of(source, sheet=options.get("sheet"))
    raw_headers = source.headers
    # API names ("CreatedDate") and report labels ("Edit Date", "To Stage") alike: spaces and
    # underscores left out
    by_norm = {norm(h).replace(" ", "").replace("_", ""): h for h in raw_headers}
    cols = dict(columns or {})
    if "created" not in cols.values():
        for label in _INSTANT_LABELS:
            if label in by_norm and by_norm[label] not in cols:
                cols[by_norm[label]] = "created"
                break
    if "tostage" in by_norm and "stage" not in cols.values():  # a report's "To Stage" is the state entered
        cols[by_norm["tostage"]] = "stage"
    for prev in ("prevamount", "prevclosedate", "fromopportunitystagename", "fromstage", "fromforecastcategory"):
        if prev in by_norm and by_norm[prev] not in cols:
            cols[by_norm[prev]] = None  # the state before: the previous row already holds it
    rows = read_state_rows(
        source, instant="created", columns=cols, stage_map=stage_map, extra=("isdeleted", "systemmodstamp"), **options
    )
    if "isdeleted" in rows.extra:
        deleted, _bad = parse_bools(rows.extra["isdeleted"])
        stamp = rows.extra.get("systemmodstamp")
        at = pd.Series(pd.NaT, index=rows.states.index, dtype="datetime64[ns]")
        if stamp is not None:
            at = pd.Series(parse_dates(stamp).values.to_numpy("datetime64[ns]") + time_of_day(stamp))
        rows.states["_deleted_at"] = at.where(deleted.fillna(False).to_numpy(bool)).to_numpy()
    known = {"stage", "status"} & set(rows.columns) | {"status"}
    known |= {"amount"} & set(rows.columns)
    if "close_date" in rows.columns or "expected_close" in rows.columns:
        known.add("expected_close")
    known |= {"partner", "owner"} & set(rows.columns)
    return rows, frozenset(known)


def field_history_states(
    source, current: pd.DataFrame, *, stage_map=None, dayfirst=None, tz=None, sheet=None
) -> tuple[pd.DataFrame, list[tuple], frozenset[str], int, str]:
    """States rebuilt from OpportunityFieldHistory changes and the current deals.

    Returns the states (one per deal and change instant, plus the deal's created date), the
    ledger entries of every row, the fields recorded, the rows read and the file name.
    """
    raw = raw_of(source, sheet=sheet)
    h = {norm(x): x for x in raw.headers}
    missing = [c for c in ("opportunityid", "field", "newvalue", "createddate") if c not in h]
    if missing:
        raise ColumnError(
            f"an OpportunityFieldHistory export needs the columns {missing}; the headers are {raw.headers[:20]}",
            file=raw.file,
            fix="export OpportunityId, Field, OldValue, NewValue and CreatedDate",
        )
    cells = raw.cells
    ids = cells[h["opportunityid"]].astype(object).reset_index(drop=True)
    field = cells[h["field"]].astype(object).map(lambda v: FIELDS.get(norm(v)) if isinstance(v, str) else None)
    field = field.reset_index(drop=True)
    stamp = cells[h["createddate"]]
    at = pd.Series(parse_dates(stamp, dayfirst=dayfirst, tz=tz).values.to_numpy("datetime64[ns]") + time_of_day(stamp))
    new = cells[h["newvalue"]].astype(object).reset_index(drop=True)
    old = (
        cells[h["oldvalue"]].astype(object).reset_index(drop=True)
        if "oldvalue" in h
        else pd.Series(None, index=new.index, dtype=object)
    )
    rows = raw.rows
    entries = [(raw.file, r, "rejected", why, detail, None) for r, why, detail in raw.rejected]
    bad = pd.Series("", index=new.index, dtype=object)
    bad[ids.isna().to_numpy()] = "no_deal_id"
    bad[(bad == "") & at.isna()] = "no_date"
    bad[(bad == "") & field.isna()] = "other_field"
    bad[(bad == "") & ~ids.isin(current["deal_id"].astype(object))] = "unknown_deal"
    # values: amounts and dates through the loader's parsers, per field
    value_new = new.copy()
    value_old = old.copy()
    for name, parse in (
        ("amount", lambda s: parse_amounts(s).values),
        ("close_date", lambda s: parse_dates(s, dayfirst=dayfirst).values),
    ):
        sel = (field == name).to_numpy()
        if sel.any():
            for series in (value_new, value_old):
                parsed = parse(series[sel].reset_index(drop=True))
                series[sel] = list(parsed)
            unreadable = sel & value_new.isna().to_numpy() & new.notna().to_numpy()
            bad[unreadable & (bad == "").to_numpy()] = "unreadable_value"
    details = {
        "no_deal_id": lambda i: f"column {h['opportunityid']!r} is empty; fix: give the opportunity's id",
        "no_date": lambda i: (
            f"column {h['createddate']!r}: {stamp.iloc[i]!r} is not a date; fix: give the change's instant"
        ),
        "other_field": lambda i: (
            f"column {h['field']!r}: {cells[h['field']].iloc[i]!r} changes no column channelkpi reads"
        ),
        "unknown_deal": lambda i: f"deal {ids.iloc[i]!r} is not in the current export; fix: export every opportunity",
        "unreadable_value": lambda i: (
            f"column {h['newvalue']!r}: {new.iloc[i]!r} cannot be read as a "
            f"{field.iloc[i].replace('_', ' ')}; fix: export values as numbers and dates"
        ),
    }
    for i in np.flatnonzero((bad != "").to_numpy()):
        entries.append((raw.file, int(rows[i]), "rejected", bad.iloc[i], details[bad.iloc[i]](i), ids.iloc[i]))
    ok = (bad == "").to_numpy()
    for i in np.flatnonzero(ok):
        entries.append((raw.file, int(rows[i]), "kept", "change", f"{field.iloc[i]} changed", ids.iloc[i]))
    ev = pd.DataFrame({"deal_id": ids[ok], "t": at[ok], "field": field[ok], "new": value_new[ok], "old": value_old[ok]})
    cur = current.set_index(current["deal_id"].astype(object), drop=False)
    cur_close = cur["closed"].fillna(cur["expected_close"])
    deals = ev["deal_id"].unique()
    created = cur.loc[deals, "created"]
    first_t = ev.groupby("deal_id")["t"].min().reindex(deals)
    start = created.where(created.notna() & (created < first_t.to_numpy()), first_t.to_numpy())
    instants = (
        pd.concat([pd.DataFrame({"deal_id": deals, "t": start.to_numpy()}), ev[["deal_id", "t"]]], ignore_index=True)
        .drop_duplicates()
        .sort_values(["t"], kind="stable")
    )
    states = instants.copy()
    recorded = set()
    for name, now in (
        ("stage", cur["stage"]),
        ("amount", cur["amount"]),
        ("close_date", cur_close),
        ("owner", cur["owner"]),
        ("partner", cur["partner"]),
    ):
        e = ev[ev["field"] == name].sort_values("t", kind="stable")
        base = now.astype(object).reindex(states["deal_id"]).to_numpy()
        if not len(e):
            states[name] = base
            continue
        recorded.add(name)
        after = pd.merge_asof(states[["t", "deal_id"]], e[["t", "deal_id", "new"]], on="t", by="deal_id")["new"]
        before_first = e.groupby("deal_id")["old"].first()
        has = states["deal_id"].isin(before_first.index).to_numpy()
        initial = np.where(has, before_first.reindex(states["deal_id"]).to_numpy(), base)
        states[name] = np.where(pd.isna(after).to_numpy(), initial, after.to_numpy())
    status = status_of(states["stage"], stage_map)
    states["status"] = status
    close = pd.to_datetime(pd.Series(states["close_date"].to_numpy()))
    closed_state = states["status"].isin(["won", "lost"]).to_numpy()
    states["closed"] = close.where(closed_state).to_numpy()
    states["expected_close"] = close.where(~closed_state).to_numpy()
    states["amount"] = pd.to_numeric(states["amount"]).astype(float)
    states = states.drop(columns="close_date").rename(columns={"t": "valid_from"})
    states["_file"], states["_row"] = raw.file, -1
    states = states.sort_values(["deal_id", "valid_from"], kind="stable").reset_index(drop=True)
    known = {
        "stage": "stage",
        "amount": "amount",
        "close_date": "expected_close",
        "owner": "owner",
        "partner": "partner",
    }
    fields = {known[k] for k in recorded} | ({"status"} if "stage" in recorded else set())
    return states, entries, frozenset(fields), len(raw) + len(raw.rejected), raw.file


def status_of(stages: pd.Series, stage_map) -> np.ndarray:
    """Open, won or lost for each stage name, by the loader's own rule (a one-column table of the
    distinct stages through :func:`~channelkpi.ingest.outcome.derive_outcome`)."""
    distinct = pd.Series(stages.dropna().astype(str).unique())
    if not len(distinct):
        return np.full(len(stages), None, dtype=object)
    text = "Stage\n" + "\n".join('"' + s.replace('"', '""') + '"' for s in distinct) + "\n"
    raw = read_raw(text.encode())
    notes: list[str] = []
    labels = derive_outcome(raw, {"stage": "Stage"}, check_stage_map(stage_map), notes).labels()
    lookup = dict(zip(distinct, labels, strict=True))
    return stages.map(lambda s: lookup.get(s) if isinstance(s, str) else None).to_numpy(object)
