"""The pieces of a view of a history that are text: the movers, the movement per group (HTML
and a worksheet).

Widget-free, so the dashboard's "Movement" tab and the report show the same rows the same way.
Every name from the data is escaped (:func:`channelkpi.safety.html_text`).

Examples
--------
>>> rows = pd.DataFrame({"deal_id": ["A"], "bucket": ["lost"], "amount": [80.0], "how": [""],
...                      "partner_t0": ["<b>Acme</b>"], "partner_t1": ["<b>Acme</b>"],
...                      "amount_t0": [80.0], "amount_t1": [80.0], "stage_t0": ["Proposal"], "stage_t1": ["Closed Lost"]})
>>> "&lt;b&gt;Acme&lt;/b&gt;" in movers_html(rows, currency="USD")
True
"""

from __future__ import annotations

import pandas as pd

from .charts import MOVEMENT_TITLES
from .currency_symbols import currency_symbol
from .formats import (
    date_text,
    display_name,
    is_missing,
    level_title,
    money,
    money_cents,
    money_whole,
    period_text,
    signed_money,
)
from .i18n import N_
from .i18n import gettext as _
from .metrics.movement import BUCKETS, SIGNS
from .metrics.rules import cents
from .safety import html_text

__all__ = [
    "HOW_TEXTS",
    "MOVEMENT_COLUMNS",
    "MOVER_TITLES",
    "NO_HISTORY",
    "bucket_caption",
    "currency_phrase",
    "how_text",
    "movement_html",
    "movement_sheet",
    "movers_html",
    "pipeline_gap_caption",
]

#: What the Movement tab (and the report) says when there is no history to show.
NO_HISTORY = N_(
    "Pipeline movement needs the deals' history: pass history=channelkpi.load_history(...) "
    "with your CRM's history file (Salesforce OpportunityHistory, HubSpot's \"Date entered\" "
    "columns), or simply last month's export beside this month's "
    '(load_history(["2025-10-31.csv", "2025-11-30.csv"])).'
)


#: What a mover's bucket is called on screen: the waterfall's bars, and the two rows that are not
#: bars (never the table's internal names).
MOVER_TITLES = {
    **MOVEMENT_TITLES,
    "memo": N_("Opened and closed in the period"),
    "unchanged": N_("Unchanged"),
}


def _text(value) -> str:
    return "" if is_missing(value) else str(value)


def currency_phrase(currency) -> str:
    """The deals of one currency in words, a missing currency readably.

    >>> currency_phrase("EUR"), currency_phrase(pd.NA)
    ('deals in EUR', 'deals without a currency')
    """
    return (
        _("deals in {currency}").format(currency=currency) if _has_currency(currency) else _("deals without a currency")
    )


def _has_currency(value) -> bool:
    # None, NaN, pandas' NA and "" are no currency's name
    return isinstance(value, str) and value != ""


def _change(bucket: str, amount: float, symbol: str) -> str:
    sign = SIGNS.get(bucket, 0)
    return signed_money(sign * amount, symbol) if sign else money(amount, symbol)


#: Why a deal is in its bucket, as :func:`channelkpi.movement_deals` writes it (``how``; data,
#: in English) and as the Movement table says it.
HOW_TEXTS = {
    "created": N_("created"),
    "back in the export": N_("back in the export"),
    "reopened": N_("reopened"),
    "created and won": N_("created and won"),
    "created and lost": N_("created and lost"),
    "deleted or left the export": N_("deleted or left the export"),
    "expected close moved out of the window": N_("expected close moved out of the window"),
    "expected close moved into the window": N_("expected close moved into the window"),
    "amount changed": N_("amount changed"),
    "moved to another group": N_("moved to another group"),
    "moved from another group": N_("moved from another group"),
}


def how_text(how) -> str:
    """A deal's ``how`` in the language in force (a text not among :data:`HOW_TEXTS` as it is).

    >>> from channelkpi.i18n import using
    >>> how_text("created"), how_text(None)
    ('created', '')
    >>> with using("nl"):
    ...     how_text("created") != "created"
    True
    """
    text = _text(how)
    return _(HOW_TEXTS[text]) if text in HOW_TEXTS else text


def _amount(value, symbol: str) -> str:
    return "—" if is_missing(value) else money(float(value), symbol)


def _after(row: dict, symbol: str) -> str:
    # a deal won, lost or gone at the end is no longer open: say so, not an amount that reads open
    if row["bucket"] == "removed":
        return _("Removed")
    status = _text(row.get("status_t1"))
    if status in ("won", "lost"):
        outcome = _("Won, {amount}") if status == "won" else _("Lost, {amount}")
        return outcome.format(amount=_amount(row.get("amount_t1"), symbol))
    return _amount(row.get("amount_t1"), symbol)


