"""Mappings you keep: the TOML file format, its checks, load_crm(mapping=) and the command line."""

import io
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest

import channelkpi as ck
from channelkpi.cli import main
from channelkpi.errors import ChannelKPIError, ColumnError, FileFormatError, ValueParseError
from channelkpi.ingest.mapfile import ColumnGuess, Mapping, StageReading, load_mapping

HERE = Path(__file__).parent / "mappings"
VERKOOP = HERE / "verkoop.csv"

PLAIN = (
    b"ref,reseller,rep,customer,phase,opened_on,closed_on,deal_value\n"
    b"R1,Acme,Ann,Foo,Won,2024-01-05,2024-02-01,1200\n"
    b"R2,Acme,Bob,Bar,Lost,2024-01-06,2024-03-01,1300\n"
    b"R3,Globex,Ann,Baz,Negotiating,2024-02-05,,700\n"
    b"R4,Globex,Cid,Qux,Qualifying,2024-02-09,,2000\n"
)
PLAIN_COLUMNS = {
    "ref": "deal_id",
    "reseller": "partner",
    "rep": "owner",
    "customer": "account",
    "phase": "stage",
    "opened_on": "created",
    "closed_on": "close_date",
    "deal_value": "amount",
}
PLAIN_STAGES = {"Won": "won", "Lost": "lost", "Negotiating": "open", "Qualifying": "open"}


def full_mapping() -> Mapping:
    return Mapping(
        columns={**PLAIN_COLUMNS, 'Notes "internal"': None, "Deal - Naam é": "name"},
        stage_map={**PLAIN_STAGES, "Closed/Won = yes": "won"},
        channel_map={"Trade show": "paid", "Web-site": "owned"},
        dayfirst=False,
        decimal=",",
        currency="EUR",
        source="hubspot",
    )


# ---------------------------------------------------------------------- the file format


def test_save_then_load_gives_the_same_mapping(tmp_path):
    m = full_mapping()
    path = m.save(tmp_path / "crm.toml")
    back = Mapping.load(path)
    assert back == m
    assert back.columns['Notes "internal"'] is None and back.columns["Deal - Naam é"] == "name"
    assert back.origin == str(path)
    # the text itself is TOML any reader takes, with the version first among the keys
    data = tomllib.loads(path.read_text("utf-8"))
    assert data["version"] == 1
    assert data["columns"]["Deal - Naam é"] == "name" and data["columns"]['Notes "internal"'] == ""
    assert data["options"] == {"source": "hubspot", "dayfirst": False, "decimal": ",", "currency": "EUR"}


def test_an_empty_mapping_round_trips_and_leaves_options_unset():
    m = Mapping()
    back = Mapping.from_toml(m.to_toml())
    assert back == m and back.dayfirst is None and back.decimal is None and back.currency is None


def test_a_proposal_keeps_its_reasons_as_comments_and_only_what_is_saved_round_trips():
    m = Mapping(
        columns={"ref": "deal_id", "phase": "stage"},
        stage_map={"Won": "won"},
        guesses=(
            ColumnGuess("ref", "deal_id", 0.93, "sure", "unique id-like values"),
            ColumnGuess("phase", "stage", 0.7, "likely", "few values that read as outcomes"),
            ColumnGuess("opened_on", "created", 0.3, "weak", "one of two date columns"),
        ),
        stages=(StageReading("Won", "won", 3, "an outcome word"), StageReading("Negotiating", None, 2, "unknown")),
        file="deals.csv",
    )
    text = m.to_toml()
    assert 'ref = "deal_id"  # sure (0.93): unique id-like values' in text
    # a weak guess and a stage without a reading are offered as comments to fill in, never as data
    assert "# opened_on = ?   not mapped: 'created', weak (0.30): one of two date columns" in text
    assert '# Negotiating = ?   2 rows, no reading yet: write "won", "lost" or "open"' in text
    back = Mapping.from_toml(text)
    assert back.columns == {"ref": "deal_id", "phase": "stage"} and back.stage_map == {"Won": "won"}
    assert back.guesses == () and back.stages == ()


