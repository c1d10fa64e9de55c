"""Step 4, derive the outcome: which column decides open/won/lost for each row."""

from __future__ import annotations

import pytest

from channelkpi.errors import ColumnError, ValueParseError
from channelkpi.ingest.outcome import check_stage_map, derive_outcome
from channelkpi.ingest.reader import read_raw


def outcome_of(csv: str, roles: dict, stage_map: dict | None = None):
    raw = read_raw(csv.encode())
    notes: list[str] = []
    result = derive_outcome(raw, roles, check_stage_map(stage_map), notes)
    return result.labels().tolist(), result, notes


def test_status_words_in_several_languages_and_deleted_deals():
    labels, result, _ = outcome_of(
        "id,status\n1,Won\n2,verloren\n3,Offen\n4,Deleted\n5,Gagné\n", {"deal_id": "id", "status": "status"}
    )
    assert labels[:3] == ["won", "lost", "open"] and labels[4] == "won"
    assert result.deleted.tolist() == [False, False, False, True, False]
    assert result.source == "status"


def test_a_status_reason_fills_a_blank_status():
    labels, result, _ = outcome_of(
        "id,Status,Status Reason,other\n1,,Out-Sold,x\n2,Won,,x\n3,,In Progress,x\n",
        {"deal_id": "id", "status": "Status", "status_reason": "Status Reason"},
    )
    assert labels == ["lost", "won", "open"]
    assert result.source == "Status then Status Reason"


@pytest.mark.parametrize(
    ("closed", "won", "want"),
    [
        (["TRUE", "TRUE", "FALSE"], ["TRUE", "FALSE", "FALSE"], ["won", "lost", "open"]),
        (["1", "1", ""], ["1", "", ""], ["won", "lost", "open"]),  # 1/blank: blank means false
    ],
)
def test_won_and_closed_flags(closed, won, want):
    rows = "\n".join(f"{i},{c},{w}" for i, (c, w) in enumerate(zip(closed, won)))
    labels, result, _ = outcome_of(
        f"Id,IsClosed,IsWon\n{rows}\n", {"deal_id": "Id", "closed_flag": "IsClosed", "won_flag": "IsWon"}
    )
    assert labels == want and result.source == "IsWon/IsClosed"


def test_stages_through_the_map_their_wording_and_open_by_default():
    labels, _, notes = outcome_of(
        "id,stage\n1,Closed Won\n2,Closed - Lost to competitor\n3,Deal won\n4,Verbal Commit\n5,Verbal Commit\n6,Signed\n",
        {"deal_id": "id", "stage": "stage"},
        stage_map={"Signed": "won"},
    )
    assert labels == ["won", "lost", "won", "open", "open", "won"]
    assert any("by their wording: 'Deal won' -> won" in n for n in notes)
    assert any("'Verbal Commit' (2 rows)" in n for n in notes)


def test_a_stage_that_contradicts_the_status_is_reported_and_the_status_wins():
    labels, _, notes = outcome_of(
        "id,status,stage\n1,Lost,Closed Won\n2,Won,Closed Won\n",
        {"deal_id": "id", "status": "status", "stage": "stage"},
    )
    assert labels == ["lost", "won"]
    assert notes == [
        "1 row(s) where 'stage' disagrees with 'status'; used the latter (e.g. row 2: stage 'Closed Won' but lost)"
    ]


def test_errors_name_row_column_value_and_fix():
    with pytest.raises(ValueParseError) as info:
        outcome_of("id,status\n1,Won\n2,Maybe\n3,Maybe\n", {"deal_id": "id", "status": "status"})
    assert (info.value.row, info.value.column, info.value.value) == (3, "status", "Maybe")
    with pytest.raises(ValueParseError, match="look closed") as info:
        outcome_of("id,stage\n1,Closed - Budget\n", {"deal_id": "id", "stage": "stage"})
    assert info.value.row == 2
    with pytest.raises(ValueParseError, match="neither true nor false"):
        outcome_of(
            "Id,IsClosed,IsWon\n1,TRUE,maybe\n", {"deal_id": "Id", "closed_flag": "IsClosed", "won_flag": "IsWon"}
        )
    with pytest.raises(ColumnError, match="nothing says which are closed"):
        outcome_of("Id,IsWon\n1,TRUE\n", {"deal_id": "Id", "won_flag": "IsWon"})
    with pytest.raises(ColumnError, match="no column says whether a deal is open, won or lost"):
        outcome_of("Id,Amount\n1,5\n", {"deal_id": "Id"})
    with pytest.raises(ValueParseError, match="stage_map sends 'x' to 'closed'"):
        check_stage_map({"x": "closed"})


def test_a_value_repeated_a_million_times_is_read_once(monkeypatch):
    # the outcome is computed per distinct value: count the calls of the normaliser
    from channelkpi.ingest import outcome

    calls = []
    real = outcome.norm
    monkeypatch.setattr(outcome, "norm", lambda v: calls.append(v) or real(v))
    rows = "\n".join(f"{i},{'Closed Won' if i % 2 else 'Prospecting'}" for i in range(5000))
    labels, _, _ = outcome_of(f"id,stage\n{rows}\n", {"deal_id": "id", "stage": "stage"})
    assert labels.count("won") == 2500 and labels.count("open") == 2500
    assert len(calls) == 2
