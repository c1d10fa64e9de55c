"""Steps 6 and 7, reconcile rows and quality warnings; and the pipeline as a whole: the same
result with or without the background reading, read_targets in ingestion."""

from __future__ import annotations

import ast
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import channelkpi as ck
from channelkpi.ingest import load as load_module
from channelkpi.ingest.outcome import derive_outcome
from channelkpi.ingest.quality import footer_count_warning, quality_warnings
from channelkpi.ingest.reader import read_raw
from channelkpi.ingest.reconcile import reconcile_rows, screen_rows
from channelkpi.ingest.repeats import merge_repeats
from channelkpi.ingest.values import read_values
from channelkpi.schema import validate_deals

INGEST = Path(ck.__file__).parent / "ingest"


def screened_of(csv: str, roles: dict):
    raw = read_raw(csv.encode())
    notes: list[str] = []
    outcome = derive_outcome(raw, roles, {}, notes)
    return raw, outcome, screen_rows(raw, roles, outcome, "'id'", notes), notes


def test_rows_that_are_not_deals_are_rejected_with_their_reason():
    raw, _, screened, notes = screened_of(
        "id,status,partner\na,won,X\n,,Y\nb,,Z\n,lost,W\nc,deleted,V\n", {"deal_id": "id", "status": "status"}
    )
    assert screened.rejected.tolist() == [False, True, True, False, True]
    assert [(r, why) for r, _, why, _, _ in screened.ledger] == [(3, "not_a_deal"), (4, "no_status"), (6, "deleted")]
    assert screened.ids.tolist()[3] == "row 5"  # an outcome without an id: kept, numbered
    assert notes == ["1 row(s) without a 'id' were kept with ids made from their row number (row 5)"]


def test_ids_are_cleaned_and_excel_scientific_notation_is_reported():
    _, _, screened, notes = screened_of(
        "id,status\n 4.87688E+18 ,won\nA  B,lost\n", {"deal_id": "id", "status": "status"}
    )
    assert screened.ids.tolist() == ["4.87688E+18", "A B"]
    assert any("scientific notation" in n for n in notes)


def test_the_canonical_table_is_what_validate_deals_makes_of_it():
    csv = (
        "Opportunity ID,Stage,Amount,Close Date,Created Date,Partner Account,Lead Source\n"
        '1,Closed Won,"1,000",3/1/2024,1/2/2024,Acme,Web\n2,Prospecting,5,6/1/2024,2/2/2024,,Partner\n'
    )
    deals = ck.load_crm(csv.encode()).deals
    pd.testing.assert_frame_equal(deals, validate_deals(deals))
    assert deals["partner"].tolist() == ["Acme", "(direct)"]


def test_line_items_exact_repeats_and_stage_history():
    out = pd.DataFrame(
        {
            "deal_id": ["A", "A", "A", "B"],
            "status": ["won", "won", "won", "lost"],
            "amount": [10.0, 5.0, 10.0, 7.0],
            "stage": ["Closed Won"] * 3 + ["Closed Lost"],
            "currency": ["USD"] * 4,
            "created": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-05"]),
            "closed": pd.NaT,
            "expected_close": pd.NaT,
            "partner": "(direct)",
            "owner": None,
            "department": None,
            "unit": None,
            "source": None,
            "channel": "unknown",
        }
    )
    cells = pd.DataFrame({"Id": ["A", "A", "A", "B"], "Product": ["Switch", "Support", "Switch", "Switch"]})
    notes: list[str] = []
    deals, ledger = merge_repeats(out, lambda rows: cells.iloc[rows], np.array([2, 3, 4, 5]), notes)
    assert deals[["deal_id", "amount"]].values.tolist() == [["A", 15.0], ["B", 7.0]]
    assert [(r, why) for r, _, why, _, _ in ledger] == [(4, "duplicate_row"), (3, "line_item")]
    stages = ["Prospecting", "Closed Won", "Negotiation/Review", "Closed Lost"]
    history = out.assign(stage=stages, status=["open", "won", "open", "lost"])
    cells = pd.DataFrame({"Id": ["A", "A", "A", "B"], "Stage": stages})
    deals, ledger = merge_repeats(history, lambda rows: cells.iloc[rows], np.array([2, 3, 4, 5]), [])
    # A's states were entered on Jan 1, Jan 2, Jan 1: the latest is Closed Won
    assert deals.set_index("deal_id").loc["A", ["stage", "status", "amount"]].tolist() == ["Closed Won", "won", 5.0]
    assert [(r, why) for r, _, why, _, _ in ledger] == [(2, "stage_history"), (4, "stage_history")]


def test_quality_warnings_and_footer_counts():
    deals = validate_deals(
        pd.DataFrame(
            {
                "deal_id": ["a", "b"],
                "status": ["won", "lost"],
                "created": pd.to_datetime(["2024-02-01", "1985-01-01"]),
                "closed": pd.to_datetime(["2024-01-01", "2024-01-01"]),
                "amount": [np.nan, 2e11],
            }
        )
    )
    notes: list[str] = []
    quality_warnings(deals, notes)
    text = " | ".join(notes)
    assert "1 deal(s) closed before they were created" in text and "before 1990" in text
    assert "above 100 billion" in text and "1 won deal(s) have no amount" in text
    raw = read_raw(b'"Id","Stage"\n"1","Closed Won"\n\n"Grand Totals (5 records)"\n')
    notes = []
    footer_count_warning(raw, 1, notes)
    assert notes == ["the footer says 5 records but 1 data rows were read: the export may be cut off or filtered"]