def test_comments_cannot_be_broken_by_the_reasons_or_values_they_quote():
    m = Mapping(
        columns={"a": "deal_id"},
        guesses=(
            ColumnGuess("a", "deal_id", 1.0, "sure", "line one\nstatus = 'won'"),
            ColumnGuess("b\nc", None, 0.0, "weak", "odd header"),
        ),
        stages=(StageReading("x\ny", None, 1, "unknown"),),
    )
    assert Mapping.from_toml(m.to_toml()) == Mapping(columns={"a": "deal_id"})


def test_a_hand_written_file_reads_as_written():
    m = Mapping.load(HERE / "verkoop.toml")
    assert m.columns == {
        "nummer": "deal_id",
        "wederverkoper": "partner",
        "verkoper": "owner",
        "fase": "stage",
        "aangemaakt op": "created",
        "gesloten op": "close_date",
        "bedrag": "amount",
        "bron": "source",
        "notities": None,
    }
    # readings and channels are read ignoring case; the currency as its ISO code
    assert m.stage_map == {"Gewonnen": "won", "Verloren": "lost", "Onderhandeling": "open", "Kwalificatie": "open"}
    assert m.channel_map == {"Beurs": "paid", "Website": "owned", "Partner": "partner"}
    assert (m.dayfirst, m.decimal, m.currency, m.source) == (True, ",", "EUR", "generic")


BAD_FILES = [
    # (text, error class, what the message must say)
    ('version = 1\n[colums]\nref = "deal_id"\n', FileFormatError, ["unknown key 'colums'", "did you mean 'columns'?"]),
    ("[columns]\n", FileFormatError, ["no format version", "version = 1"]),
    ("version = 2\n", FileFormatError, ["format version 2", "newer channelkpi", "reads version 1", "upgrade"]),
    ('version = "1"\n', FileFormatError, ['version = "1" is not a format version']),
    ("version = 0\n", FileFormatError, ["version = 0 is not a format version"]),
    ("version = 1\n[columns\n", FileFormatError, ["not a valid mapping file (TOML)", "docs/mappings.md"]),
    ('version = 1\ncolumns = "ref"\n', FileFormatError, ["'columns' must be a table", "[columns]"]),
    (
        'version = 1\n[columns]\nref = "deal-id"\n',
        ColumnError,
        ["maps 'ref' to 'deal-id'", "not a canonical column", "did you mean 'deal_id'?", "partner", "to ignore"],
    ),
    ("version = 1\n[columns]\nref = 3\n", ColumnError, ["[columns] 'ref' must be text in quotes, not 3"]),
    (
        'version = 1\n[columns]\nref = "deal_id"\nid = "deal_id"\n',
        ColumnError,
        ["maps both 'ref' and 'id' to 'deal_id'"],
    ),
    (
        'version = 1\n[stages]\nWon = "wonn"\n',
        ValueParseError,
        ["reads 'Won' as 'wonn'", "not an outcome", "did you mean 'won'?", '"lost"'],
    ),
    ("version = 1\n[stages]\nWon = true\n", ValueParseError, ["[stages] 'Won' must be text in quotes, not true"]),
    (
        'version = 1\n[stages]\nWon = "won"\n" won" = "lost"\n',
        ValueParseError,
        ["reads 'Won' as 'won' and ' won' as 'lost'", "keep one reading"],
    ),
    (
        'version = 1\n[channels]\n"Trade show" = "payd"\n',
        ValueParseError,
        ["sends 'Trade show' to 'payd'", "not a channel", "did you mean 'paid'?", "'earned'"],
    ),
    (
        "version = 1\n[options]\ndayfirts = true\n",
        FileFormatError,
        ["unknown key 'dayfirts' in [options]", "did you mean 'dayfirst'?"],
    ),
    ('version = 1\n[options]\ndayfirst = "yes"\n', ValueParseError, ['dayfirst must be true or false, not "yes"']),
    ('version = 1\n[options]\ndecimal = ";"\n', ValueParseError, ['decimal must be "." or ",", not ";"', "1.200,50"]),
    ('version = 1\n[options]\ncurrency = "euros!"\n', ValueParseError, ['currency = "euros!" is not a currency']),
    (
        'version = 1\n[options]\nsource = "hubspt"\n',
        ValueParseError,
        ['source = "hubspt" is not a CRM preset', "did you mean 'hubspot'?"],
    ),
]


