"""The sample's history: how the sample deals got to the state the current export shows.

Every deal of :func:`~channelkpi.datasets.make_sample_deals` gets a seeded life from its
creation to the export (:data:`~channelkpi.datasets.EXPORT_DATE`): it enters an early stage,
moves up (now and then back one stage), its amount is revised up or down, its expected close
date slips or is pulled in, and a closed deal ends on its closed day in the state the export
shows. Two lost deals are reopened, and two duplicates entered by mistake are deleted a few
weeks later. The life of every deal ends in exactly the export's state.

:func:`channelkpi.datasets.write_sample` writes it the two ways users have it:

- ``kestrel_opportunity_history.csv``, Salesforce ``OpportunityHistory`` as the API exports it
  (:func:`write_opportunity_history`)
  -- a row per state, ``CreatedDate`` the instant it began, ``IsDeleted``/``SystemModstamp`` for
  the deleted duplicates;
- ``snapshots/<YYYY-MM-DD>.csv``, the sample's Salesforce report as it read at the end of each
  of the last months (dated by the month's last day) and on the export day, the last one byte
  for byte the current export.

Examples
--------
>>> from channelkpi.datasets import EXPORT_DATE, SAMPLE_SEED, make_sample_deals
>>> deals = make_sample_deals()
>>> states = make_sample_states(deals, seed=SAMPLE_SEED, export_date=EXPORT_DATE)
>>> now = sample_state(states, deals, EXPORT_DATE)  # the export's state, deal for deal
>>> cols = ["deal_id", "stage", "status", "amount", "expected_close", "closed", "probability"]
>>> now[cols].equals(deals[cols])
True
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from .schema import validate_deals

__all__ = [
    "SNAPSHOT_MONTHS",
    "make_sample_states",
    "opportunity_history_frame",
    "report_universe",
    "sample_state",
    "snapshot_dates",
    "write_opportunity_history",
]

#: How many month-end snapshots precede the export day's.
SNAPSHOT_MONTHS = 6

# a stream of its own (``default_rng([seed, k])``, as the records' in datasets): the deals' draws
# are untouched, so every KPI of the sample is what it was before the sample had a history
_HISTORY_STREAM = 5

# Salesforce's default open stages in order, with their default probability and a forecast
# category each (the closed ones: Closed, Omitted)
_STAGES = [
    ("Prospecting", 10, "Pipeline"),
    ("Qualification", 10, "Pipeline"),
    ("Needs Analysis", 20, "Pipeline"),
    ("Value Proposition", 50, "Pipeline"),
    ("Proposal/Price Quote", 75, "BestCase"),
    ("Negotiation/Review", 90, "Commit"),
]
_STAGE_INDEX = {name: i for i, (name, _, _) in enumerate(_STAGES)}
_CLOSED = {"Closed Won": (100, "Closed", "won"), "Closed Lost": (0, "Omitted", "lost")}
_REOPENED, _DELETED = 2, 2
_DUPLICATE_IDS = "006KN9{:07d}"

# the columns of a state, in order
_STATE = [
    "deal_id",
    "at",
    "stage",
    "status",
    "amount",
    "expected_close",
    "closed",
    "probability",
    "deleted_at",
    "copy_of",
]


def _at(rng: np.random.Generator, day: pd.Timestamp) -> pd.Timestamp:
    """An instant in the working hours of ``day``, to the minute."""
    return day + pd.Timedelta(minutes=int(rng.integers(8 * 60, 19 * 60)))


def _open_state(stage_index: int, amount: float, close: pd.Timestamp) -> dict:
    name, probability, _ = _STAGES[stage_index]
    return {
        "stage": name,
        "status": "open",
        "amount": amount,
        "expected_close": close,
        "closed": pd.NaT,
        "probability": probability / 100,
    }


def _round50(x: float) -> float:
    return float(max(50.0, np.round(x / 50) * 50))


def _life(rng: np.random.Generator, deal, export_date: pd.Timestamp) -> list[tuple[pd.Timestamp, dict]]:
    """One deal's states from its creation to the export, the last one the export's."""
    created, final_amount = deal.created, deal.amount
    is_open = deal.status == "open"
    end = export_date if is_open else deal.closed
    final_close = deal.expected_close if is_open else deal.closed
    # the open stages it went through: from an early one up to the last (a closed deal's last
    # open stage is late when won, anywhere when lost)
    if is_open:
        top = _STAGE_INDEX[deal.stage]
    elif deal.status == "won":
        top = int(rng.choice([3, 4, 5], p=[0.2, 0.35, 0.45]))
    else:
        top = int(rng.integers(0, len(_STAGES)))
    first = min(top, int(rng.integers(0, 2)))
    path = [i for i in range(first + 1, top) if rng.random() < 0.5] + ([top] if top > first else [])
    if len(path) >= 2 and rng.random() < 0.08:  # a move back, then up again
        k = int(rng.integers(1, len(path)))
        path = path[:k] + [path[k - 1] - 1] + path[k - 1 :]
    # the amount first entered, revised once to the final one (a third of the deals)
    amount = final_amount
    if pd.notna(final_amount) and rng.random() < 0.35:
        amount = _round50(final_amount * float(rng.choice([0.5, 0.7, 0.85, 1.2, 1.4, 1.8])))
    # the close date first expected; an open deal's moves to its current one, a closed deal's
    # may move once while open, and becomes the closed day when it closes
    close = created + pd.Timedelta(days=int(rng.integers(20, 110)))
    close_moves = []
    if is_open and close != final_close:
        close_moves.append(final_close)
    elif not is_open and end > close and rng.random() < 0.5:
        close_moves.append(end + pd.Timedelta(days=int(rng.integers(0, 25))))
    changes = [("stage", s) for s in path] + [("close", c) for c in close_moves]
    if amount != final_amount and pd.notna(amount):
        changes.append(("amount", final_amount))
    order = rng.permutation(len(changes))
    # the stages keep their order: the other changes fall between them at random
    stage_changes = iter([c for c in changes if c[0] == "stage"])
    changes = [next(stage_changes) if changes[i][0] == "stage" else changes[i] for i in order]
    days = (end - created).days - 1  # the days strictly between creation and the end
    slots = min(len(changes), max(days, 0))
    state = _open_state(first, amount, close)
    if slots == 0:  # no day to change on: entered as it ended up
        for kind, value in changes:
            state = _apply(state, kind, value)
        states = [(_at(rng, created), state)]
    else:
        picked = np.sort(rng.choice(np.arange(1, days + 1), size=slots, replace=False))
        groups = np.array_split(np.arange(len(changes)), slots)
        states = [(_at(rng, created), state)]
        for day, group in zip(picked, groups, strict=True):
            before = state
            for j in group:
                state = _apply(state, *changes[j])
            if not _same_state(state, before):  # a move back and up again on one day is no change
                states.append((_at(rng, created + pd.Timedelta(days=int(day))), state))
    if not is_open:
        probability, _, status = _CLOSED[deal.stage]
        closing = dict(state, stage=deal.stage, status=status, amount=final_amount, probability=probability / 100)
        closing.update(expected_close=pd.NaT, closed=deal.closed)
        states.append((_at(rng, deal.closed), closing))
    return states


def _same_state(a: dict, b: dict) -> bool:
    return all(a[k] == b[k] or (pd.isna(a[k]) and pd.isna(b[k])) for k in a)


def _apply(state: dict, kind: str, value) -> dict:
    if kind == "stage":
        return _open_state(value, state["amount"], state["expected_close"])
    if kind == "close":
        return dict(state, expected_close=value)
    return dict(state, amount=value)


def _reopened_life(rng: np.random.Generator, deal, export_date: pd.Timestamp) -> list[tuple[pd.Timestamp, dict]]:
    """An open deal lost some weeks after its creation and reopened a month or two later."""
    created = deal.created
    lost_day = created + pd.Timedelta(days=int(rng.integers(35, 50)))
    reopen_day = lost_day + pd.Timedelta(days=int(rng.integers(30, 60)))
    first_close = created + pd.Timedelta(days=int(rng.integers(40, 60)))
    entered = _open_state(2, deal.amount, first_close)
    lost = dict(entered, stage="Closed Lost", status="lost", probability=0.0, expected_close=pd.NaT, closed=lost_day)
    reopened = _open_state(1, deal.amount, reopen_day + pd.Timedelta(days=int(rng.integers(45, 75))))
    current = _open_state(_STAGE_INDEX[deal.stage], deal.amount, deal.expected_close)
    states = [(_at(rng, created), entered), (_at(rng, lost_day), lost), (_at(rng, reopen_day), reopened)]
    last_day = reopen_day + pd.Timedelta(days=int(rng.integers(10, 30)))
    return [*states, (_at(rng, min(last_day, export_date)), current)]


def make_sample_states(deals: pd.DataFrame, *, seed: int, export_date: pd.Timestamp) -> pd.DataFrame:
    """Every state of every sample deal, and of the deleted duplicates, in time order per deal.

    Parameters
    ----------
    deals : pandas.DataFrame
        The sample deals (:func:`~channelkpi.datasets.make_sample_deals`), the export's state.
    seed : int
        Random seed; the bundled files use :data:`~channelkpi.datasets.SAMPLE_SEED`.
    export_date : Timestamp
        The day of the export the deals are (:data:`~channelkpi.datasets.EXPORT_DATE`).

    Returns
    -------
    pandas.DataFrame
        ``deal_id``, ``at`` (the instant the state began), ``stage``, ``status``, ``amount``,
        ``expected_close``, ``closed``, ``probability``, ``deleted_at`` (the instant a deleted
        duplicate was deleted, NaT for the others) and ``copy_of`` (the deal a duplicate copies,
        None for the others); sorted by deal and instant. The duplicates' ids are ``006KN9...``.
    """
    rng = np.random.default_rng([seed, _HISTORY_STREAM])
    reopened = set(_reopened_ids(deals, rng))
    rows = []
    for deal in deals.itertuples(index=False):
        life = (_reopened_life if deal.deal_id in reopened else _life)(rng, deal, export_date)
        rows += [
            {"deal_id": deal.deal_id, "at": at, **state, "deleted_at": pd.NaT, "copy_of": None} for at, state in life
        ]
    for dup_id, deal, deleted_at in _duplicate_plan(deals, rng):
        close = deal.created + pd.Timedelta(days=60)
        state = _open_state(0, deal.amount if pd.notna(deal.amount) else 10_000.0, close)
        at = deal.created + pd.Timedelta(hours=9, minutes=int(rng.integers(0, 500)))
        rows.append({"deal_id": dup_id, "at": at, **state, "deleted_at": deleted_at, "copy_of": deal.deal_id})
    states = pd.DataFrame(rows, columns=_STATE)
    return states.sort_values(["deal_id", "at"], kind="stable").reset_index(drop=True)


def _reopened_ids(deals: pd.DataFrame, rng: np.random.Generator) -> list[str]:
    """Open deals created in spring 2025 with an amount: lost in the summer, open again by autumn."""
    pool = deals[
        deals["status"].eq("open")
        & deals["amount"].notna()
        & deals["created"].between(pd.Timestamp("2025-04-15"), pd.Timestamp("2025-06-15"))
    ]["deal_id"].tolist()
    return sorted(rng.choice(pool, size=_REOPENED, replace=False).tolist())


def _duplicate_plan(deals: pd.DataFrame, rng: np.random.Generator):
    """(duplicate id, the deal it copies, when it was deleted) of each deleted duplicate: entered
    twice in early summer 2025, the copy deleted in August to October."""
    pool = deals[
        deals["created"].between(pd.Timestamp("2025-06-01"), pd.Timestamp("2025-07-20"))
        & deals["partner"].ne("(direct)")
    ]
    picked = pool.iloc[np.sort(rng.choice(len(pool), size=_DELETED, replace=False))]
    for k, deal in enumerate(picked.itertuples(index=False), start=1):
        day = pd.Timestamp("2025-08-04") + pd.Timedelta(days=int(rng.integers(0, 80)))
        yield _DUPLICATE_IDS.format(k), deal, _at(rng, day)


def sample_state(states: pd.DataFrame, universe: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """The deals as they were at the end of ``day`` (after that day's changes), in the order of
    ``universe``: the deals created by then and not deleted, with their state then."""
    end = pd.Timestamp(day) + pd.Timedelta(days=1)
    seen = states[states["at"] < end].drop_duplicates("deal_id", keep="last")
    seen = seen[~(seen["deleted_at"] < end)].set_index("deal_id")
    out = universe[universe["deal_id"].isin(seen.index)].reset_index(drop=True)
    now = seen.reindex(out["deal_id"])
    for col in ("stage", "status", "amount", "expected_close", "closed", "probability"):
        out[col] = now[col].to_numpy()
    out["currency"] = np.where(out["amount"].notna(), "USD", None)
    return validate_deals(out, name="sample state")


def snapshot_dates(export_date: pd.Timestamp, *, months: int = SNAPSHOT_MONTHS) -> list[pd.Timestamp]:
    """The snapshot days: the last day of each of the ``months`` months before the export's
    month, and the export day.

    >>> [d.date().isoformat() for d in snapshot_dates(pd.Timestamp("2026-01-05"), months=2)]
    ['2025-11-30', '2025-12-31', '2026-01-05']
    """
    first_of_export_month = export_date.normalize().replace(day=1)
    ends = [first_of_export_month - pd.DateOffset(months=k) - pd.Timedelta(days=1) for k in range(months - 1, -1, -1)]
    return [pd.Timestamp(d) for d in ends] + [export_date]


def opportunity_history_frame(states: pd.DataFrame) -> pd.DataFrame:
    """The states as Salesforce's API exports ``OpportunityHistory``: text cells, instants as
    ``MM/DD/YY hh:mm AM``, close dates as ``MM/DD/YY``, amounts as plain numbers, probability in
    percent, a row ``Id`` per state in time order; the rows of a deleted opportunity are
    ``IsDeleted`` TRUE with ``SystemModstamp`` the instant it was deleted. ``CurrencyIsoCode`` is
    there as in an org with several currencies enabled (the sample export has ``Amount Currency``),
    blank where the export's is: on a deal without an amount."""
    s = states.sort_values(["at", "deal_id"], kind="stable").reset_index(drop=True)

    def stamp(t: pd.Series) -> pd.Series:
        return t.dt.strftime("%m/%d/%y %I:%M %p")

    def number(x: pd.Series) -> pd.Series:
        return x.map(lambda v: "" if pd.isna(v) else f"{v:.2f}".rstrip("0").rstrip("."))

    close = s["closed"].fillna(s["expected_close"])
    probability = (s["probability"] * 100).round().astype(int)
    category = s["stage"].map({**{n: c for n, _, c in _STAGES}, **{n: v[1] for n, v in _CLOSED.items()}})
    deleted = s["deleted_at"].notna()
    return pd.DataFrame(
        {
            "Id": [f"008KN{i:010d}" for i in range(1, len(s) + 1)],
            "OpportunityId": s["deal_id"],
            "CreatedDate": stamp(s["at"]),
            "StageName": s["stage"],
            "Amount": number(s["amount"]),
            "ExpectedRevenue": number(s["amount"] * probability / 100),
            "CloseDate": close.dt.strftime("%m/%d/%y"),
            "Probability": probability.astype(str),
            "ForecastCategory": category,
            "SystemModstamp": stamp(s["deleted_at"].where(deleted, s["at"])),
            "IsDeleted": np.where(deleted, "TRUE", "FALSE"),
            "CurrencyIsoCode": np.where(s["amount"].notna(), "USD", ""),
        }
    )


def write_opportunity_history(states: pd.DataFrame, path: str | Path) -> Path:
    """Write :func:`opportunity_history_frame` of ``states`` as a CSV (header row, LF line ends,
    quoted only where a value needs it, as the API's bulk export writes it)."""
    path = Path(path)
    frame = opportunity_history_frame(states)
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(frame.columns)
        out.writerows(frame.itertuples(index=False))
    return path


def report_universe(deals: pd.DataFrame, records: pd.DataFrame, states: pd.DataFrame, kind: np.ndarray):
    """Every deal ever in the report (the export's, and the deleted duplicates each right after
    the deal it copies), their records (name, account, product) and ``kind`` (a value per deal
    of the export, e.g. its report ``Type``), the duplicates' taken from the deal they copy."""
    dup_ids = sorted(set(states["deal_id"]) - set(deals["deal_id"]))
    frame, recs, kinds = deals.copy(), records.reset_index(drop=True).copy(), pd.Series(kind)
    order = np.arange(len(deals), dtype=float)
    copies = states[states["deal_id"].isin(dup_ids)].drop_duplicates("deal_id")
    position = {d: i for i, d in enumerate(deals["deal_id"])}
    extra_rows, extra_recs, extra_order, extra_kind = [], [], [], []
    for dup in copies.itertuples(index=False):
        i = position[dup.copy_of]
        extra_rows.append(deals.iloc[i].to_dict() | {"deal_id": dup.deal_id})
        extra_recs.append(records.iloc[i].to_dict())
        extra_order.append(i + 0.5)
        extra_kind.append(kind[i])
    if extra_rows:
        frame = pd.concat([frame, pd.DataFrame(extra_rows)], ignore_index=True)
        recs = pd.concat([recs, pd.DataFrame(extra_recs)], ignore_index=True)
        kinds = pd.concat([kinds, pd.Series(extra_kind)], ignore_index=True)
        order = np.concatenate([order, extra_order])
    pos = np.argsort(order, kind="stable")
    return (
        validate_deals(frame.iloc[pos].reset_index(drop=True), name="sample"),
        recs.iloc[pos].reset_index(drop=True),
        kinds.to_numpy()[pos],
    )
