"""Prepared deals: what the coded engine answers itself, what it hands to the table's engine,
and the errors it gives. (Its numbers are compared with the lazy backend in
test_engines.py, test_properties.py and test_realdata.py.)"""

from __future__ import annotations

import pandas as pd
import pytest

import channelkpi as ck
from channelkpi.datasets import make_deals, sample_path

# every test here takes a quarter second or more: none belongs in the quick run
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def deals():
    return make_deals(1500, partners=30, seed=5)


def test_filters_on_text_run_coded_and_filters_on_dates_run_on_the_table(deals):
    prepared = ck.prepare(deals)
    by_id = ck.win_rate(prepared, where={"deal_id": list(deals["deal_id"][:300])})
    assert by_id.attrs["channelkpi"]["engine"] == "numpy"
    assert by_id["n"].iloc[0] == deals["status"][:300].isin(["won", "lost"]).sum()  # no range: every closed deal
    day = str(deals["created"].dropna().iloc[0])
    on_date = ck.deal_count(prepared, where={"created": [day]})
    assert on_date.attrs["channelkpi"]["engine"] in ("duckdb", "pandas")  # not a text filter: the table's engine
    pd.testing.assert_frame_equal(on_date, ck.deal_count(deals, where={"created": [day]}))
    assert ck.kpi_table(prepared, engine="pandas").attrs["channelkpi"]["engine"] == "pandas"


def test_a_missing_level_value_is_its_own_group_and_not_matched_by_a_filter(deals):
    d = deals.copy()
    d.loc[d.index[:40], "owner"] = None
    d.loc[d.index[40:45], "owner"] = "(none)"  # a literal "(none)" joins the missing ones, as on every engine
    prepared = ck.prepare(d)
    got = ck.deal_count(prepared, by="owner").set_index("owner")
    assert got.loc["(none)", "created_count"] == 45
    pd.testing.assert_frame_equal(
        ck.deal_count(prepared, by="owner"), ck.deal_count(d, by="owner", engine="pandas"), check_dtype=False
    )
    only = ck.deal_count(prepared, where={"owner": ["(none)"]})
    assert only["created_count"].iloc[0] == 5  # the filter keeps the written value, not the missing ones
    assert only.equals(ck.deal_count(d, where={"owner": ["(none)"]}, engine="pandas"))


def test_errors_say_how_to_fix_them(deals):
    with pytest.raises(ck.ChannelKPIError, match=r"this is a list.*a pandas table or a load_crm result"):
        ck.prepare([{"deal_id": "a", "status": "won"}])
    result = ck.load_crm(sample_path("salesforce"))  # a load result is prepared from its deals
    assert ck.prepare(result).deals is result.deals
    with pytest.raises(ck.ChannelKPIError, match=r"columns= does not apply to prepared deals.*channelkpi.prepare"):
        ck.win_rate(ck.prepare(deals), columns={"x": "partner"})
    renamed = deals.rename(columns={"partner": "PARTNER_NAME"})
    prepared = ck.prepare(renamed, columns={"PARTNER_NAME": "partner"})
    pd.testing.assert_frame_equal(
        ck.win_rate(prepared, by="partner"), ck.win_rate(deals, by="partner"), check_dtype=False
    )
    bad = deals.assign(status=deals["status"].astype(str).where(deals.index > 2, "pending"))
    with pytest.raises(ck.SchemaError, match=r"'pending' \(3 rows\)"):
        ck.win_rate(ck.prepare(bad))