@pytest.mark.parametrize(("text", "error", "needles"), BAD_FILES)
def test_a_bad_mapping_file_is_a_clear_error_naming_the_file_key_and_fix(text, error, needles, tmp_path):
    path = tmp_path / "crm.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(error) as info:
        Mapping.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    assert "Fix: " in message, message
    for needle in needles:
        assert needle in message, (needle, message)


def test_a_missing_or_unreadable_mapping_file_says_so(tmp_path):
    with pytest.raises(FileFormatError, match="there is no such mapping file.*--save-mapping"):
        Mapping.load(tmp_path / "nope.toml")
    with pytest.raises(FileFormatError, match="must be UTF-8"):
        Mapping.from_toml(b"version = 1\n# \xff\n", file="crm.toml")
    with pytest.raises(ChannelKPIError, match="mapping= takes a Mapping or the path"):
        load_mapping(42)


def test_save_refuses_a_mapping_it_could_not_read_back(tmp_path):
    path = tmp_path / "crm.toml"
    with pytest.raises(ColumnError, match="'Amount' to 'amout'.*did you mean 'amount'"):
        Mapping(columns={"Amount": "amout"}).save(path)
    assert not path.exists()


def test_load_mapping_takes_a_mapping_a_path_or_the_bytes_of_an_upload(tmp_path):
    m = Mapping(columns={"ref": "deal_id"})
    assert load_mapping(m) is m
    path = m.save(tmp_path / "crm.toml")
    assert load_mapping(path) == m and load_mapping(str(path)) == m
    assert load_mapping(path.read_bytes()) == m
    assert ck.load_mapping is load_mapping and ck.Mapping is Mapping


# ---------------------------------------------------------------------- what it still needs, as code


def test_ready_needs_an_id_and_an_outcome_that_are_not_weak_and_a_reading_for_every_stage():
    sure = ColumnGuess("ref", "deal_id", 0.9, "sure", "ids")
    likely = ColumnGuess("phase", "stage", 0.6, "likely", "outcomes")
    weak = ColumnGuess("phase", "stage", 0.3, "weak", "few values")
    stages = (StageReading("Won", "won", 2, "known"), StageReading("Negotiating", None, 1, "unknown"))
    m = Mapping(columns={"ref": "deal_id", "phase": "stage"}, guesses=(sure, likely), stages=stages)
    assert not m.ready
    assert m.needs == [
        "a reading for the stage value 'Negotiating' (1 row): add it to stage_map= as 'won', 'lost' or 'open'"
    ]
    m.stage_map["negotiating "] = "open"  # matched as load_crm matches stages: case and spaces aside
    assert m.ready and m.needs == []
    # a weak guess is never enough, and the message says which header may be the one
    m = Mapping(columns={"ref": "deal_id"}, guesses=(sure, weak))
    assert not m.ready
    assert m.needs == [
        "a stage or status column: 'phase' may be the stage (few values); confirm it with columns={'phase': 'stage'}"
    ]
    # a column the person wrote is sure, whatever the proposal thought of the header
    m.columns["phase"] = "status"
    assert m.ready
    assert not Mapping(columns={"phase": "stage"}).ready  # no identity
    assert Mapping(columns={"Deal": "name", "Won?": "won_flag"}).ready  # a deal name identifies rows too


def test_code_is_python_that_passes_the_same_arguments():
    m = full_mapping()
    kwargs = eval(f"dict({m.code()})")  # noqa: S307 - the test's own text
    assert kwargs == {
        "source": "hubspot",
        "columns": m.columns,
        "stage_map": m.stage_map,
        "channel_map": m.channel_map,
        "dayfirst": False,
        "decimal": ",",
        "currency": "EUR",
    }
    call = m.code(path="deals.csv")
    assert call.startswith("ck.load_crm(\n    'deals.csv',\n")
    assert eval(call, {"ck": type("ck", (), {"load_crm": staticmethod(lambda *a, **k: (a, k))})}) == (
        ("deals.csv",),
        kwargs,
    )
    assert Mapping().code() == ""


