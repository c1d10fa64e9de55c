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
from .formats import display_name, is_missing, level_title, money, money_cents
from .i18n import N_
from .i18n import gettext as _
from .metrics.movement import BUCKETS, SIGNS
from .safety import html_text

__all__ = ["MOVEMENT_COLUMNS", "NO_HISTORY", "bucket_caption", "movement_html", "movement_sheet", "movers_html"]

#: What the Movement tab (and the report) says when there is no history to show.
NO_HISTORY = N_(
    "Pipeline movement needs the deals' history: pass history=channelkpi.load_history(...) "
    "with your CRM's history file (Salesforce OpportunityHistory, HubSpot's \"Date entered\" "
    "columns), or simply last month's export beside this month's "
    '(load_history(["2025-10-31.csv", "2025-11-30.csv"])).'
)


def _text(value) -> str:
    return "" if is_missing(value) else str(value)


def _change(bucket: str, amount: float, symbol: str) -> str:
    sign = "+" if SIGNS.get(bucket, 0) > 0 else "-" if SIGNS.get(bucket, 0) < 0 else ""
    return f"{sign}{money(amount, symbol)}"


def _amount(value, symbol: str) -> str:
    return "—" if is_missing(value) else money(float(value), symbol)


def movers_html(rows: pd.DataFrame, *, currency: str, caption: str = "") -> str:
    """An HTML table of :func:`channelkpi.movement_deals` rows: the deal, its partner, the bar
    it moved in, its change and its amount and stage before and after."""
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
            _(MOVEMENT_TITLES.get(r["bucket"], r["bucket"])),
            _change(r["bucket"], float(r["amount"]), symbol),
            _amount(r.get("amount_t0"), symbol),
            _amount(r.get("amount_t1"), symbol),
            stages,
            _text(r.get("how")),
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
    return f"{_(MOVEMENT_TITLES.get(bucket, bucket))}: {deals.format(count=f'{n:,}')}, {amount}"


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


def movement_html(movement: pd.DataFrame, *, by: str, currency: str) -> str:
    """The last period of :func:`channelkpi.pipeline_movement` (grouped ``by``) as an HTML
    table: a row per group (and currency) with its start, every bucket (those that take away
    with a minus) and its end, then the total; each row balances to the cent."""
    if movement.empty:
        nothing = _("No open pipeline in this range: nothing moved.")
        return f"<p class='ck-note'>{html_text(nothing)}</p>"
    last = movement.sort_values("period_start")["period"].iloc[-1]
    rows = movement[movement["period"] == last]
    symbol = currency_symbol(currency)
    several = "currency" in rows and rows["currency"].nunique(dropna=False) > 1
    heads = [level_title(by), *([_("Currency")] if several else []), *(_(MOVEMENT_TITLES[c]) for c in MOVEMENT_COLUMNS)]
    body = []

    def line(name: str, cur, rec: dict, cls: str = "") -> str:
        cells = [f"<td>{html_text(name)}</td>"]
        if several:
            cells.append(f"<td>{html_text('' if is_missing(cur) else cur)}</td>")
        for col in MOVEMENT_COLUMNS:
            cents = int(rec[f"{col}_cents"]) * SIGNS.get(col, 1)
            cells.append(f"<td class='ck-num'>{html_text(money_cents(cents, symbol))}</td>")
        return f"<tr{cls}>" + "".join(cells) + "</tr>"

    for rec in rows.to_dict("records"):
        body.append(line(display_name(rec[by]) if by in rec else _("All"), rec.get("currency"), rec))
    cents = [f"{c}_cents" for c in MOVEMENT_COLUMNS]
    # a missing currency is a group of its own, not dropped
    keys = rows["currency"].astype(object).fillna("") if "currency" in rows else pd.Series("", index=rows.index)
    for cur, part in rows.groupby(keys, sort=True):
        body.append(line(_("Total"), cur if several else None, part[cents].sum().to_dict(), " class='ck-total'"))
    head = "".join(f"<th>{html_text(h)}</th>" for h in heads)
    caption = _(
        "{period}: open pipeline at the start, what moved it (taken away with a minus) and at the end; "
        "each row adds up to the cent"
    ).format(period=last)
    return (
        f"<table class='ck-table ck-movement'><caption>{html_text(caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )
