"""Steps 2 and 3, detect the preset and map columns to roles, on header lists alone."""

from __future__ import annotations

import pytest

from channelkpi.errors import ColumnError, DetectionError
from channelkpi.ingest.detect import detect_preset
from channelkpi.ingest.mapping import map_columns
from channelkpi.ingest.presets import BY_NAME
from channelkpi.ingest.reader import read_raw


@pytest.mark.parametrize(
    ("headers", "preset"),
    [
        (["Opportunity Owner", "Opportunity Name", "Stage", "Amount", "Close Date"], "salesforce_report"),
        (["Id", "StageName", "IsClosed", "IsWon", "CloseDate"], "salesforce_api"),
        (["Record ID", "Deal Name", "Deal Stage", "Create Date"], "hubspot"),
        (["Deal - ID", "Deal - Status", "Deal - Value"], "pipedrive"),
        (["(Do Not Modify) Opportunity", "Topic", "Status", "Status Reason", "Est. revenue"], "dynamics365"),
        (["Record Id", "Deal Owner", "Stage", "Closing Date", "Created Time"], "zoho"),
        (["deal id", "status", "amount"], "generic"),
    ],
)
def test_each_preset_is_detected_from_its_own_headers(headers, preset):
    chosen, reason = detect_preset(headers)
    assert chosen.name == preset
    assert reason  # says why


def test_detection_errors_name_the_candidates_and_the_fix():
    with pytest.raises(DetectionError, match=r"several CRMs equally well \(salesforce_report, hubspot\)"):
        detect_preset(["Opportunity Name", "Deal Stage"], file="x.csv")
    with pytest.raises(DetectionError, match="cannot tell which CRM") as info:
        detect_preset(["Name", "Email"], file="people.csv")
    assert "people.csv" in str(info.value) and "Fix:" in str(info.value)
    with pytest.raises(DetectionError, match="unknown source 'sap'"):
        detect_preset(["Id"], source="sap")
    assert detect_preset(["Opportunity Name", "Deal Stage"], source="hubspot")[1] == "source='hubspot' was given"


def test_columns_given_first_then_aliases_and_the_amount_currency_companion():
    raw = read_raw(
        b"Opportunity ID,Stage,Amount Currency,Amount,Amount (Converted) Currency,Amount (Converted),Reseller\n"
        b"1,Closed Won,EUR,5,USD,6,Acme\n"
    )
    columns = map_columns(raw, BY_NAME["salesforce_report"], {"Reseller": "partner"})
    # the converted amount is preferred, and its own currency column goes with it
    assert columns.roles["amount"] == "Amount (Converted)"
    assert columns.roles["currency"] == "Amount (Converted) Currency"
    assert columns.roles["partner"] == "Reseller" and columns.roles["deal_id"] == "Opportunity ID"


def test_ignored_and_dropped_columns():
    raw = read_raw(b"(Do Not Modify) Opportunity,(Do Not Modify) Row Checksum,Status,Topic,Notes\nx1,abc,Won,T,n\n")
    columns = map_columns(raw, BY_NAME["dynamics365"], {"Notes": None})
    assert columns.roles["deal_id"] == "(Do Not Modify) Opportunity"
    assert columns.dropped == ["(Do Not Modify) Row Checksum"]
    assert columns.ignored == ["Notes"]


def test_bad_columns_argument():
    raw = read_raw(b"id,status\na,won\n")
    with pytest.raises(ColumnError, match="not in the file"):
        map_columns(raw, BY_NAME["generic"], {"Stage": "stage"})
    with pytest.raises(ColumnError, match="not a column channelkpi knows"):
        map_columns(raw, BY_NAME["generic"], {"id": "reseller"})
    with pytest.raises(ColumnError, match="maps both"):
        map_columns(raw, BY_NAME["generic"], {"id": "status", "status": "status"})