# ---------------------------------------------------------------------- load_crm(mapping=)


def test_load_crm_with_a_hand_written_mapping_file_reads_every_row_as_the_file_says():
    result = ck.load_crm(VERKOOP, mapping=HERE / "verkoop.toml")
    d = result.deals.set_index("deal_id")
    # expected values read off verkoop.csv by hand: decimal comma, day-first dates
    assert d["amount"].to_dict() == {"V-1": 1200.5, "V-2": 800.0, "V-3": 2000.0, "V-4": 350.25, "V-5": 1000.0}
    assert d["status"].astype(str).to_dict() == {
        "V-1": "won",
        "V-2": "lost",
        "V-3": "open",
        "V-4": "open",
        "V-5": "won",
    }
    assert d["created"].dt.strftime("%Y-%m-%d").tolist() == [f"2024-02-0{i}" for i in (3, 4, 5, 6, 7)]
    assert d.loc[["V-1", "V-2", "V-5"], "closed"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-03-01",
        "2024-03-02",
        "2024-03-15",
    ]
    assert d["channel"].astype(str).to_dict() == {
        "V-1": "paid",
        "V-2": "owned",
        "V-3": "paid",
        "V-4": "partner",
        "V-5": "owned",
    }
    assert set(d["currency"].astype(str)) == {"EUR"}
    assert "notities" not in result.source.columns.values()
    s = result.summary()
    assert (s["rows_read"], s["kept"], s["merged"], s["rejected"]) == (5, 5, 0, 0)
    assert f"the mapping file {str(HERE / 'verkoop.toml')!r}" in str(result.source)


@pytest.mark.slow
def test_the_mappings_decimal_forces_the_amounts_separator():
    # '2.000' and '1.000' alone look like plain numbers with a decimal point; the mapping says
    # this export writes a decimal comma, so they are two thousand and one thousand
    m = Mapping.load(HERE / "verkoop.toml")
    undecided = ck.load_crm(VERKOOP, mapping=m, decimal=".")
    assert undecided.deals.set_index("deal_id")["amount"].to_dict()["V-3"] == 2.0
    # '1.200,50' and '350,25' do not fit a decimal point: left empty, with a warning naming them
    assert any("'bedrag': 2 value(s) are not amounts" in w and "1.200,50" in w for w in undecided.warnings)
    forced = ck.load_crm(VERKOOP, mapping=m).deals.set_index("deal_id")["amount"]
    assert forced["V-3"] == 2000.0 and forced["V-5"] == 1000.0
    # the same through load_crm's own argument, without a mapping
    direct = ck.load_crm(VERKOOP, mapping=None, columns=m.columns, stage_map=m.stage_map, dayfirst=True, decimal=",")
    assert direct.deals["amount"].tolist() == forced.tolist()
    with pytest.raises(ChannelKPIError, match="decimal=';'"):
        ck.load_crm(VERKOOP, decimal=";")


def test_explicit_arguments_win_over_the_mapping():
    m = Mapping(columns=PLAIN_COLUMNS, stage_map=PLAIN_STAGES)
    # Qualifying read as lost instead of open; 'customer' becomes the deal id instead of 'ref'
    result = ck.load_crm(PLAIN, mapping=m, columns={"customer": "deal_id"}, stage_map={"Qualifying": "lost"})
    d = result.deals.set_index("deal_id")
    assert list(d.index) == ["Foo", "Bar", "Baz", "Qux"]
    assert d["status"].astype(str).tolist() == ["won", "lost", "open", "lost"]
    assert result.source.columns["deal_id"] == "customer" and "account" not in result.source.columns
    assert "the mapping given" in str(result.source)
    # the mapping itself is not changed by the merge
    assert m.columns == PLAIN_COLUMNS and m.stage_map == PLAIN_STAGES


def test_a_mapping_with_a_stage_value_it_does_not_read_still_accounts_for_every_row():
    m = Mapping(columns=PLAIN_COLUMNS, stage_map={"Won": "won", "Lost": "lost"})
    result = ck.load_crm(PLAIN, mapping=m)
    s = result.summary()
    assert s["rows_read"] == 4 == s["kept"] + s["merged"] + s["rejected"]


