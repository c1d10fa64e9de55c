"""Amount, date and flag parsing: every format the loader claims, checked by hand."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from channelkpi.errors import ValueParseError
from channelkpi.ingest.parse import normalize_currency, parse_amounts, parse_bools, parse_dates


def amounts(*values):
    return parse_amounts(pd.Series(list(values), dtype=object))


@pytest.mark.parametrize(
    ("text", "value", "currency"),
    [
        ("1054", 1054.0, None),
        ("1124741.15", 1124741.15, None),
        ("594.00", 594.0, None),
        ("10,000", 10000.0, None),
        ("$7,450,000.00 ", 7450000.0, "USD"),
        ("USD 10,083.86", 10083.86, "USD"),
        ("£1001", 1001.0, "GBP"),
        ("JPY 10,000", 10000.0, "JPY"),
        ("-$1,200.50", -1200.5, "USD"),
        ("(1,200.50)", -1200.5, None),
        ("1200-", -1200.0, None),
        ("1'200.50", 1200.5, None),
        ("EUR 12", 12.0, "EUR"),
        ("12 EUR", 12.0, "EUR"),
    ],
)
def test_amount_formats(text, value, currency):
    parsed = amounts(text)
    assert parsed.values.iloc[0] == pytest.approx(value)
    got = parsed.currency.iloc[0]
    assert (got if isinstance(got, str) else None) == currency
    assert not parsed.bad.any()


def test_decimal_comma_is_decided_per_column():
    parsed = amounts("1.200,50 €", "1 200,50 €", "\u00a0350,00\u00a0€", "1.000.000")
    assert parsed.decimal == ","
    assert parsed.values.tolist() == [1200.5, 1200.5, 350.0, 1000000.0]
    assert parsed.currency.tolist()[:3] == ["EUR", "EUR", "EUR"]


def test_a_column_mixing_decimal_styles_is_an_error():
    with pytest.raises(ValueParseError, match="mix a decimal point and a decimal comma"):
        amounts("1,200.50", "12,5")


def test_blank_and_text_amounts():
    parsed = amounts("", None, np.nan, "n/a", "12 apples", "7")
    assert parsed.values.iloc[5] == 7.0
    assert parsed.values.iloc[:5].isna().all()
    assert parsed.bad.tolist() == [False, False, False, True, True, False]


def test_excel_numeric_cells_pass_through():
    parsed = parse_amounts(pd.Series([1200.5, 3, None], dtype=object))
    assert parsed.values.tolist()[:2] == [1200.5, 3.0]


def test_infinite_and_boolean_values_are_not_amounts():
    parsed = parse_amounts(pd.Series(["inf", True, "1e400"], dtype=object))
    assert parsed.bad.all()


def test_currency_names():
    assert [normalize_currency(v) for v in ["US Dollar", "Euro", "£", "usd", "xyz", ""]][:5] == [
        "USD",
        "EUR",
        "GBP",
        "USD",
        "XYZ",
    ]


def dates(*values, **kw):
    return parse_dates(pd.Series(list(values), dtype=object), **kw)


def iso(result):
    return [None if pd.isna(v) else v.strftime("%Y-%m-%d") for v in result.values]


def test_iso_dates_and_datetimes_with_offsets():
    r = dates(
        "2017-03-01", "2024-01-22T16:14:25.000+0000", "2024-01-22T23:59:00Z", "2026-03-01 10:00:00", "2024-08-27 14:05"
    )
    assert iso(r) == ["2017-03-01", "2024-01-22", "2024-01-22", "2026-03-01", "2024-08-27"]


def test_offsets_convert_to_tz_before_truncating():
    r = dates("2024-01-22T23:30:00.000+0000", "2024-01-22T08:00:00-0800", tz="Europe/Berlin")
    assert iso(r) == ["2024-01-23", "2024-01-22"]


def test_us_dates_with_two_digit_years_and_am_pm():
    r = dates("02/03/24", "02/23/26 08:55 PM", "3/1/2017", "12/31/1999")
    assert iso(r) == ["2024-02-03", "2026-02-23", "2017-03-01", "1999-12-31"]
    assert r.dayfirst is False
    assert r.ambiguous is False  # 02/23/26 decides the column


def test_mixed_date_and_datetime_in_one_column():
    r = dates("9/6/2025 4:37", "8/31/2024", "1/1/2025 0:00")
    assert iso(r) == ["2025-09-06", "2024-08-31", "2025-01-01"]


def test_dayfirst_is_decided_per_column_never_per_value():
    r = dates("01/02/2024", "13/02/2024")
    assert r.dayfirst is True
    assert iso(r) == ["2024-02-01", "2024-02-13"]


def test_ambiguous_column_reads_month_first_and_says_so():
    r = dates("01/02/2024", "03/04/2024")
    assert r.ambiguous is True and r.dayfirst is False
    assert iso(r) == ["2024-01-02", "2024-03-04"]
    r = dates("01/02/2024", dayfirst=True)
    assert iso(r) == ["2024-02-01"] and not r.ambiguous


def test_dotted_dates_are_day_first():
    r = dates("31.03.2024", "01.04.2024", "5.6.2024 13:45")
    assert iso(r) == ["2024-03-31", "2024-04-01", "2024-06-05"]


def test_contradicting_orders_are_errors():
    with pytest.raises(ValueParseError, match="mix day-first and month-first"):
        dates("13/01/2024", "01/13/2024")
    with pytest.raises(ValueParseError, match="dayfirst=False but the dates are written day-first"):
        dates("13/01/2024", dayfirst=False)


def test_excel_cells_month_names_and_serials():
    r = parse_dates(
        pd.Series(
            [dt.datetime(2024, 3, 31, 15, 0), dt.date(2024, 4, 1), "31-Mar-2024", "Mar 31, 2024", 45383], dtype=object
        )
    )
    assert iso(r) == ["2024-03-31", "2024-04-01", "2024-03-31", "2024-03-31", "2024-04-01"]


def test_invalid_and_out_of_range_dates():
    r = dates("2024-02-30", "TBD", "9999-12-31", "", "13/13/2024")
    assert r.bad.tolist() == [True, True, False, False, True]
    assert r.out_of_range.tolist() == [False, False, True, False, False]
    assert r.values.isna().all()


def test_flags():
    values, bad = parse_bools(pd.Series(["TRUE", "false", "True", "0", "yes"]))
    assert values.tolist() == [True, False, True, False, True] and not bad.any()
    values, bad = parse_bools(pd.Series(["1", None, "1", ""]))
    assert values.tolist() == [True, False, True, False]
    _, bad = parse_bools(pd.Series(["maybe"]))
    assert bad.tolist() == [True]