def movers_html(rows: pd.DataFrame, *, currency: str, caption: str = "") -> str:
    """An HTML table of :func:`channelkpi.movement_deals` rows: the deal, its partner, the bar
    it moved in, its change and its amount and stage before and after (after: the outcome and
    amount of a deal won or lost, "Removed" for one that is gone)."""
    symbol = currency_symbol(currency)
    head = [
        _("Deal"),
        _("Partner"),
        _("Moved"),
        _("Change"),
        _("Before"),
        _("After"),
        _("Stage before → after"),
        _("How"),
    ]
    body = []
    for r in rows.to_dict("records"):
        name = r.get("name")
        deal = _text(name) or _text(r["deal_id"])
        partner = _text(r.get("partner_t1")) or _text(r.get("partner_t0"))
        stages = f"{_text(r.get('stage_t0')) or '—'} → {_text(r.get('stage_t1')) or '—'}"
        cells = [
            deal,
            display_name(partner) if partner else "—",
            _(MOVER_TITLES.get(r["bucket"], N_("Moved"))),
            _change(r["bucket"], float(r["amount"]), symbol),
            _amount(r.get("amount_t0"), symbol),
            _after(r, symbol),
            stages,
            how_text(r.get("how")),
        ]
        numeric = {3, 4, 5}
        body.append(
            "<tr>"
            + "".join(
                f"<td class='num'>{html_text(c)}</td>" if i in numeric else f"<td>{html_text(c)}</td>"
                for i, c in enumerate(cells)
            )
            + "</tr>"
        )
    cap = f"<caption>{html_text(caption)}</caption>" if caption else ""
    heads = "".join(f"<th scope='col'>{html_text(h)}</th>" for h in head)
    return f"<table class='ck-movers'>{cap}<thead><tr>{heads}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def bucket_caption(rows: pd.DataFrame, bucket: str, *, currency: str) -> str:
    """What the deals of one bar add up to: "Lost: 2 deals, $180" (the bar's number)."""
    n = len(rows)
    total = int(rows["amount_cents"].fillna(0).sum()) / 100 if n else 0.0
    deals = _("{count} deal") if n == 1 else _("{count} deals")
    amount = money(total, currency_symbol(currency))
    return f"{_(MOVER_TITLES.get(bucket, N_('Moved')))}: {deals.format(count=f'{n:,}')}, {amount}"


#: The columns of a movement table as a report prints them, in the waterfall's order.
MOVEMENT_COLUMNS = ("start", *BUCKETS, "end")


def movement_sheet(movement: pd.DataFrame) -> pd.DataFrame:
    """:func:`channelkpi.pipeline_movement` output as a worksheet: the groups, the period, the
    amounts (from the integer cents, so each row balances to the cent) and the deal counts."""
    groups = [c for c in movement.columns if c not in ("period", "period_start", "period_end")]
    groups = groups[: groups.index("start")] if "start" in groups else groups
    out = movement[[*groups, "period", "period_start", "period_end"]].copy()
    out["period_end"] = pd.to_datetime(out["period_end"]).dt.normalize()
    for col in (*MOVEMENT_COLUMNS, "unchanged", "memo"):
        out[col] = movement[f"{col}_cents"].astype("float64") / 100
    for col in (*MOVEMENT_COLUMNS, "unchanged", "memo"):
        out[f"{col}_count"] = movement[f"{col}_count"].astype("int64")
    return out.reset_index(drop=True)


def _blank_currency(rows: pd.DataFrame) -> pd.Series:
    """True for the rows of deals without a currency whose every amount is zero: nothing to add up
    (a deal with neither a currency nor an amount), so no row of $0.00 is printed for them."""
    if "currency" not in rows:
        return pd.Series(False, index=rows.index)
    cents = rows[[f"{c}_cents" for c in MOVEMENT_COLUMNS]].fillna(0)
    return rows["currency"].isna().to_numpy() & (cents == 0).all(axis=1).to_numpy()


