"""Numbers, amounts, percentages and dates in the reader's locale: tiles and tables (formats),
chart axes (the spec's ``config.locale``), CSV and Excel exports, and ``locale=`` on report(),
explain() and the command line.

Expected texts come from Babel's own formatting functions and CLDR data read here, never from
channelkpi's output.
"""

from __future__ import annotations

import csv
import io
import re

import openpyxl
import pandas as pd
import pytest
from babel import Locale
from babel.numbers import (
    format_compact_currency,
    format_currency,
    format_decimal,
    format_percent,
    get_decimal_symbol,
    get_group_symbol,
    get_territory_currencies,
)
from babel.units import format_unit

import channelkpi as ck
from channelkpi import charts, formats
from channelkpi.currency_symbols import currency_symbol
from channelkpi.datasets import sample_path, toy_deals
from channelkpi.i18n import current_locale, using
from channelkpi.safety import to_csv, to_excel
from channelkpi.vegalocale import vega_locale

LOCALES = ["nl-NL", "nl-BE", "de-DE", "de-AT", "fr-FR", "fr-BE", "fr-CH"]


def _cldr(tag: str) -> str:
    return tag.replace("-", "_")


def _whole_pattern(tag: str) -> str:
    """The locale's currency pattern without decimals (amounts from 1,000 on show no cents)."""
    return Locale.parse(_cldr(tag)).currency_formats["standard"].pattern.replace(".00", "")


# --------------------------------------------------------------------------- formats against Babel
@pytest.mark.parametrize("tag", LOCALES)
def test_money_is_written_as_babel_writes_it(tag):
    loc = _cldr(tag)
    with using(tag):
        assert formats.money_cents(123456, "€") == format_currency(1234.56, "EUR", locale=loc)
        assert formats.money(812.5, "€") == format_currency(812.5, "EUR", locale=loc)
        assert formats.money(-812.5, "€") == format_currency(-812.5, "EUR", locale=loc)
        whole = format_currency(54850, "EUR", format=_whole_pattern(tag), currency_digits=False, locale=loc)
        assert formats.money(54850.0, "€") == whole
        assert formats.value_text(54850.0, "money", "€") == whole
        assert formats.cell_text(54850.4, "money", "€") == whole


@pytest.mark.parametrize("tag", LOCALES)
def test_numbers_percentages_and_days_are_written_as_babel_writes_them(tag):
    loc = _cldr(tag)
    with using(tag):
        assert formats.number(1234567.891, digits=2) == format_decimal(1234567.89, locale=loc)
        assert formats.percent(0.125) == format_percent(0.125, locale=loc, decimal_quantization=False)
        assert formats.value_text(0.125, "rate") == format_percent(0.125, locale=loc, decimal_quantization=False)
        assert formats.days(42) == format_unit(42, "duration-day", locale=loc)
        assert formats.value_text(0.5, "days") == format_unit(0.5, "duration-day", locale=loc)


@pytest.mark.parametrize("tag", ["nl-NL", "de-DE", "fr-FR"])
def test_tile_money_uses_the_cldr_short_forms(tag):
    with using(tag):
        assert formats.format_value(1_234_567.0, "money", "€") == format_compact_currency(
            1_234_567, "EUR", locale=_cldr(tag), fraction_digits=1
        )


def test_the_dutch_forms_a_dutch_manager_reads():
    with using("nl-NL"):
        assert formats.money_cents(123456, "€") == "€\xa01.234,56"
        assert formats.percent(0.125) == "12,5%"
        assert formats.format_value(1_234_567.0, "money", "€") == "€\xa01,2\xa0mln."
        # a negative amount carries its sign where Dutch full amounts do (€ -812,50), short or not
        assert formats.money_short(-54_850.0, "€") == "€\xa0-54,8K"
        assert formats.change_text(1500.0, "money", "€") == "€\xa0+1,5K"
    with using("de-DE"):
        # German has no short form for thousands: the amount in full, grouped
        assert formats.format_value(54_850.0, "money", "€") == "54.850\xa0€"
        assert formats.change_text(-1500.0, "money", "€") == "-1.500\xa0€"


def test_english_stays_as_it_was():
    for tag in ("en-US", "en-GB"):
        with using(tag):
            assert formats.money(54850.0) == "$54,850"
            assert formats.money_short(-54850.0, "€") == "-€54.9k"
            assert formats.percent(0.4671) == "46.7%"
            assert formats.days(41.6) == "42 days"
            assert formats.points(0.0123) == "+1.2 pts"
            assert formats.month_label(pd.Timestamp("2025-01-31")) == "Jan 2025"
            assert formats.excel_format("money", "€") == '"€"#,##0.00;-"€"#,##0.00'


