"""Periods, dates and counts on screen in the viewer's language: the period labels of charts and
tables, the selection line's dates, the dashboard's month list, the seasonality months and the
report's dates and counts; English keeps what it showed."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from babel.dates import format_skeleton, get_month_names

from channelkpi import i18n
from channelkpi.charts import seasonality_bands
from channelkpi.datasets import make_sample_deals
from channelkpi.metrics.kpis import seasonality
from channelkpi.reports import report
from channelkpi.views import View, mark_partial, selection_text
from channelkpi.widgets import Dashboard

TABLE = pd.DataFrame(
    {
        "period": ["2025-Q4", "2026-Q1", "2026-Q2"],
        "period_start": pd.to_datetime(["2025-10-01", "2026-01-01", "2026-04-01"]),
        "period_end": pd.to_datetime(["2025-12-31", "2026-03-31", "2026-06-30"]),
    }
)
COVERAGE = (pd.Timestamp("2023-01-01"), pd.Timestamp("2026-01-05"))


@pytest.fixture(scope="module")
def deals():
    return make_sample_deals()


def test_period_labels_in_each_language():
    labels = {}
    for tag in ("en", "nl", "de", "fr"):
        with i18n.using(tag):
            out = mark_partial(TABLE, coverage=COVERAGE)
        labels[tag] = out["period_label"].tolist()
        assert out["period"].tolist() == TABLE["period"].tolist()  # the code clicks look up stays
    assert labels["en"] == ["2025-Q4", "2026-Q1 (to 5 Jan)", "2026-Q2 (no data)"]
    q4 = {tag: format_skeleton("yQQQ", pd.Timestamp("2025-11-01"), locale=loc) for tag, loc in _LOCALES.items()}
    q1 = {tag: format_skeleton("yQQQ", pd.Timestamp("2026-02-01"), locale=loc) for tag, loc in _LOCALES.items()}
    day = {tag: format_skeleton("MMMd", pd.Timestamp("2026-01-05"), locale=loc) for tag, loc in _LOCALES.items()}
    assert labels["nl"] == [q4["nl"], f"{q1['nl']} (t/m {day['nl']})", "K2 2026 (geen gegevens)"]
    assert labels["de"][1] == f"{q1['de']} (bis {day['de']})"
    assert labels["fr"][1] == f"{q1['fr']} (jusqu'au {day['fr']})"
    assert q4["nl"] == "K4 2025"


_LOCALES = {"nl": "nl_NL", "de": "de_DE", "fr": "fr_FR"}


def test_the_selection_line_names_months_and_days_in_the_language():
    view = View(freq="Q", start="2025-01-01", end="2025-03-31")
    partial = View(freq="Q", start="2025-01-05", end="2025-03-20")
    assert "Jan 2025 – Mar 2025" in selection_text(view)
    assert "5 Jan 2025 – 20 Mar 2025" in selection_text(partial)
    for tag, loc in _LOCALES.items():
        jan, mar = (format_skeleton("yMMM", pd.Timestamp(d), locale=loc) for d in ("2025-01-01", "2025-03-01"))
        day5, day20 = (format_skeleton("yMMMd", pd.Timestamp(d), locale=loc) for d in ("2025-01-05", "2025-03-20"))
        with i18n.using(tag):
            assert f"{jan} – {mar}" in selection_text(view)
            assert f"{day5} – {day20}" in selection_text(partial)


@pytest.mark.slow
def test_the_dashboards_month_list_and_trend_axis_speak_dutch(deals):
    dash = Dashboard(deals, locale="nl-NL")
    labels = [label for label, _value in dash.period.options]
    first = dash.period.options[0][1]
    assert labels[0] == format_skeleton("yMMM", first, locale="nl_NL")
    assert not any(re.search(r"\b(Mar|May|Oct)\b", label) for label in labels)
    values = dash.charts["trend"].chart.to_dict()["datasets"]
    periods = {row.get("period_label") for rows in values.values() for row in rows if "period_label" in row}
    assert periods and all(re.match(r"K[1-4] \d{4}", p) for p in periods), periods
    english = Dashboard(deals)
    assert [label for label, _value in english.period.options][0] == f"{first:%b %Y}"


@pytest.mark.slow
def test_seasonality_months_in_french(deals):
    season = seasonality(deals)
    with i18n.using("fr-FR"):
        spec = seasonality_bands(season).to_dict()
    rows = next(rows for rows in spec["datasets"].values() if rows and "month_name" in rows[0])
    names = get_month_names("abbreviated", context="stand-alone", locale="fr_FR")
    assert [r["month_name"] for r in rows] == [names[r["month"]] for r in rows]
    english = seasonality_bands(season).to_dict()
    rows = next(rows for rows in english["datasets"].values() if rows and "month_name" in rows[0])
    assert rows[0]["month_name"] == "Jan"


@pytest.mark.slow
def test_the_dutch_report_dates_and_counts(deals, tmp_path):
    report(deals, path=tmp_path / "r.html", locale="nl-NL")
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    meta = re.search(r"<div class='ck-meta'>([^<]*)</div>", page).group(1)
    n = len(deals)
    assert n >= 1000  # so the count has a thousands separator to show
    assert f"{n:,}".replace(",", ".") + " deals" in meta  # Dutch groups thousands with a dot
    assert "gegevens tot " in meta
    footer = re.search(r"<footer>([^<]*)</footer>", page).group(1)
    assert not re.search(r"\d{4}-\d{2}-\d{2}", footer), footer  # a Dutch date, not ISO
    assert re.search(r"\d{1,2} \w{3} \d{4}, \d{2}:\d{2}", footer), footer
