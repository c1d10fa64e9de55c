"""One vocabulary in every public signature: ``by``, ``where``, ``currency`` as an ISO code, one
``selection``; the spellings of earlier releases still work for one release, with a warning."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pandas as pd
import pytest

import channelkpi as ck
from channelkpi import charts
from channelkpi.currency_symbols import currency_code, currency_symbol, deals_currency
from channelkpi.datasets import make_sample_deals
from channelkpi.deprecation import renamed_keywords
from channelkpi.errors import ChannelKPIError

PACKAGE = Path(ck.__file__).parent


@pytest.fixture(scope="module")
def deals():
    return make_sample_deals()


def _public_functions():
    """(module, qualified name, parameter names) of every public function and method."""
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            defs = [(node.name, node)] if isinstance(node, ast.FunctionDef) else []
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                defs = [(f"{node.name}.{f.name}", f) for f in node.body if isinstance(f, ast.FunctionDef)]
            for name, fn in defs:
                if name.split(".")[-1].startswith("_") and not name.endswith("__init__"):
                    continue
                args = fn.args
                params = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
                yield path.relative_to(PACKAGE.parent).as_posix(), name, params


@pytest.mark.slow
def test_no_public_signature_says_level_filter_or_a_selection_synonym():
    bad = [
        f"{where}: {name}({p}=...)"
        for where, name, params in _public_functions()
        for p in params
        if p in ("level", "levels", "filter", "selected", "pick", "shown", "chosen")
    ]
    assert bad == []


@pytest.mark.slow
def test_the_charts_take_by_and_the_old_level_warns(deals):
    quality = ck.quality_score(deals, by="owner")
    new = charts.partner_ranking(quality, by="owner").to_dict()
    with pytest.warns(DeprecationWarning, match=r"partner_ranking\(level=\.\.\.\) is deprecated.*by=") as caught:
        old = charts.partner_ranking(quality, level="owner").to_dict()
    assert old == new and new["encoding"]["y"]["field"] == "label"
    assert caught[0].filename == __file__  # the warning points at the call, not at channelkpi
    rates = ck.win_rate(deals, by="unit")
    with pytest.warns(DeprecationWarning, match="win_rate_by_group"):
        assert (
            charts.win_rate_by_group(rates, level="unit").to_dict()
            == charts.win_rate_by_group(rates, by="unit").to_dict()
        )
    season = ck.seasonality(deals, by="channel")
    with pytest.warns(DeprecationWarning, match="seasonality_heatmap"):
        old = charts.seasonality_heatmap(season, level="channel").to_dict()
    assert old == charts.seasonality_heatmap(season, by="channel").to_dict()
    with pytest.raises(TypeError, match="both level= and by="):
        charts.partner_ranking(quality, level="owner", by="partner")


@pytest.mark.slow
def test_the_ranking_chart_selection_is_called_selection(deals):
    spec = charts.partner_ranking(ck.quality_score(deals)).to_dict()
    assert [p["name"] for p in spec["params"]] == ["selection"]


def test_currency_is_an_iso_code_and_the_symbol_is_derived():
    assert [currency_symbol(c) for c in ("USD", "eur", "GBP", "SEK")] == ["$", "€", "£", "SEK "]
    assert currency_code(" chf ") == "CHF"
    with pytest.warns(DeprecationWarning, match=r"currency='€' \(a symbol\) is deprecated.*'EUR'"):
        assert currency_code("€") == "EUR"
    with pytest.raises(ChannelKPIError, match="is not an ISO 4217 currency code") as info:
        currency_code("dollars")
    assert "currency='USD'" in info.value.fix
    assert deals_currency(["EUR", "EUR"]) == "EUR"
    assert deals_currency(["EUR", "USD"]) == "USD"  # several: the default, never one of them at random
    assert deals_currency([], default="GBP") == "GBP"


def _tooltip_texts(spec, suffix="_text"):
    rows = next(iter(spec["datasets"].values()))
    return [v for row in rows for k, v in row.items() if k.endswith(suffix) and isinstance(v, str)]


@pytest.mark.slow
def test_a_chart_shows_the_symbol_of_the_code_and_the_old_symbol_warns(deals):
    table = ck.kpi_table(deals, freq="Q")
    euros = charts.kpi_trend(table, currency="EUR").to_dict()
    assert any(t.startswith("€") for t in _tooltip_texts(euros))
    assert not any("$" in t for t in _tooltip_texts(euros))
    with pytest.warns(DeprecationWarning, match=r"currency='€'"):
        assert charts.kpi_trend(table, currency="€").to_dict() == euros
    pipeline = ck.pipeline(deals, by="stage")
    spec = charts.pipeline_by_stage(pipeline, currency="GBP").to_dict()
    # the pound is on the amounts the chart writes (its axis title no longer repeats it)
    assert "'open_amount_text': '£" in str(spec) and not re.search(r"'-?\$\d", str(spec))  # no dollar amount


@pytest.mark.slow
def test_tiles_take_an_iso_code_and_write_its_symbol(deals):
    from channelkpi import views
    from channelkpi.tiles import tile_values

    tables = views.view_tables(ck.prepare(deals), views.View())
    euros = {t["title"]: t["text"] for t in tile_values(tables, currency="EUR")}
    assert euros["Average deal size"].startswith("€") and euros["Open pipeline"].startswith("€")
    with pytest.warns(DeprecationWarning, match=r"currency='€'"):
        assert {t["title"]: t["text"] for t in tile_values(tables, currency="€")} == euros


@pytest.mark.slow  # three whole reports
def test_report_takes_an_iso_code_and_defaults_to_the_deals_currency(deals, tmp_path):
    euro_deals = deals.assign(currency="EUR")
    out = tmp_path / "r.xlsx"
    ck.report(euro_deals, path=out, freq="Y")
    from openpyxl import load_workbook

    def money_formats(path):
        book = load_workbook(path)
        return {
            c.number_format
            for ws in book.worksheets
            for row in ws.iter_rows()
            for c in row
            if "#,##0.00" in c.number_format
        }

    assert money_formats(out) and all('"€"' in f for f in money_formats(out))
    ck.report(euro_deals, path=out, freq="Y", currency="GBP")
    assert all('"£"' in f for f in money_formats(out))
    with pytest.warns(DeprecationWarning, match=r"currency='\$'"):
        ck.report(deals, path=out, freq="Y", currency="$")
    assert all('"$"' in f for f in money_formats(out))


@pytest.mark.slow
def test_dashboard_currency_selection_and_by(deals):
    widgets = pytest.importorskip("channelkpi.widgets")
    dash = widgets.Dashboard(deals.assign(currency="EUR"), tabs=("Overview",))
    assert dash.currency == "EUR" and "€" in dash.tiles.value and "$" not in dash.tiles.value
    with pytest.warns(DeprecationWarning, match=r"currency='\$'"):
        assert widgets.Dashboard(deals, currency="$", tabs=("Overview",)).currency == "USD"
    with pytest.warns(DeprecationWarning, match=r"Dashboard\.level is deprecated.*Dashboard\.by"):
        assert dash.level is dash.by
    dash.by.value = "owner"
    assert "owner" in dash.kpis.columns


def test_the_dashboard_constants_have_one_meaning_each():
    widgets = pytest.importorskip("channelkpi.widgets")
    from channelkpi.types import FREQS, LEVELS

    assert widgets.BY_CHOICES["Partner"] == "partner" and set(widgets.BY_CHOICES.values()) < set(LEVELS)
    assert list(widgets.FREQ_CHOICES.values()) == ["M", "Q", "Y"] and set(widgets.FREQ_CHOICES.values()) < set(FREQS)
    with pytest.warns(DeprecationWarning, match=r"channelkpi\.widgets\.LEVELS is deprecated"):
        assert widgets.LEVELS is widgets.BY_CHOICES
    with pytest.warns(DeprecationWarning, match=r"channelkpi\.widgets\.FREQS is deprecated"):
        assert widgets.FREQS is widgets.FREQ_CHOICES
    with pytest.raises(AttributeError):
        widgets.NOT_A_NAME  # noqa: B018


def test_renamed_keywords_keeps_the_signature_and_passes_everything_else():
    @renamed_keywords(old="new")
    def f(x, *, new=1, other=2):
        """Doc."""
        return x, new, other

    assert f(0, new=5, other=6) == (0, 5, 6)
    with pytest.warns(DeprecationWarning, match=r"f\(old=\.\.\.\) is deprecated"):
        assert f(0, old=7) == (0, 7, 2)
    assert f.__doc__ == "Doc." and list(inspect.signature(f).parameters) == ["x", "new", "other"]


@pytest.mark.slow
def test_cli_report_passes_the_iso_code(tmp_path):
    from channelkpi.cli import main
    from channelkpi.datasets import sample_path

    out = tmp_path / "r.xlsx"
    assert main(["report", str(sample_path("salesforce")), "-o", str(out), "--freq", "Y", "--quiet"]) == 0
    from openpyxl import load_workbook

    formats = {c.number_format for ws in load_workbook(out).worksheets for r in ws.iter_rows() for c in r}
    assert any('"$"#,##0.00' in f for f in formats)


@pytest.mark.slow
def test_a_table_of_several_currencies_converted_is_shown_in_the_reporting_one(deals, tmp_path):
    mixed = deals.assign(currency=["EUR" if i % 2 else "USD" for i in range(len(deals))])
    out = tmp_path / "r.xlsx"
    ck.report(mixed, path=out, freq="Y", currency="CHF")
    from openpyxl import load_workbook

    formats = {c.number_format for ws in load_workbook(out).worksheets for r in ws.iter_rows() for c in r}
    assert any('"CHF "#,##0.00' in f for f in formats)
    assert pd.Series(sorted(formats)).str.contains("€").sum() == 0