@pytest.mark.parametrize("tag", LOCALES)
def test_the_currency_code_chooses_the_symbol_and_the_locale_its_place(tag):
    pattern = Locale.parse(_cldr(tag)).currency_formats["standard"].pattern.split(";")[0]
    with using(tag):
        text = formats.money(1500.0, currency_symbol("GBP"))
    assert "£" in text and "$" not in text and "€" not in text
    assert text.startswith("£") == pattern.startswith("¤")
    assert text.endswith("£") == pattern.endswith("¤")


@pytest.mark.parametrize("tag", ["nl-NL", "de-DE", "fr-FR"])
def test_months_and_quarters_use_the_cldr_names(tag):
    cldr = Locale.parse(_cldr(tag))
    january = cldr.months["format"]["abbreviated"][1]
    with using(tag):
        assert formats.month_label(pd.Timestamp("2025-01-31")) == f"{january} 2025"
        assert formats.period_text("2025-01") == f"{january} 2025"
        quarter = formats.period_text("2025-Q4")
    assert "2025" in quarter and cldr.quarters["format"]["abbreviated"][4] in quarter


def test_an_unknown_region_formats_as_its_language():
    with using("nl-XX"):
        assert formats.money_cents(123456, "€") == format_currency(1234.56, "EUR", locale="nl_NL")
        assert vega_locale()["number"]["decimal"] == get_decimal_symbol("nl_NL")


# --------------------------------------------------------------------------- the charts' locale
@pytest.mark.parametrize("tag", [*LOCALES, "en-US"])
def test_the_vega_locale_carries_the_cldr_symbols_and_names(tag):
    loc = _cldr(tag)
    cldr = Locale.parse(loc)
    number, time = vega_locale(tag)["number"], vega_locale(tag)["time"]
    assert number["decimal"] == get_decimal_symbol(loc)
    assert number["thousands"] == get_group_symbol(loc)
    code = get_territory_currencies(tag.split("-")[1])[0]  # the region's own currency: EUR, CHF, USD
    before, _, after = format_currency(
        0, code, format=_whole_pattern(tag), currency_digits=False, locale=loc
    ).partition("0")
    assert number["currency"] == [before, after]
    assert time["months"] == [cldr.months["format"]["wide"][m] for m in range(1, 13)]
    assert time["shortMonths"][0] == cldr.months["format"]["abbreviated"][1]
    assert time["days"][0] == cldr.days["format"]["wide"][6]  # d3 starts the week on Sunday
    assert time["days"][1] == cldr.days["format"]["wide"][0]


def _trend() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "period": ["2025-01", "2025-02", "2025-03"],
            "period_start": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"]),
            "won_amount": [1_250_000.0, 2_480_000.0, 3_100_000.5],
        }
    )


@pytest.mark.slow
def test_every_themed_chart_carries_the_locale_in_force():
    with using("de-AT"):
        spec = charts.themed(charts.kpi_trend(_trend(), currency="EUR")).to_dict()
    assert spec["config"]["locale"] == vega_locale("de-AT")
    spec = charts.themed(charts.kpi_trend(_trend(), currency="EUR")).to_dict()
    assert spec["config"]["locale"] == vega_locale("en-US")


