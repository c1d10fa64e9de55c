"""The KPI tiles of a view, and the page pieces around them: from the tables of
:func:`channelkpi.views.view_tables` to each tile's values and words, and those to HTML.

Nothing here computes a KPI (the tiles read the ``now``, ``before`` and ``ranking`` tables,
:data:`TILE_TABLES`), and nothing here draws a widget: the dashboard and the report put the
same HTML on their pages.

Examples
--------
>>> from channelkpi.datasets import make_sample_deals
>>> from channelkpi.views import view_tables
>>> tables = view_tables(make_sample_deals(), start="2025-01-01", end="2025-12-31", only=TILE_TABLES)
>>> tile = tile_values(tables)[4]
>>> tile["title"], tile["counts"], tile["text"].endswith("%")
('Win rate', 'closed deals', True)
>>> "<div class='ck-tiles'>" in tiles_html(tile_values(tables))
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .currency_symbols import DEFAULT_CURRENCY, currency_code, currency_symbol
from .formats import change_text, display_name, format_value, is_missing, level_word, number, plural
from .i18n import N_
from .i18n import gettext as _
from .ingest.wording import said
from .ingest.wording_shown import said_note
from .metrics.definitions import DEFINITIONS
from .safety import html_text

__all__ = [
    "TILES",
    "TILE_TABLES",
    "TILE_COUNTS",
    "TILE_COUNT_ONE",
    "TILE_DEFINITIONS",
    "BETTER",
    "CSS",
    "tile_definition",
    "tile_values",
    "tiles_html",
    "ledger_html",
]

#: The tables of :func:`channelkpi.views.view_tables` the tiles are made from.
TILE_TABLES = ("now", "before", "ranking")
#: The eight tiles: (title, column of the KPI table, kind, column giving n).
TILES = (
    (N_("Average deal size"), "avg_deal_size", "money", "won_count"),
    (N_("Deals won"), "won_count", "count", "closed_count"),
    (N_("Open pipeline"), "open_amount", "money", "open_count"),
    (N_("Partner-sourced wins"), "partner_share", "rate", "won_count"),
    (N_("Win rate"), "win_rate", "rate", "n"),
    (N_("Median cycle (won)"), "cycle_days_median", "days", "won_count"),
    (N_("Best quality score"), "best_quality", "score", "groups"),
    (N_("Deal success"), "success_rate", "rate", "created_count"),
)
#: What each tile's n counts, in words ("groups": the grouping column's plural, e.g. "partners ranked").
TILE_COUNTS = {
    "avg_deal_size": N_("won deals"),
    "won_count": N_("closed deals (won or lost)"),
    "open_amount": N_("open deals"),
    "partner_share": N_("won deals"),
    "win_rate": N_("closed deals"),
    "cycle_days_median": N_("won deals"),
    "best_quality": N_("{groups} ranked"),
    "success_rate": N_("deals created"),
}
#: The same when n is 1 ("group": the grouping column's singular, e.g. "partner ranked").
TILE_COUNT_ONE = {
    "avg_deal_size": N_("won deal"),
    "won_count": N_("closed deal (won or lost)"),
    "open_amount": N_("open deal"),
    "partner_share": N_("won deal"),
    "win_rate": N_("closed deal"),
    "cycle_days_median": N_("won deal"),
    "best_quality": N_("{group} ranked"),
    "success_rate": N_("deal created"),
}
#: Which way is better for each tile's KPI: +1 more is better, -1 less is better (a shorter cycle).
BETTER = {
    "avg_deal_size": 1,
    "won_count": 1,
    "won_amount": 1,
    "lost_count": -1,
    "lost_amount": -1,
    "open_amount": 1,
    "partner_share": 1,
    "win_rate": 1,
    "cycle_days_median": -1,
    "cycle_days_mean": -1,
    "best_quality": 1,
    "quality_score": 1,
    "success_rate": 1,
}
#: The KPI definition behind each tile (:data:`channelkpi.metrics.definitions.DEFINITIONS`).
TILE_DEFINITIONS = {
    "avg_deal_size": "average_deal_size",
    "won_count": "deal_count",
    "open_amount": "pipeline",
    "partner_share": "channel_performance",
    "win_rate": "win_rate",
    "cycle_days_median": "deal_velocity",
    "best_quality": "quality_score",
    "success_rate": "deal_success",
}
_TILE_NOTES = {
    "partner_share": N_("This tile: the partner channel's share of the won amount in the range."),
    "best_quality": N_("This tile: the best score in the range and who has it."),
    "open_amount": N_("This tile: the pipeline at the end of the range."),
}

#: Styles of the tiles and tables (inline: nothing is fetched from a network).
CSS = """
<style>
.ck-tiles {display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 10px; margin: 6px 0 12px;}
@media (max-width: 760px) {.ck-tiles {grid-template-columns: repeat(2, minmax(0, 1fr));}}
@media (max-width: 420px) {.ck-tiles {grid-template-columns: minmax(0, 1fr);}}
.ck-tile {border: 1px solid #dde3ea; border-radius: 8px; padding: 10px 12px; background: #fbfcfd;}
.ck-tile .ck-label {font-size: 12px; color: #56606b; text-transform: uppercase; letter-spacing: .03em;}
.ck-tile .ck-value {font-size: 24px; font-weight: 600; color: #1b2733; margin: 2px 0;}
.ck-tile .ck-change {font-size: 12px; color: #56606b;}
.ck-tile details {font-size: 12px; color: #3d4752; margin-top: 4px;}
.ck-tile summary {cursor: pointer; color: #0b5cad;}
.ck-tile summary:focus-visible {outline: 2px solid #0b5cad; outline-offset: 2px;}
.ck-tile details p {margin: 4px 0 0;}
.ck-up {color: #007a5a;} .ck-down {color: #b4481d;}
.ck-good {color: #007a5a; font-weight: 600;} .ck-bad {color: #b4481d; font-weight: 600;}
.ck-message {padding: 8px 12px; border-radius: 6px; background: #fff4e5; color: #6b3d00; border: 1px solid #f5c98b;}
.ck-note {color: #56606b; font-size: 12px;}
.ck-table {border-collapse: collapse; font-size: 12px;} .ck-table td, .ck-table th {padding: 3px 8px; border-bottom: 1px solid #e6e9ee; text-align: left;}
.ck-table td.ck-num {text-align: right; font-variant-numeric: tabular-nums;}
</style>
"""

# The load summary's counts (LoadResult.summary), named here for the catalogs: the data-quality
# tab shows each one's name translated.
_SUMMARY_NAMES = (
    N_("file"),
    N_("source"),
    N_("rows_read"),
    N_("kept"),
    N_("merged"),
    N_("rejected"),
    N_("deals"),
    N_("open"),
    N_("won"),
    N_("lost"),
    N_("blank_rows_skipped"),
    N_("warnings"),
)
# The ledger's columns (the codes of its reason column are marked where the load makes them,
# its outcomes here); the load writes them, and the rows' details, in English: they are data.
_LEDGER_WORDS = (
    N_("row"),
    N_("outcome"),
    N_("reason"),
    N_("detail"),
    N_("deal_id"),
    N_("merged"),
    N_("rejected"),
)


# --------------------------------------------------------------------------- tiles
def _change(now, before, kind: str, symbol: str) -> tuple[str, str]:
    """The change as text and its direction (``up``, ``down`` or ``""``)."""
    if is_missing(now) or is_missing(before):
        return "", ""
    diff = now - before
    direction = "up" if diff > 0 else "down" if diff < 0 else ""
    return change_text(diff, kind, symbol), direction


def _good(column: str, direction: str) -> str:
    """``good``, ``bad`` or ``""``: whether a change that way is good for this KPI."""
    better = BETTER.get(column, 0)
    if not direction or not better:
        return ""
    return "good" if (direction == "up") == (better > 0) else "bad"


def tile_definition(column: str) -> str:
    """A tile's KPI in a manager's words (from the KPI's definition), for its "what is this?".

    >>> tile_definition("cycle_days_median").startswith("How long won deals take")
    True
    """
    definition = _(DEFINITIONS[TILE_DEFINITIONS[column]].summary)
    note = _TILE_NOTES.get(column)
    return f"{definition} {_(note)}" if note else definition


def tile_values(tables: Mapping[str, pd.DataFrame], *, currency: str = DEFAULT_CURRENCY) -> list[dict]:
    """The eight KPI tiles of a view: title, value, text, change, direction, good, n, counts,
    definition and note.

    ``value`` is the number (NaN when undefined), ``text`` the formatted value, ``change`` the
    change against the same span just before (empty when the data does not cover that span),
    ``good`` whether that change is ``good`` or ``bad`` for the KPI (a shorter cycle is good),
    ``counts`` what ``n`` counts ("closed deals") and ``definition`` the KPI in plain words.
    ``currency`` is the ISO 4217 code of the amounts (their symbol is written).
    """
    symbol = currency_symbol(currency_code(currency, stacklevel=3))
    ranking = tables["ranking"]
    now = _totals(tables["now"], ranking)
    before_table = tables["before"]
    before = _totals(before_table, None) if before_table.attrs.get("covered", True) else {}
    by = ranking.columns[0] if len(ranking.columns) else "partner"
    out = []
    for title, col, kind, n_col in TILES:
        value = now.get(col, np.nan)
        n = now.get(n_col, np.nan)
        change, direction = ("", "") if col == "best_quality" else _change(value, before.get(col, np.nan), kind, symbol)
        out.append(
            {
                "title": _(title),
                "column": col,
                "kind": kind,
                "value": value,
                "text": format_value(value, kind, symbol),
                "change": change,
                "direction": direction,
                "good": _good(col, direction),
                "n": n,
                "counts": _((TILE_COUNT_ONE if n == 1 else TILE_COUNTS)[col]).format(
                    groups=plural(by), group=level_word(by)
                ),
                "definition": tile_definition(col),
                "note": display_name(now.get("best_name", "")) if col == "best_quality" and "best_name" in now else "",
            }
        )
    return out


def _totals(total: pd.DataFrame, ranking: pd.DataFrame | None) -> dict:
    if not len(total):
        return {}
    row = total.iloc[0].to_dict()
    won = row.get("won_amount", np.nan)
    row["partner_share"] = row.get("won_amount_partner", np.nan) / won if won else np.nan
    if ranking is not None and len(ranking):
        best = ranking.sort_values("rank").iloc[0]
        row["best_quality"] = best["quality_score"]
        row["best_name"] = f"{best[ranking.columns[0]]}"
        row["groups"] = len(ranking)
    return row


def tiles_html(tiles: Sequence[Mapping]) -> str:
    """The tiles of :func:`tile_values` as HTML (every text escaped), styles included.

    Each tile says what its n counts, colours its change by whether it is good for the KPI
    (with the word, for print and screen readers), and has its definition one click away (a
    ``<details>`` element, reachable with the keyboard) and on hover (``title``).
    """
    parts = []
    what_is_this = _("What is this?")
    for tile in tiles:
        n = tile["n"]
        counts = tile.get("counts", "")
        n_text = "" if is_missing(n) else f" · n = {number(n)} {counts}".rstrip()
        if tile["note"]:
            change = html_text(tile["note"])
        elif tile["change"]:
            good = tile.get("good", "")
            cls = {"good": "ck-good", "bad": "ck-bad"}.get(good, "")
            word = {"good": " " + _("(better)"), "bad": " " + _("(worse)")}.get(good, "")
            change = f"<span class='{cls}'>{html_text(tile['change'] + word)}</span> " + html_text(
                _("vs previous period")
            )
        else:
            change = html_text(_("no earlier period to compare"))
        definition = tile.get("definition", "")
        about = (
            f"<details><summary>{html_text(what_is_this)}</summary><p>{html_text(definition)}</p></details>"
            if definition
            else ""
        )
        parts.append(
            f"<div class='ck-tile' title='{html_text(definition)}'><div class='ck-label'>{html_text(tile['title'])}</div>"
            f"<div class='ck-value'>{html_text(tile['text'])}</div>"
            f"<div class='ck-change'>{change}{html_text(n_text)}</div>{about}</div>"
        )
    return CSS + "<div class='ck-tiles'>" + "".join(parts) + "</div>"


def ledger_html(result, *, rows: int = 200) -> str:
    """A load result's reconciliation as HTML: counts, warnings and the first ``rows`` ledger rows."""
    if result is None:
        text = _("These deals were passed in directly: there is no load ledger to show.")
        return f"<p class='ck-note'>{html_text(text)}</p>"
    s = result.summary()
    s["source"] = said_note(result.source.label)  # the export's name, not the preset's code
    counts = "".join(
        f"<tr><td>{html_text(_(k))}</td><td>{html_text(number(v) if isinstance(v, int) else v)}</td></tr>"
        for k, v in s.items()
    )
    warnings = "".join(f"<li>{html_text(said_note(x))}</li>" for x in result.warnings)
    warnings = warnings or "<li>" + html_text(_("none")) + "</li>"
    ledger = result.ledger.head(rows)
    # codes said in words of the language, the details' fixed sentences translated
    say = [_ if c in ("outcome", "reason") else said if c == "detail" else None for c in ledger.columns]
    body = "".join(
        "<tr>"
        + "".join(f"<td>{html_text(how(v) if how and isinstance(v, str) else v)}</td>" for v, how in zip(rec, say))
        + "</tr>"
        for rec in ledger.itertuples(index=False)
    )
    head = "".join(f"<th>{html_text(_(c))}</th>" for c in ledger.columns)
    first = _("First {rows} of {total} ledger rows.").format(rows=number(rows), total=number(len(result.ledger)))
    more = f"<p class='ck-note'>{html_text(first)}</p>" if len(result.ledger) > rows else ""
    headings = _("Warnings"), _("Ledger: rows not kept one-to-one")
    read_as = _("{file} read as {source}").format(file=result.file, source=said_note(result.source.label))
    return (
        f"<h4>{html_text(read_as)}</h4>"
        f"<table class='ck-table'>{counts}</table><h4>{html_text(headings[0])}</h4><ul>{warnings}</ul>"
        f"<h4>{html_text(headings[1])}</h4>"
        f"<table class='ck-table'><tr>{head}</tr>{body}</table>{more}"
    )
