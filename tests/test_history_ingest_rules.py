"""Ingestion rules of a deal history that concern deals leaving the export and the currency of
history rows. Expected values are written by hand from the files below."""

from __future__ import annotations

import pandas as pd
import pytest

import channelkpi as ck


def _snap(rows, currency=False):
    head = "Deal ID,Partner,Status,Amount,Close Date,Created" + (",Currency" if currency else "") + "\n"
    return head + "".join(",".join(r) + "\n" for r in rows)


def _deal(h, deal_id):
    return h.intervals[h.intervals["deal_id"] == deal_id].reset_index(drop=True)


@pytest.mark.slow
def test_snapshots_with_current_keep_a_deal_removed_between_them(tmp_path):
    # B is in October only: gone from November on, and not in the current export either
    (tmp_path / "deals_2025-10-01.csv").write_text(
        _snap(
            [
                ("A", "Acme", "Open", "100", "2025-12-31", "2025-09-01"),
                ("B", "Globex", "Open", "50", "2025-12-31", "2025-09-02"),
            ]
        )
    )
    (tmp_path / "deals_2025-11-01.csv").write_text(_snap([("A", "Acme", "Open", "100", "2025-12-31", "2025-09-01")]))
    current = ck.load_crm(tmp_path / "deals_2025-11-01.csv")
    for source in (tmp_path, sorted(tmp_path.iterdir())):
        h = ck.load_history(source, current=current)
        b = _deal(h, "B")
        assert b["removed"].tolist() == [False, True]
        assert b["valid_from"].tolist() == [pd.Timestamp("2025-10-01"), pd.Timestamp("2025-11-01")]
        assert "B" in set(h.state("2025-10-15")["deal_id"]) and "B" not in set(h.state("2025-11-01")["deal_id"])
        # the removed deal keeps the partner it had, and stays in the deals table
        assert b["partner"].tolist() == ["Globex", "Globex"]
        assert h.deals.set_index("deal_id").loc["B", "partner"] == "Globex"
        pd.testing.assert_frame_equal(h.state(h.as_of), current.deals)


HISTORY = """OpportunityId,CreatedDate,StageName,Amount,CloseDate,PartnerAccount.Name,IsDeleted,SystemModstamp
A,2025-01-10T09:00:00Z,Prospecting,100,2025-03-31,Initech,false,2025-01-10T09:00:00Z
A,2025-02-01T09:00:00Z,Negotiation,80,2025-03-31,Initech,false,2025-02-01T09:00:00Z
C,2025-01-15T09:00:00Z,Prospecting,40,2025-04-30,Umbrella,true,2025-03-03T12:00:00Z
E,2025-01-16T09:00:00Z,Prospecting,30,2025-04-30,,true,2025-03-04T12:00:00Z
"""
CURRENT = """Id,StageName,Amount,CloseDate,CreatedDate,PartnerAccount.Name,CurrencyIsoCode
A,Negotiation,80,2025-03-31,2025-01-10,Initech,EUR
"""


@pytest.mark.slow
def test_a_deleted_deal_keeps_its_last_known_partner(write):
    h = ck.load_history(write("h.csv", HISTORY), current=write("c.csv", CURRENT))
    c = _deal(h, "C")
    assert c["removed"].tolist() == [False, True]
    assert c["partner"].tolist() == ["Umbrella", "Umbrella"]
    assert h.deals.set_index("deal_id").loc["C", "partner"] == "Umbrella"
    # a deal that never had a partner is direct
    assert _deal(h, "E")["partner"].tolist() == ["(direct)", "(direct)"]


@pytest.mark.slow
def test_a_deleted_deal_keeps_its_partner_from_the_current_export(write):
    # the history does not record partners; the current export still lists the deleted deal D
    history = (
        "OpportunityId,CreatedDate,StageName,Amount,CloseDate,IsDeleted,SystemModstamp\n"
        "D,2025-01-10T09:00:00Z,Prospecting,100,2025-03-31,true,2025-02-03T10:00:00Z\n"
    )
    current = (
        "Id,StageName,Amount,CloseDate,CreatedDate,PartnerAccount.Name\nD,Prospecting,100,2025-03-31,2025-01-10,Hooli\n"
    )
    h = ck.load_history(write("h.csv", history), current=write("c.csv", current))
    assert set(_deal(h, "D")["partner"]) == {"Hooli"}


@pytest.mark.slow
def test_history_currency_comes_from_the_current_export(write):
    h = ck.load_history(write("h.csv", HISTORY), current=write("c.csv", CURRENT))
    a = _deal(h, "A")
    assert a["currency"].tolist() == ["EUR", "EUR"]
    # the history's currency is the export's: no extra state at as_of for it
    assert a["valid_from"].tolist() == [pd.Timestamp("2025-01-10 09:00"), pd.Timestamp("2025-02-01 09:00")]
    # C and E are not in the current export: the single currency of the data, said in a warning
    assert _deal(h, "C")["currency"].tolist() == ["EUR", "EUR"]
    assert any("EUR" in w and "currency" in w for w in h.warnings)


@pytest.mark.slow
def test_history_currency_argument(write):
    h = ck.load_history(write("h.csv", HISTORY), currency="GBP")
    assert set(h.intervals["currency"]) == {"GBP"}
    assert not any("only currency" in w for w in h.warnings)
    # current= wins for its deals; currency= covers the others
    h = ck.load_history(write("h.csv", HISTORY), current=ck.load_crm(write("c.csv", CURRENT)), currency="GBP")
    assert _deal(h, "A")["currency"].tolist() == ["EUR", "EUR"]
    assert set(_deal(h, "C")["currency"]) == {"GBP"}


@pytest.mark.slow
def test_history_without_any_currency_says_so(write):
    h = ck.load_history(write("h.csv", HISTORY))
    assert h.intervals["currency"].isna().all()
    assert any("currency" in w and "currency=" in w for w in h.warnings)


def test_currency_is_keyword_only():
    with pytest.raises(TypeError):
        ck.load_history(b"x", None, None, None, "auto", None, None, None, "EUR")  # type: ignore[misc]