CASES = [
    b"Deal ID,Partner,Status,Amount,Close Date\n"
    + b"".join(b"D%d,P%d,Won,%d,2024-03-01\n" % (i, i % 7, i) for i in range(300)),
    b"Opportunity ID,Stage,Amount\n1,Closed Won,5\n1,Closed Won,5\n1,Closed Won,7\n2,Closed - Budget Cut,1\n",
    b"Deal ID,Status,Amount\nD1,Won,$5\nD2,Won,\xe2\x82\xac5\n",
    b"Id,IsClosed,IsWon,CloseDate\n1,TRUE,maybe,2024-01-01\n",
    b"Opportunity ID,Stage,Product,Amount,Close Date\n1,Closed Won,A,10,1/31/2024\n1,Closed Won,B,5,1/31/2024\n",
    "id,status,src,who,created\na,won,Carrier pigeon,CafÃ©,5/20/2024 7:42\nb,lost,Web,Ann  Lee,6/20/2024 7:42\n".encode(),
]


def snapshot(data: bytes):
    try:
        r = ck.load_crm(data)
    except ck.ChannelKPIError as exc:
        return ("error", type(exc).__name__, str(exc))
    return (r.deals.to_dict("list"), r.ledger.to_dict("list"), r.warnings, r.summary())


@pytest.mark.parametrize("data", CASES)
@pytest.mark.slow
def test_reading_ahead_in_a_thread_changes_nothing(monkeypatch, data):
    alone = snapshot(data)
    monkeypatch.setattr(load_module, "_AHEAD_ROWS", 0)  # every table read with a thread ahead
    ahead = snapshot(data)
    assert str(ahead) == str(alone)


def test_load_crm_reads_as_a_pipeline_of_steps():
    tree = ast.parse((INGEST / "load.py").read_text())
    function = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "load_crm")
    body = function.body[1:]  # after the docstring
    assert body[-1].end_lineno - body[0].lineno + 1 < 60
    called = {n.func.id for n in ast.walk(function) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    steps = {"read_raw", "detect_reading", "map_columns", "derive_outcome", "screen_rows", "read_values"}
    assert steps | {"reconcile_rows", "quality_warnings"} <= called


@pytest.mark.slow
def test_no_ingestion_module_uses_another_modules_private_names():
    offenders = []
    for path in [*INGEST.glob("*.py"), INGEST.parent / "metrics" / "targets.py"]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level and any(a.name.startswith("_") for a in node.names):
                offenders.append(f"{path.name}: from {node.module} import {[a.name for a in node.names]}")
    assert offenders == []


def test_read_targets_lives_in_ingestion_and_metrics_no_longer_reads_files():
    from channelkpi.ingest import targets

    assert ck.read_targets is targets.read_targets
    source = (INGEST.parent / "metrics" / "targets.py").read_text()
    assert "ingest" not in source and "read_raw" not in source
    t = ck.read_targets(io.BytesIO(b'partner,quarter,target\nAcme,2025-Q1,"$1,000.00 "\n'))
    assert t["target"].tolist() == [1000.0] and str(t["period_end"].iloc[0].date()) == "2025-03-31"


def test_reconcile_builds_one_row_per_deal():
    csv = "id,status,amount\na,won,1\nb,lost,2\na,won,3\n"
    raw = read_raw(csv.encode())
    roles = {"deal_id": "id", "status": "status", "amount": "amount"}
    notes: list[str] = []
    outcome = derive_outcome(raw, roles, {}, notes)
    screened = screen_rows(raw, roles, outcome, "'id'", notes)
    values = read_values(raw, roles, outcome, screened.rejected, warnings=notes)
    deals, merged = reconcile_rows(raw, screened, values, outcome, grain="auto", warnings=notes)
    assert deals[["deal_id", "amount"]].values.tolist() == [["a", 4.0], ["b", 2.0]]
    assert [(r, why) for r, _, why, _, _ in merged] == [(4, "line_item")]


@pytest.mark.parametrize("repeat", [False, True])
@pytest.mark.slow
def test_deal_text_columns_are_whole_whatever_blocks_the_reader_made(monkeypatch, repeat):
    from channelkpi.ingest import arrow_reader
    from channelkpi.ingest.cells import STR, arrow_text

    rows = [f"D{i},Acme {i % 7},Rep {i % 3},Closed Won,{i},2024-03-{1 + i % 28:02d}" for i in range(400)]
    csv = ("Deal ID,Partner,Owner,Stage,Amount,Close Date\n" + "\n".join(rows + rows[:3] * repeat) + "\n").encode()
    whole = ck.load_crm(csv).deals
    monkeypatch.setattr(arrow_reader, "_BLOCK", 512)  # a few rows per block
    blocks = ck.load_crm(csv).deals
    pd.testing.assert_frame_equal(blocks, whole)
    text = [c for c in blocks.columns if blocks[c].dtype == STR]
    assert "partner" in text and {c: arrow_text(blocks[c]).num_chunks for c in text} == dict.fromkeys(text, 1)