def _axis_texts(svg: str) -> list[str]:
    return [t.replace("&#160;", "\xa0") for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


@pytest.mark.parametrize("tag", ["nl-NL", "de-DE", "fr-FR", "en-US"])
@pytest.mark.slow
def test_chart_axes_write_amounts_as_the_tiles_do(tag):
    """Drawn by vl-convert (the renderer of the PNG/SVG exports): the axis label of 2,000,000
    is the text formats writes for it, separators and symbol place included (French: the CLDR's
    narrow no-break space on both sides)."""
    import vl_convert as vlc

    with using(tag):
        spec = charts.themed(charts.kpi_trend(_trend(), currency="EUR")).to_dict()
        tile_text = formats.money_whole(2_000_000, "€")
    assert tile_text in _axis_texts(vlc.vegalite_to_svg(spec))


@pytest.mark.slow
def test_a_dutch_png_chart_is_drawn(tmp_path):
    import vl_convert as vlc

    with using("nl-NL"):
        spec = charts.themed(charts.kpi_trend(_trend(), currency="EUR"), font=charts.PRINT_FONT).to_dict()
    svg = vlc.vegalite_to_svg(spec)
    labels = _axis_texts(svg)
    assert "€\xa01.000.000" in labels and not any("," in t and "€" in t for t in labels)
    png = vlc.vegalite_to_png(spec, scale=2)
    (tmp_path / "trend-nl.png").write_bytes(png)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000


# --------------------------------------------------------------------------- exports for local Excel
def _frame() -> pd.DataFrame:
    return pd.DataFrame({"partner": ["Acme", "=cmd"], "won_amount": [1234.5, 20.0], "win_rate": [0.125, 0.5]})


def test_a_dutch_csv_opens_in_a_dutch_excel(tmp_path):
    path = tmp_path / "kpis.csv"
    to_csv(_frame(), path, locale="nl-NL")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    # the KPI columns headed as a Dutch reader says them (the names of code: headings=False)
    assert rows == [["Partner", "Gewonnen bedrag", "Winratio"], ["Acme", "1234,5", "0,125"], ["'=cmd", "20,0", "0,5"]]


def test_csv_follows_the_locale_in_force_and_english_stays_as_it_was():
    with using("de-DE"):
        text = to_csv(_frame())
    assert text.splitlines()[1] == "Acme;1234,5;0,125"
    assert to_csv(_frame()).splitlines()[1] == "Acme,1234.5,0.125"
    with using("fr-FR"):
        assert to_csv(_frame(), locale="en-US").splitlines()[1] == "Acme,1234.5,0.125"


def test_excel_keeps_numbers_with_formats():
    with using("de-DE"):
        money = formats.excel_format("money", "€")
        data = to_excel(_frame(), number_formats=lambda col: formats.excel_format(formats.column_kind(col), "€"))
    sheet = openpyxl.load_workbook(io.BytesIO(data))["KPIs"]
    amount, rate = sheet["B2"], sheet["C2"]
    assert amount.data_type == "n" and amount.value == 1234.5 and amount.number_format == money
    assert money.endswith('"€"') and "#,##0.00" in money  # the symbol after the amount, as Germans write it
    assert rate.data_type == "n" and rate.value == 0.125 and rate.number_format == "0.0%"


# --------------------------------------------------------------------------- locale= on the entry points
@pytest.mark.slow
def test_a_dutch_html_report(tmp_path):
    out = tmp_path / "review.html"
    ck.report(toy_deals(), path=out, currency="EUR", locale="nl-NL")
    page = out.read_text(encoding="utf-8")
    assert "<html lang='nl'>" in page
    assert re.search(r"€\xa0\d{1,3}(\.\d{3})*(,\d+)?\b", page)  # € 1.234 / € 812,50
    assert re.search(r"\d+,\d%", page)  # 66,7%
    assert not re.search(r"€\d", page)  # no English-placed symbol
    assert current_locale() == "en-US"  # the locale ends with the call


@pytest.mark.slow
def test_an_unknown_region_falls_back_to_the_language(tmp_path):
    out = tmp_path / "review.html"
    ck.report(toy_deals(), path=out, currency="EUR", locale="de-XX")
    page = out.read_text(encoding="utf-8")
    assert "<html lang='de'>" in page and re.search(r"\d,\d\xa0%", page)


@pytest.mark.slow
def test_an_unknown_language_reports_in_english_with_a_warning(tmp_path):
    out = tmp_path / "review.html"
    with pytest.warns(UserWarning, match="no 'sv-SE' translation"):
        ck.report(toy_deals(), path=out, currency="EUR", locale="sv-SE")
    page = out.read_text(encoding="utf-8")
    assert "<html lang='en'>" in page and re.search(r"€\d", page)


@pytest.mark.slow
def test_the_command_line_writes_a_german_report(tmp_path):
    from channelkpi.cli import main

    out = tmp_path / "bericht.html"
    code = main(["report", str(sample_path("salesforce")), "-o", str(out), "--locale", "de-DE", "--quiet"])
    assert code == 0
    page = out.read_text(encoding="utf-8")
    assert "<html lang='de'>" in page
    assert re.search(r"\d\xa0(\$|€)", page) and re.search(r"\d,\d\xa0%", page)


def test_explain_runs_in_the_locale_asked_for(monkeypatch):
    from channelkpi.metrics import definitions

    monkeypatch.setattr(definitions, "_explain", lambda kpi: f"{kpi} in {current_locale()}")
    assert ck.explain("win_rate", locale="de-AT") == "win_rate in de-AT"
    assert ck.explain("win_rate") == "win_rate in en-US"
    with using("fr-CH"):
        assert ck.explain("win_rate") == "win_rate in fr-CH"
    with pytest.raises(TypeError):
        ck.explain("win_rate", "nl-NL")