def movement_html(movement: pd.DataFrame, *, by: str, currency: str) -> str:
    """The last period of :func:`channelkpi.pipeline_movement` (grouped ``by``) as an HTML
    table: a row per group (and currency) with its start, every bucket (those that take away
    with a minus) and its end, then the total; each row balances to the cent.

    A bucket in which nothing moved in any row is left out (the caption names it), and so are
    the rows of deals with neither a currency nor an amount; amounts are to the cent when any
    is not whole. The table carries the class ``ck-movement`` (the report fits it to the page).
    """
    if movement.empty:
        nothing = _("No open pipeline in this range: nothing moved.")
        return f"<p class='ck-note'>{html_text(nothing)}</p>"
    last = movement.sort_values("period_start")["period"].iloc[-1]
    rows = movement[movement["period"] == last]
    blank = _blank_currency(rows)
    left_out = bool(blank.any())
    rows = rows[~blank]
    symbol = currency_symbol(currency)
    several = "currency" in rows and rows["currency"].nunique(dropna=False) > 1
    quiet = [c for c in BUCKETS if not rows[f"{c}_cents"].any() and not rows[f"{c}_count"].any()]
    columns = [c for c in MOVEMENT_COLUMNS if c not in quiet]
    cents = [f"{c}_cents" for c in columns]
    whole = bool((rows[cents].fillna(0).astype("int64") % 100 == 0).all(axis=None))
    heads = [level_title(by), *([_("Currency")] if several else []), *(_(MOVEMENT_TITLES[c]) for c in columns)]
    body = []

    def amount(value: int) -> str:
        return money_whole(value / 100, symbol) if whole else money_cents(value, symbol)

    def line(name: str, cur, rec: dict, cls: str = "") -> str:
        cells = [f"<td>{html_text(name)}</td>"]
        if several:
            named = cur if _has_currency(cur) else _("no currency")
            cells.append(f"<td>{html_text(named)}</td>")
        for col in columns:
            cells.append(f"<td class='ck-num'>{html_text(amount(int(rec[f'{col}_cents']) * SIGNS.get(col, 1)))}</td>")
        return f"<tr{cls}>" + "".join(cells) + "</tr>"

    for rec in rows.to_dict("records"):
        body.append(line(display_name(rec[by]) if by in rec else _("All"), rec.get("currency"), rec))
    # a missing currency is a group of its own, not dropped
    keys = rows["currency"].astype(object).fillna("") if "currency" in rows else pd.Series("", index=rows.index)
    for cur, part in rows.groupby(keys, sort=True):
        body.append(line(_("Total"), cur if several else None, part[cents].sum().to_dict(), " class='ck-total'"))
    head = "".join(f"<th scope='col'>{html_text(h)}</th>" for h in heads)
    caption = _(
        "{period}: open pipeline at the start, what moved it (taken away with a minus) and at the end; "
        "each row adds up to the cent."
    ).format(period=period_text(last))
    if quiet:
        moved = ", ".join(_(MOVEMENT_TITLES[c]).lower() for c in quiet)
        caption += " " + _("No deal moved as {buckets}: those columns are left out.").format(buckets=moved)
    if left_out:
        caption += " " + _("Deals without a currency or an amount (nothing to add up) are left out.")
    return (
        f"<table class='ck-table ck-movement'><caption>{html_text(caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _day(t) -> str:
    return date_text(t)


def _signed(cents: int, symbol: str) -> str:
    return ("+" if cents > 0 else "") + money(cents / 100, symbol)


def pipeline_gap_caption(check: pd.DataFrame, movement: pd.DataFrame, *, currency: str) -> str:
    """Why the waterfall's end differs from the Pipeline tile, with the numbers ("" when they agree).

    The tile reads every deal as it is in the export now (open on the range's last day, rebuilt
    from the created and closed dates); the waterfall's end reads the deals as the history
    recorded them at the end of its period. ``check`` is the view table ``movement_check`` (the
    export's open pipeline per currency on both days), ``movement`` the waterfall's rows (one
    currency). The difference is split into the two days' (when they differ; not when
    ``export_amount`` is NaN, unknown) and what changed after the waterfall's day.

    >>> check = pd.DataFrame({"currency": ["USD"], "tile_end": [pd.Timestamp("2025-12-31")],
    ...     "tile_amount": [700.0], "waterfall_end": [pd.Timestamp("2025-12-31")], "export_amount": [700.0]})
    >>> movement = pd.DataFrame({"period": ["2025-Q4"], "period_start": [pd.Timestamp("2025-10-01")],
    ...     "end_cents": [75000]})
    >>> pipeline_gap_caption(check, movement, currency="USD")  # doctest: +NORMALIZE_WHITESPACE
    "The Pipeline tile's $700.00 (open on 31 Dec 2025) reads each deal as it is in the export now;
    the waterfall ends at $750.00, the deals as recorded on 31 Dec 2025: +$50.00 changed after that day."
    """
    if movement.empty or check is None or check.empty:
        return ""
    last = movement.sort_values("period_start")["period"].iloc[-1]
    end = int(movement.loc[movement["period"] == last, "end_cents"].sum())
    row = check[check["currency"].astype(str) == currency]
    if row.empty and len(check) == 1:
        row = check
    if row.empty:
        return ""
    rec = row.iloc[0]
    tile = int(cents(float(rec["tile_amount"])))
    # the export's pipeline on the waterfall's day: unknown (NaN) where the caller has only the tile
    same_day = None if is_missing(rec["export_amount"]) else int(cents(float(rec["export_amount"])))
    if tile == end:
        return ""
    symbol = currency_symbol(currency)
    tile_day, end_day = _day(rec["tile_end"]), _day(rec["waterfall_end"])
    tile_text, end_text = money(tile / 100, symbol), money(end / 100, symbol)
    text = _("The Pipeline tile's {amount} (open on {day}) reads each deal as it is in the export now; ").format(
        amount=tile_text, day=tile_day
    )
    if tile_day == end_day:
        return text + _(
            "the waterfall ends at {amount}, the deals as recorded on {day}: {change} changed after that day."
        ).format(amount=end_text, day=end_day, change=_signed(end - tile, symbol))
    ends = _("the waterfall ends with {period} on {day} at {amount}, the deals as recorded then").format(
        period=period_text(last), day=end_day, amount=end_text
    )
    if same_day is None:
        return text + ends + "."
    parts = []
    if same_day != tile:
        parts.append(_("{change} from the later day").format(change=_signed(same_day - tile, symbol)))
    if end != same_day:
        parts.append(_("{change} changed after {day}").format(change=_signed(end - same_day, symbol), day=end_day))
    return text + ends + ": " + ", ".join(parts) + "."
