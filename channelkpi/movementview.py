"""The pieces of a view of a history that are text: the movers table and the movement per group.

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
from .formats import display_name, is_missing, money
from .metrics.movement import SIGNS
from .safety import html_text

__all__ = ["NO_HISTORY", "movers_html", "bucket_caption"]

#: What the Movement tab (and the report) says when there is no history to show.
NO_HISTORY = (
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
    head = ["Deal", "Partner", "Moved", "Change", "Before", "After", "Stage before → after", "How"]
    body = []
    for r in rows.to_dict("records"):
        name = r.get("name")
        deal = _text(name) or _text(r["deal_id"])
        partner = _text(r.get("partner_t1")) or _text(r.get("partner_t0"))
        stages = f"{_text(r.get('stage_t0')) or '—'} → {_text(r.get('stage_t1')) or '—'}"
        cells = [
            deal,
            display_name(partner) if partner else "—",
            MOVEMENT_TITLES.get(r["bucket"], r["bucket"]),
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
    return f"{MOVEMENT_TITLES.get(bucket, bucket)}: {n:,} {'deal' if n == 1 else 'deals'}, {money(total, currency_symbol(currency))}"
