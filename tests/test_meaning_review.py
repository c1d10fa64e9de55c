"""Custom exports read safely: the cases a new user found (tests/corpus/review/), each with
the outcome counted by hand from the file."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

import channelkpi as ck
from channelkpi.cli import main
from channelkpi.errors import ColumnError, DetectionError, ValueParseError
from channelkpi.ingest.mapfile import ColumnGuess, Mapping, StageReading
from channelkpi.ingest.meaning import propose_mapping
from channelkpi.ingest.meaning_headers import header_senses

HERE = Path(__file__).parent / "corpus" / "review"


def _status(result) -> dict[str, str]:
    return dict(zip(result.deals["deal_id"], result.deals["status"]))


# ---------------------------------------------------------------- 1: stages a mapping does not list


def test_a_lost_word_the_mapping_does_not_list_reads_as_lost_and_is_named():
    result = ck.load_crm(HERE / "dutch_feb.csv", mapping=HERE / "dutch_cli.toml")
    status = _status(result)
    assert status["K-205"] == "lost"  # Geannuleerd: cancelled
    assert result.deals.set_index("deal_id").loc["K-205", "closed"] == pd.Timestamp("2025-04-07")
    assert sorted(status.values()).count("lost") == 3  # K-202, K-205, K-207
    said = [w for w in result.warnings if "Geannuleerd" in w]
    assert said and "-> lost" in said[0] and "Dutch" in said[0] and "[stages]" in said[0]
    opened = [w for w in result.warnings if "taken as open" in w]
    assert opened and "'Demo gepland' (1 row)" in opened[0] and "'stage'" not in opened[0]


def test_a_closed_stage_without_outcome_that_the_mapping_does_not_list_is_an_error_saying_how_to_add_it():
    text = (HERE / "dutch_feb.csv").read_text().replace("Geannuleerd", "Afgesloten")
    with pytest.raises(ValueParseError, match="look closed") as info:
        ck.load_crm(text.encode(), mapping=HERE / "dutch_cli.toml")
    assert info.value.value == "Afgesloten" and "stage_map={'Afgesloten': 'lost'}" in info.value.fix
    assert "[stages]" in info.value.fix


# ---------------------------------------------------------------- 3: one weak preset header


def test_one_weak_preset_header_does_not_beat_columns_that_read_by_meaning():
    result = ck.load_crm(HERE / "exprev.csv")
    assert _status(result) == {"R1": "won", "R2": "lost", "R3": "open"}
    assert result.source.preset == "generic" and "Expected Revenue" in result.source.reason
    assert "amount" in result.source.columns and result.source.columns["amount"] == "deal_value"


# ---------------------------------------------------------------- 4: an id that repeats on other deals


@pytest.mark.slow
def test_an_id_named_column_that_repeats_on_different_accounts_is_asked_about_not_merged():
    with pytest.raises(DetectionError, match="not one id per deal") as info:
        ck.load_crm(HERE / "lookalike.csv")
    assert "'Globex', 'Initech'" in str(info.value) and info.value.mapping is not None
    result = ck.load_crm(HERE / "lookalike.csv", columns={"id": None})
    assert len(result.deals) == 5 and result.summary()["won"] == 2  # Globex and Hooli


def test_a_saved_mapping_that_leaves_the_id_out_keeps_it_out_when_it_merges_deals():
    result = ck.load_crm(HERE / "lookalike2.csv", mapping=HERE / "lookalike2.toml")
    assert len(result.deals) == 5 and result.summary()["merged"] == 0
    assert sorted(result.deals["amount"]) == [2000, 4000, 6000, 9000, 10000]
    assert any("'ID' was not used as the deal id" in w for w in result.warnings)


# ---------------------------------------------------------------- 5: deal numbers


@pytest.mark.parametrize("header", ["Chancen-Nr.", "Kans nr", "Opp No.", "N° d'affaire", "Deal #", "Nummer der Chance"])
def test_a_deal_word_with_a_number_word_is_the_deal_id(header):
    assert [(s.role, s.strength) for s in header_senses(header)] == [("deal_id", 1.0)]


def test_the_german_export_loads_with_its_ids_and_the_headers_currency():
    result = ck.load_crm(HERE / "german.csv")
    assert list(result.deals["deal_id"][:2]) == ["CH-01", "CH-02"]
    assert set(result.deals["currency"]) == {"EUR"}  # only "Betrag (EUR)" says so


def test_code_and_file_of_a_mapping_that_is_not_ready_keep_the_guess_to_confirm(tmp_path):
    guess = ColumnGuess("Ref", "deal_id", 0.5, "weak", "header 'Ref' may mean deal_id")
    m = Mapping(columns={"Phase": "stage"}, guesses=(guess, ColumnGuess("Phase", "stage", 1.0, "sure", "")))
    assert "# 'Ref': 'deal_id',  # to confirm" in m.code()
    assert "# to confirm, then add to columns=: 'Ref': 'deal_id'" in m.code(width=None)
    text = m.to_toml()
    assert "# NOT READY" in text and '# Ref = "deal_id"   # TO CONFIRM' in text
    m.save(tmp_path / "m.toml")  # the question is a comment: the file still reads


def test_inspect_save_mapping_of_a_mapping_that_is_not_ready_says_so(tmp_path):
    out = io.StringIO()
    assert main(["inspect", str(HERE / "refuse.csv"), "--save-mapping", str(tmp_path / "r.toml")], out=out) == 0
    assert "NOT READY" in out.getvalue() and "a stage or status column" in out.getvalue()
    assert "# NOT READY" in (tmp_path / "r.toml").read_text()


@pytest.mark.slow
def test_a_mapping_without_the_id_the_proposal_sees_says_so():
    m = propose_mapping(HERE / "german.csv")
    del m.columns["Chancen-Nr."]
    result = ck.load_crm(HERE / "german.csv", mapping=m)
    assert any("'Chancen-Nr.' may be the deal id" in w for w in result.warnings)


# ---------------------------------------------------------------- 6: edits


def test_ready_needs_and_describe_follow_edits():
    guess = ColumnGuess("Nr", "deal_id", 0.5, "weak", "may be an id")
    m = Mapping(
        columns={"Phase": "stage"},
        guesses=(guess,),
        stages=(StageReading("Closed", None, 2, "'Closed' looks closed without saying won or lost: say which"),),
    )
    assert not m.ready and len(m.needs) == 2
    m.columns["Nr"] = "deal_id"
    m.stage_map["Closed"] = "won"
    assert m.ready and m.needs == []
    assert "say which" not in m.describe() and "as given in stage_map" in m.describe()
    lines = m.describe().splitlines()
    assert [line.split()[:4] for line in lines[1:3]] == [
        ["'Nr'", "->", "deal_id", "sure"],
        ["'Phase'", "->", "stage", "sure"],
    ]
    assert lines[1].endswith("sure  confirmed (proposed as a weak guess: may be an id)")


# ---------------------------------------------------------------- 7: currency from a header


@pytest.mark.slow
def test_the_currency_named_in_the_amount_header_reaches_the_deals():
    r = ck.load_crm(HERE / "german.csv", columns={"Chancen-Nr.": "deal_id"})
    assert set(r.deals["currency"]) == {"EUR"}
    r = ck.load_crm(HERE / "german.csv", mapping=propose_mapping(HERE / "german.csv"))
    assert set(r.deals["currency"]) == {"EUR"}


# ---------------------------------------------------------------- 8: mapping file checks


def test_an_unknown_currency_code_is_refused():
    with pytest.raises(ValueParseError, match="not a currency"):
        Mapping.from_toml('version = 1\n[options]\ncurrency = "XYZ"\n', file="c.toml")


def test_a_mapping_with_only_options_keeps_recognition(tmp_path):
    path = tmp_path / "o.toml"
    path.write_text("version = 1\n[options]\ndayfirst = true\n")
    assert _status(ck.load_crm(HERE / "exprev.csv", mapping=path)) == {"R1": "won", "R2": "lost", "R3": "open"}


def test_a_header_the_file_lacks_names_the_mapping_file(tmp_path):
    path = tmp_path / "g.toml"
    path.write_text('version = 1\n[columns]\n"Chancen-Nr." = "deal_id"\nPhase = "stage"\nNotes = ""\n')
    with pytest.raises(ColumnError) as info:
        ck.load_crm(HERE / "exprev.csv", mapping=path)
    assert str(path) in str(info.value) and "'Chancen-Nr.'" in str(info.value) and "exprev.csv" in str(info.value)
    path.write_text('version = 1\n[columns]\nphase = "stage"\nref = "deal_id"\nNotes = ""\n')  # ignored, gone
    assert len(ck.load_crm(HERE / "exprev.csv", mapping=path).deals) == 3


def test_a_column_value_that_is_not_text_gets_a_column_name_as_example():
    with pytest.raises(ColumnError) as info:
        Mapping.from_toml("version = 1\n[columns]\nphase = 3\n", file="c.toml")
    assert '"won"' not in info.value.fix and '"deal_id"' in info.value.fix


# ---------------------------------------------------------------- 9: texts


def test_the_refusal_of_an_unreadable_export_reads_well():
    with pytest.raises(DetectionError) as info:
        ck.load_crm(HERE / "refuse.csv")
    text = str(info.value)
    assert "\n. Fix:" not in text and not text.rstrip().endswith(":")
    assert "columns={'<id header>': 'deal_id'" in text


def test_the_source_of_a_file_read_by_meaning_says_so():
    assert "recognised by meaning" in ck.load_crm(HERE / "exprev.csv").source.label
    label = ck.load_crm(HERE / "dutch_feb.csv", mapping=HERE / "dutch_cli.toml").source.label
    assert "dutch_cli.toml" in label and "common column names" not in label


def test_inspect_counts_read_well():
    out = io.StringIO()
    assert main(["inspect", str(HERE / "dutch_feb.csv"), "--mapping", str(HERE / "dutch_cli.toml")], out=out) == 0
    text = out.getvalue()
    assert "canonical deals (all 9)" in text and "first 10 of" not in text and "(1 rows)" not in text


def test_inspect_of_an_export_with_nothing_recognised_prints_no_empty_call():
    out = io.StringIO()
    assert main(["inspect", str(HERE / "refuse.csv")], out=out) == 0
    text = out.getvalue()
    assert "'refuse.csv',\n)" not in text and "columns={'<id header>': 'deal_id'" in text


def test_a_currency_column_wins_over_the_header_and_a_symbol_in_a_header_counts():
    french = "N° d'affaire;Revendeur;Étape;Montant €\nA1;Acme;Gagné;1 200,00\nA2;Acme;Perdu;300,00\n"
    r = ck.load_crm(french.encode())
    assert list(r.deals["deal_id"]) == ["A1", "A2"] and set(r.deals["currency"]) == {"EUR"}
    r = ck.load_crm(b"id,stage,Amount (USD),Currency\nA,Won,5,EUR\nB,Lost,6,EUR\n")
    assert set(r.deals["currency"]) == {"EUR"}
