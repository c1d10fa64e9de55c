"""Step 5, parse values: the per-shape and per-key readers of text columns give exactly what
reading value by value gives; dates, amounts, currencies, probabilities and channels per row."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from channelkpi.errors import CurrencyError, ValueParseError
from channelkpi.ingest import dates
from channelkpi.ingest.cells import STR
from channelkpi.ingest.money import Currencies
from channelkpi.ingest.outcome import derive_outcome
from channelkpi.ingest.parse import parse_amounts, parse_dates
from channelkpi.ingest.reader import read_raw
from channelkpi.ingest.values import read_values

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome_or_error(func):
    try:
        return func()
    except ValueParseError as exc:
        return ("error", str(exc), exc.value)


def same_floats(a, b) -> bool:
    a, b = np.asarray(a, float), np.asarray(b, float)
    both = ~np.isnan(a) & ~np.isnan(b)
    # bit for bit, -0.0 and 0.0 told apart
    return np.array_equal(np.isnan(a), np.isnan(b)) and np.array_equal(a[both].view(np.int64), b[both].view(np.int64))


AMOUNT_TEXT = st.one_of(
    st.sampled_from(
        ["", " ", "-0", "0", "+0", "1e5", "1e400", "inf", "nan", "n/a", "12 apples", "(0.00)", "1.200", "1,2,3", "5-"]
        + ["USD 10,083.86", "$7,450,000.00 ", "1.200,50 €", "1 200,50 €", "£1001", "12,5", "1'200.50", "٣5", "−5"]
        # pandas reads these one ulp away from the nearest double; so must the text path
        + ["+7E25", "+94E96", "12345678901234567.89", "1234567890123456789", "-0.0"]
    ),
    st.floats(-1e12, 1e12, allow_nan=False).map(lambda v: f"{v:,.2f}"),
    st.floats(-1e12, 1e12, allow_nan=False).map(repr),
    st.integers(-(10**20), 10**20).map(str),
    st.text(alphabet="0123456789.,$€ -()'", max_size=12),
)


@SETTINGS
@given(values=st.lists(st.one_of(st.none(), AMOUNT_TEXT), min_size=1, max_size=25))
# every value of a plain number's shape, one infinite: Arrow's numbers are read where they lie
@example(values=["inf"])
@example(values=["1e400", "12", None])
@pytest.mark.slow
def test_amounts_by_shape_equal_amounts_by_value(values):
    text = outcome_or_error(lambda: parse_amounts(pd.Series(values, dtype=STR)))
    each = outcome_or_error(lambda: parse_amounts(pd.Series(values, dtype=object)))
    if isinstance(text, tuple) or isinstance(each, tuple):
        assert text == each
        return
    assert same_floats(text.values, each.values)
    assert text.bad.tolist() == each.bad.tolist()
    assert (text.decimal, text.notes) == (each.decimal, each.notes)
    assert text.currency.fillna("-").tolist() == each.currency.fillna("-").tolist()


def _date_text(parts):
    y, m, d, hour, minute, style = parts
    return {
        0: f"{y}-{m:02d}-{d:02d} {hour:02d}:{minute:02d}",
        1: f"{m}/{d}/{y} {hour}:{minute:02d}",
        2: f"{m}/{d}/{y}",
        3: f"{y}-{m:02d}-{d:02d}T{hour:02d}:{minute:02d}:00.000+0000",
        4: f"{d}.{m}.{y}",
        5: f"{m:02d}/{d:02d}/{y % 100:02d} {hour % 12 + 1:02d}:{minute:02d} PM",
    }[style]


DATE_TEXT = st.one_of(
    st.tuples(
        st.integers(1990, 2030),
        st.integers(1, 13),
        st.integers(1, 31),
        st.integers(0, 26),
        st.integers(0, 59),
        st.integers(0, 5),
    ).map(_date_text),
    st.sampled_from(["", "TBD", "9999-12-31", "2024-02-30", "Mar 31, 2024", " 2024-01-01", "13/13/2024"]),
)


@SETTINGS
@given(
    values=st.lists(st.one_of(st.none(), DATE_TEXT), min_size=1, max_size=40),
    dayfirst=st.sampled_from([None, True, False]),
    tz=st.sampled_from([None, "Asia/Tokyo"]),
)
@pytest.mark.slow
def test_dates_by_key_equal_dates_by_value(values, dayfirst, tz):
    # every column is grouped by key here, however short
    saved = dates._MANY
    dates._MANY = 0
    try:
        text = outcome_or_error(lambda: parse_dates(pd.Series(values, dtype=STR), dayfirst=dayfirst, tz=tz))
    finally:
        dates._MANY = saved
    each = outcome_or_error(lambda: parse_dates(pd.Series(values, dtype=object), dayfirst=dayfirst, tz=tz))
    if isinstance(text, tuple) or isinstance(each, tuple):
        assert text == each
        return
    assert text.values.equals(each.values)
    assert text.bad.tolist() == each.bad.tolist() and text.out_of_range.tolist() == each.out_of_range.tolist()
    assert (text.dayfirst, text.ambiguous) == (each.dayfirst, each.ambiguous)


def test_date_times_group_by_date_and_possible_hour():
    # hours 0-24 of 3 days: per day one group of one-digit hours, one of two-digit hours,
    # and one for the impossible hour 24 (not 25 groups per day)
    values = [f"1/{d}/2024 {h}:05" for d in (1, 2, 3) for h in range(25)]
    keys = dates._date_keys(__import__("pyarrow").array(values), None)
    assert len(set(keys.tolist())) == 9
    parsed = parse_dates(pd.Series(values, dtype=object))
    assert parsed.values.isna().sum() == 3 and parsed.bad.sum() == 3  # 24:05 is no time


def test_date_keys_are_the_same_in_any_block_of_rows(monkeypatch):
    # shapes mixed row by row, keyed a few rows at a time: rows with the same date (and an
    # hour that is possible or not alike) share a key whatever block they fall in
    values = [
        "1/5/2026 9:26", "1/5/2026 19:26", "01/05/2026", None, "1/5/2026 24:00", "2024-03-01 12:19",
        "2024-03-01", "1/6/2026 9:26", "1/5/2026", "2024-03-01 23:59", "12/31/2025 7:05", "1/5/2026 9:27",
    ] * 3  # fmt: skip
    arr = __import__("pyarrow").array(values)
    whole = dates._date_keys(arr, None)
    monkeypatch.setattr(dates, "_KEY_ROWS", 5)
    blocks = dates._date_keys(arr, None)
    assert blocks.tolist() == whole.tolist()
    groups = {}
    for v, k in zip(values, blocks.tolist()):
        groups.setdefault(k, set()).add(v)
    assert groups[blocks[0]] == {"1/5/2026 9:26", "1/5/2026 9:27"}  # one shape, one date
    assert {"1/5/2026 24:00"} in groups.values()  # an impossible hour keys apart
    assert blocks[3] == -1 and len(set(blocks.tolist())) == len(groups)


def load_values(csv: str, roles: dict, **options):
    raw = read_raw(csv.encode())
    notes: list[str] = []
    outcome = derive_outcome(raw, roles, {}, notes)
    return read_values(raw, roles, outcome, np.zeros(len(raw), bool), warnings=notes, **options), notes


def test_close_dates_follow_the_outcome():
    values, notes = load_values(
        "Id,Stage,Close Date,Created\n1,Closed Won,3/31/2024,1/2/2024\n2,Prospecting,6/30/2024,1/3/2024\n",
        {"deal_id": "Id", "stage": "Stage", "close_date": "Close Date", "created": "Created"},
    )
    assert values.closed.astype(str).tolist() == ["2024-03-31T00:00:00.000000000", "NaT"]
    assert values.expected_close.astype(str).tolist() == ["NaT", "2024-06-30T00:00:00.000000000"]
    assert values.created.astype("datetime64[D]").astype(str).tolist() == ["2024-01-02", "2024-01-03"]


def test_won_deals_at_their_realised_amount_and_currency_names():
    values, notes = load_values(
        'id,Status,Est. revenue,Actual Revenue,Currency\n1,Won,100,"$90.00 ",US Dollar\n2,Lost,50,0,US Dollar\n3,Open,70,,\n',
        {
            "deal_id": "id",
            "status": "Status",
            "amount": "Est. revenue",
            "won_amount": "Actual Revenue",
            "currency": "Currency",
        },
        currency="USD",
    )
    assert values.amount.tolist() == [90.0, 50.0, 70.0]
    assert values.currency.label_rows(np.arange(3)) == ["USD", "USD", "USD"]
    assert any("lost deals are valued at 'Est. revenue'" in n for n in notes)


def test_several_currencies_need_rates():
    csv = "id,status,amount,currency\n1,won,10,EUR\n2,won,20,USD\n3,won,30,EUR\n"
    roles = {"deal_id": "id", "status": "status", "amount": "amount", "currency": "currency"}
    with pytest.raises(CurrencyError, match=r"several currencies \(EUR: 2 rows, USD: 1 rows\)"):
        load_values(csv, roles)
    values, notes = load_values(csv, roles, currency="USD", fx={"EUR": 2.0})
    assert values.amount.tolist() == [20.0, 20.0, 60.0]
    assert notes[-1] == "converted amounts to USD with fx rates EUR=2.0"


def test_probability_as_percent_or_fraction_and_stage_defaults():
    values, notes = load_values(
        "id,stage,prob\n1,Closed Won,100%\n2,Prospecting,10%\n3,Prospecting,150%\n",
        {"deal_id": "id", "stage": "stage", "probability": "prob"},
    )
    assert values.probability[:2].tolist() == [1.0, 0.1] and np.isnan(values.probability[2])
    assert any("1 probability value(s) outside 0-100 %" in n and "row 4" in n for n in notes)
    values, _ = load_values("id,stage\n1,Prospecting\n2,Negotiation/Review\n", {"deal_id": "id", "stage": "stage"})
    assert values.probability.tolist() == [0.1, 0.9]


def test_channels_from_sources_and_text_cleaned_once_per_value():
    values, notes = load_values(
        "id,status,src,who\n1,won,Paid Search,Ann  Lee\n2,won,Carrier pigeon,Ann  Lee\n3,won,,CafÃ©\n",
        {"deal_id": "id", "status": "status", "source": "src", "owner": "who"},
    )
    assert values.channel.to_series().tolist() == ["paid", "other", "unknown"]
    assert values.text["owner"].to_series().tolist() == ["Ann Lee", "Ann Lee", "Café"]
    assert values.text["partner"].to_series().tolist() == ["(direct)"] * 3
    assert any("'Carrier pigeon' (1)" in n for n in notes)
    assert any("repaired garbled characters in 1 value(s)" in n for n in notes)


def test_currencies_count_like_pandas():
    c = Currencies.of_labels(["EUR", "USD", None, "USD", "EUR", "GBP"])
    rows = np.ones(6, bool)
    want = pd.Series(["EUR", "USD", None, "USD", "EUR", "GBP"], dtype=object).dropna().value_counts()
    assert list(c.value_counts(rows).items()) == list(want.items())
    assert c.fill(~c.present(), "USD").label_rows(np.arange(6))[2] == "USD"


def test_excel_cells_are_read_value_by_value():
    cells = pd.Series([1200.5, "1,000", True, dt.datetime(2024, 1, 1), None], dtype=object)
    parsed = parse_amounts(cells)
    assert parsed.values.tolist()[:2] == [1200.5, 1000.0]
    assert parsed.bad.tolist() == [False, False, True, True, False]


@pytest.mark.slow
def test_a_column_of_distinct_names_reads_as_the_same_text_as_a_coded_one(monkeypatch):
    # deal names are read row by row when most are distinct, categories per distinct value:
    # both paths must give every row the same text (spaces, blanks, garbled characters)
    import channelkpi as ck
    from channelkpi.ingest import values as values_module

    pieces = ["Roof  repair", " Wall ", "", "CafÃ© fit-out", "Café fit-out", "Door\tframe", "Plain"]
    names = [f"{pieces[i % len(pieces)]} {i}" if i % 5 else pieces[i % len(pieces)] for i in range(9000)]
    rows = ["Deal ID,Deal Name,Status,Amount"] + [f'D{i},"{n}",Won,{i}' for i, n in enumerate(names)]
    data = ("\n".join(rows) + "\n").encode()
    row_by_row = ck.load_crm(data)
    monkeypatch.setattr(values_module, "_SAMPLE_ROWS", 10**9)  # never "mostly distinct": coded
    coded = ck.load_crm(data)
    assert row_by_row.deals["name"].isna().sum() > 0 and (row_by_row.deals["name"] == "Café fit-out 3").any()
    pd.testing.assert_series_equal(row_by_row.deals["name"], coded.deals["name"])