# ---------------------------------------------------------------------- command line


def write_plain(tmp_path) -> Path:
    path = tmp_path / "plain.csv"
    path.write_bytes(PLAIN)
    return path


@pytest.mark.slow
def test_inspect_on_an_export_no_preset_reads_prints_the_proposal_and_code(tmp_path):
    path = write_plain(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "channelkpi.cli", "inspect", str(path)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    out = proc.stdout
    if "proposed mapping" not in out:  # recognised by meaning and loaded: the warning holds the code
        assert "rows:    4 read = 4 kept" in out and "columns={" in out
        return
    for header in PLAIN_COLUMNS:
        assert f"'{header}'" in out, header
    assert f"ck.load_crm(\n    {str(path)!r}," in out
    assert "--save-mapping crm.toml" in out


@pytest.mark.slow
def test_inspect_save_mapping_writes_the_proposal_and_says_where(tmp_path):
    path = write_plain(tmp_path)
    target = tmp_path / "crm.toml"
    out = io.StringIO()
    assert main(["inspect", str(path), "--save-mapping", str(target)], out=out) == 0
    assert f"mapping saved to {target}" in out.getvalue()
    saved = Mapping.load(target)
    assert set(saved.columns) <= set(PLAIN_COLUMNS) and saved.source == "generic"


@pytest.mark.slow
def test_inspect_save_mapping_of_a_preset_file_writes_the_mapping_it_was_read_with(tmp_path):
    from channelkpi.datasets import sample_path

    target = tmp_path / "sf.toml"
    out = io.StringIO()
    assert main(["inspect", str(sample_path("salesforce")), "--rows", "0", "--save-mapping", str(target)], out=out) == 0
    saved = Mapping.load(target)
    assert saved.source == "salesforce_report"
    first = ck.load_crm(sample_path("salesforce"))
    again = ck.load_crm(sample_path("salesforce"), mapping=target)
    assert dict(again.source.columns) == dict(first.source.columns)
    pd.testing.assert_frame_equal(again.deals, first.deals)


def test_inspect_with_a_mapping_file_reads_the_export_with_it(tmp_path):
    path = write_plain(tmp_path)
    mapping = Mapping(columns=PLAIN_COLUMNS, stage_map=PLAIN_STAGES).save(tmp_path / "crm.toml")
    out = io.StringIO()
    assert main(["inspect", str(path), "--mapping", str(mapping), "--rows", "0"], out=out) == 0
    text = out.getvalue()
    assert "rows:    4 read = 4 kept + 0 merged + 0 rejected" in text
    assert "deals:   4 (1 won, 1 lost, 2 open)" in text
    assert f"the mapping file {str(mapping)!r}" in text


@pytest.mark.slow
def test_a_bad_mapping_file_on_the_command_line_is_one_readable_line(tmp_path):
    path = write_plain(tmp_path)
    bad = tmp_path / "crm.toml"
    bad.write_text('version = 1\n[columns]\nref = "id"\n', encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "channelkpi.cli", "inspect", str(path), "--mapping", str(bad)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "crm.toml: [columns] maps 'ref' to 'id'" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "channelkpi.cli", "inspect", str(path), "--save-mapping", str(tmp_path / "m.txt")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1 and "name it m.toml" in proc.stderr


@pytest.mark.slow
def test_report_reads_the_export_with_the_mapping(tmp_path):
    path = write_plain(tmp_path)
    mapping = Mapping(columns=PLAIN_COLUMNS, stage_map=PLAIN_STAGES).save(tmp_path / "crm.toml")
    out = tmp_path / "review.xlsx"
    proc = subprocess.run(
        [sys.executable, "-m", "channelkpi.cli", "report", str(path), "--mapping", str(mapping), "-o", str(out)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "4 rows read: 4 deals kept, 0 merged, 0 rejected" in proc.stderr
    sheets = pd.read_excel(out, sheet_name=None)
    cells = " ".join(str(v) for frame in sheets.values() for v in frame.astype(str).to_numpy().ravel())
    assert "Acme" in cells and "Globex" in cells
