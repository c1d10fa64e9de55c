"""The dashboard's mapping form without a browser: pre-filled from the proposal, the preview and the
reconciliation counts following the dropdowns and the stage readings, readable problems, escaped
names, the upload limit, and a mapping saved and uploaded again.

Every expected number is counted by hand from :data:`EXPORT` (the comments say how).
"""

from __future__ import annotations

import asyncio
import html
import re

import pytest

import channelkpi as ck
from channelkpi.datasets import sample_path
from channelkpi.ingest.mapfile import ColumnGuess, Mapping, StageReading
from channelkpi.ingest.meaning import propose_mapping
from channelkpi.ingest.presets import ROLES

mappingform = pytest.importorskip("channelkpi.mappingform")
widgets = pytest.importorskip("channelkpi.widgets")

# The example: a plain CSV no preset recognises. Row 5 repeats row 4 exactly (merged),
# row 10 is a total line (rejected); 7 deals: won; lost; open.
EXPORT = b"""ref,reseller,rep,customer,phase,opened_on,closed_on,deal_value
R-1,Acme,Ann,Foo BV,Won,2024-01-05,2024-02-10,1000
R-2,Acme,Bob,Bar AG,Lost,2024-01-08,2024-03-01,500
R-3,Globex,Ann,Baz SA,Won,2024-02-01,2024-04-15,2500
R-3,Globex,Ann,Baz SA,Won,2024-02-01,2024-04-15,2500
R-4,Globex,Cid,Qux Ltd,Negotiating,2024-03-03,,800
R-5,Initech,Bob,Foo BV,Qualifying,2024-03-20,,300
R-6,Initech,Cid,Zed Inc,Lost,2024-04-02,2024-05-20,1200
R-7,Acme,Ann,Bar AG,Won,2024-04-10,2024-06-30,700
Total,,,,,,,9500
"""
RIGHT = {
    "deal_id": "ref",
    "partner": "reseller",
    "owner": "rep",
    "account": "customer",
    "stage": "phase",
    "created": "opened_on",
    "closed": "closed_on",
    "amount": "deal_value",
}


def text(markup: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def filled(form, **extra) -> None:
    """Choose the right column for each field and read the two open stages as open."""
    for role, header in {**RIGHT, **extra}.items():
        form.choose(role, header)
    for value in form.unread:
        form.read_stage(value, "open")


def counts(form) -> tuple:
    c = form.counts
    return c["rows_read"], c["kept"], c["merged"], c["rejected"], c["won"], c["lost"], c["open"]


@pytest.fixture
def form():
    return mappingform.MappingForm("deals.csv", EXPORT)


def test_every_canonical_column_has_a_field_in_words():
    assert set(mappingform.FIELDS) == set(ROLES)
    assert all(" " in label or label[0].isupper() for label in mappingform.FIELDS.values())


def test_the_form_is_filled_in_from_the_proposal_and_says_how_sure_it_is():
    proposal = Mapping(
        columns={"ref": "deal_id", "phase": "stage", "deal_value": "amount"},
        stage_map={"Qualifying": "open"},
        guesses=(
            ColumnGuess("ref", "deal_id", 0.95, "sure", "unique id-like values"),
            ColumnGuess("rep", "owner", 0.3, "weak", "'rep' may be short for representative"),
            ColumnGuess("phase", "stage", 0.9, "sure", "few values that read as outcomes"),
            ColumnGuess("deal_value", "amount", 0.7, "likely", "values are money"),
        ),
        stages=(
            StageReading("Won", "won", 3, "a known stage"),
            StageReading("Lost", "lost", 2, "a known stage"),
            StageReading("Negotiating", None, 1, "unknown"),
        ),
        dayfirst=False,
    )
    form = mappingform.MappingForm("deals.csv", EXPORT, proposal=proposal)
    assert {r: d.value for r, d in form.fields.items() if d.value} == {
        "deal_id": "ref",
        "stage": "phase",
        "amount": "deal_value",
    }
    # every dropdown lists the export's headers, in order, after "(none)"
    assert [label for label, _ in form.fields["owner"].options] == [
        "(none)",
        *EXPORT.decode().splitlines()[0].split(","),
    ]
    # a weak guess is asked, never chosen; a likely one says so; a sure one says nothing
    assert form.fields["owner"].value is None
    assert "perhaps 'rep'?" in text(form.guess_notes["owner"].value)
    assert "likely guess: values are money" in text(form.guess_notes["amount"].value)
    assert form.guess_notes["deal_id"].value == ""
    # one reading per distinct value of the stage column, the proposal's first
    readings = {v: d.value for v, d in form.readings.items()}
    assert readings == {"Won": "won", "Lost": "lost", "Negotiating": None, "Qualifying": "open"}
    assert form.unread == ["Negotiating"]
    stage_rows = [text(c.children[0].value) for c in form._stage_box.children if c.children]
    assert "Negotiating 1 row · not a known stage: choose" in stage_rows
    assert any("ck-unknown" in c.children[0].value for c in form._stage_box.children if c.children)
    assert form.dates.value is False
    # unread stages keep the mapping from being used, and say which
    assert form.use_button.disabled and "'Negotiating'" in form.problem
    choice = form._more  # account, a field beyond the essential ones, is not proposed: folded
    assert choice.selected_index is None


@pytest.mark.slow
def test_without_a_proposal_the_form_proposes_itself(form):
    proposed = propose_mapping(EXPORT)
    assert {r: d.value for r, d in form.fields.items() if d.value} == {
        role: header for header, role in proposed.columns.items() if role
    }


@pytest.mark.slow
def test_changing_a_dropdown_changes_the_preview_and_the_counts(form):
    filled(form)
    assert form.problem == "" and not form.use_button.disabled
    # 9 rows after the header: 7 deals, the repeated R-3 merged, the total line rejected
    assert counts(form) == (9, 7, 1, 1, 3, 2, 2)
    assert "9 rows read: 7 kept, 1 merged, 1 rejected · 3 won, 2 lost, 2 open" in text(form.counts_html.value)
    first = text(form.preview.value)
    assert first.startswith("deal_id partner owner stage status created closed amount")
    assert "R-1 Acme Ann Won won 2024-01-05 2024-02-10 1,000.00" in first
    # the customer as the deal id: 5 customers, so 5 deals; Foo BV and Bar AG each have two rows
    # with different stages (read as stage history, the later one kept) and R-3's repeat: 3 merged
    form.choose("account", None)
    form.choose("deal_id", "customer")
    assert counts(form) == (9, 5, 3, 1, 2, 1, 2)  # won Baz SA, Bar AG; lost Zed Inc
    shown = text(form.preview.value)
    assert "R-1" not in shown and shown.split()[8] in ("Foo", "Bar", "Baz", "Qux", "Zed")  # first deal id
    # no amount column: the preview has none
    form.choose("deal_id", "ref")
    form.choose("amount", None)
    assert "amount" not in text(form.preview.value).split()[:9]
    assert counts(form) == (9, 7, 1, 1, 3, 2, 2)


@pytest.mark.slow
def test_stage_readings_change_the_won_and_lost_counts(form):
    filled(form)
    form.read_stage("Negotiating", "lost")
    assert counts(form)[4:] == (3, 3, 1)
    form.read_stage("Qualifying", "won")
    assert counts(form)[4:] == (4, 3, 0)
    assert form.mapping.stage_map == {"Won": "won", "Lost": "lost", "Negotiating": "lost", "Qualifying": "won"}
    assert form.mapping.columns == {h: r for r, h in RIGHT.items()}


@pytest.mark.slow
def test_problems_are_sentences_and_block_the_mapping(form):
    filled(form)
    form.choose("stage", None)
    assert form.problem.startswith("Choose the Stage or Status column") and form.use_button.disabled
    assert form.result is None and form.preview.value == ""
    form.choose("stage", "phase")
    form.choose("owner", "reseller")
    assert (
        form.problem
        == "'reseller' is chosen for both Partner (reseller) and Owner (salesperson): choose it for one of them."
    )
    form.choose("owner", None)
    form.choose("amount", "rep")  # names, not money
    shown = text(form.problem_html.value)
    assert shown.startswith("With this mapping the export cannot be read: deals.csv:")
    assert "'rep'" in shown and "Traceback" not in shown and form.use_button.disabled
    assert form.use() is None


@pytest.mark.slow
def test_names_from_the_file_are_text():
    evil = b"<b>id</b>,<img src=x onerror=alert(1)>,amount\nD1,<script>alert(1)</script>,5\nD2,Won,7\n"
    form = mappingform.MappingForm("<i>x</i>.csv", evil)
    form.choose("deal_id", "<b>id</b>")
    form.choose("stage", "<img src=x onerror=alert(1)>")
    form.read_stage("<script>alert(1)</script>", "open")
    assert form.result is not None
    pieces = [c.value for c in form.widget.children if hasattr(c, "value")]
    pieces += [c.children[0].value for c in form._stage_box.children if getattr(c, "children", ())]
    pieces += [n.value for n in form.guess_notes.values()]
    markup = "".join(pieces)
    assert "<script>" not in markup and "<img" not in markup and "<i>" not in markup and "<b>id" not in markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup and "&lt;i&gt;x&lt;/i&gt;.csv" in markup


@pytest.mark.slow
def test_the_preview_waits_for_a_quiet_moment_in_a_running_kernel(monkeypatch):
    loads = []
    real = mappingform.load_with_mapping

    def counting(*args, **kwargs):
        loads.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(mappingform, "load_with_mapping", counting)

    async def session():
        form = mappingform.MappingForm("deals.csv", EXPORT, delay=0.05)
        for value in list(form.unread):
            form.readings[value].value = "open"
        loads.clear()
        for role, header in RIGHT.items():  # as a person does: one dropdown after another
            form.fields[role].value = header
        assert loads == [] and "Updating the preview" in text(form.counts_html.value)
        await asyncio.sleep(0.3)
        return form

    form = asyncio.run(session())
    assert len(loads) == 1
    assert counts(form) == (9, 7, 1, 1, 3, 2, 2)


@pytest.fixture(scope="module")
def sample():
    return ck.load_crm(sample_path("salesforce"))


@pytest.fixture
def dash(sample):
    return widgets.Dashboard(sample)


@pytest.mark.slow
def test_an_unrecognised_upload_opens_the_form_and_using_it_loads_the_deals(dash):
    before = len(dash.deals)
    dash.load_upload("deals.csv", EXPORT)
    form = dash.mapping_form
    assert form is not None and dash.mapping_box.children == (form.widget,)
    assert "Traceback" not in dash.message.value and "cannot tell which CRM" not in dash.message.value
    assert "cannot tell which CRM" in text(form.widget.children[1].value)  # why, in the form
    assert len(dash.deals) == before  # nothing replaced until the mapping is used
    filled(form)
    form.use_button.click()
    deals = dash.deals
    assert len(deals) == 7 and sorted(deals["deal_id"]) == ["R-1", "R-2", "R-3", "R-4", "R-5", "R-6", "R-7"]
    assert deals["status"].value_counts().to_dict() == {"won": 3, "lost": 2, "open": 2}
    assert deals.loc[deals["status"] == "won", "amount"].sum() == 1000 + 2500 + 700
    assert "Loaded deals.csv: 9 rows read, 7 kept, 1 merged, 1 rejected" in text(dash.message.value)
    assert "deals.csv: channel partner KPIs" in dash.header.value
    assert dash.mapping == form.mapping
    assert "read with this mapping" in text(form.widget.children[1].value)  # the form folded
    # the same export again: read with the mapping in use, no form
    dash.load_upload("deals.csv", EXPORT)
    assert len(dash.deals) == 7 and "Loaded deals.csv" in dash.message.value


@pytest.mark.slow
def test_the_upload_limit_applies_before_any_form(sample):
    small = widgets.Dashboard(sample, max_upload_bytes=100)
    small.load_upload("deals.csv", EXPORT)
    assert "more than the" in small.message.value and small.mapping_form is None
    small.load_upload("crm.toml", b"x" * (mappingform.MAX_MAPPING_BYTES + 1))
    assert "more than a mapping file needs" in small.message.value and small.mapping is None


@pytest.mark.slow
def test_a_kept_mapping_that_does_not_fit_opens_the_form(dash):
    dash.mapping = Mapping(columns={"Opportunity": "deal_id", "phase": "stage"}, stage_map={"Won": "won"})
    dash.load_upload("deals.csv", EXPORT)
    form = dash.mapping_form
    assert form is not None and "'Opportunity'" in text(form.widget.children[1].value)
    assert form.fields["stage"].value == "phase"


@pytest.mark.slow
def test_a_downloaded_mapping_reads_next_months_export_without_the_form(dash):
    dash.load_upload("deals.csv", EXPORT)
    form = dash.mapping_form
    filled(form)
    saved = form.download()
    assert "deals-mapping.toml" in form.link.value and "data:application/toml;base64," in form.link.value
    again = Mapping.from_toml(saved, file="deals-mapping.toml")
    assert again.columns == {h: r for r, h in RIGHT.items()}
    assert again.stage_map == {"Won": "won", "Lost": "lost", "Negotiating": "open", "Qualifying": "open"}
    # next month, another dashboard: the mapping file first, then the export
    fresh = widgets.Dashboard(dash.load_result)
    fresh.load_upload("deals-mapping.toml", saved.encode())
    assert "kept" in text(fresh.message.value)
    fresh.load_upload("deals-2024-07.csv", EXPORT)
    assert fresh.mapping_form is None and len(fresh.deals) == 7
    # or the export first (the form opens) and the mapping after it: the waiting export is read
    later = widgets.Dashboard(dash.load_result)
    later.load_upload("deals.csv", EXPORT)
    assert later.mapping_form is not None
    later.load_upload("deals-mapping.toml", saved.encode())
    assert len(later.deals) == 7 and "Loaded deals.csv" in later.message.value


@pytest.mark.slow
def test_a_broken_mapping_file_is_a_readable_message(dash):
    dash.load_upload("crm.toml", b"version = 1\n[columns]\nref = 'no_such_column'\n")
    shown = text(dash.message.value)
    assert "crm.toml" in shown and "no_such_column" in shown and "Traceback" not in shown
    assert dash.mapping is None


def test_a_mapping_file_must_be_a_small_toml_text():
    with pytest.raises(ck.errors.FileFormatError, match="not a mapping file"):
        mappingform.read_mapping_upload("crm.txt", b"version = 1\n")
    with pytest.raises(ck.errors.FileFormatError, match="not text in UTF-8"):
        mappingform.read_mapping_upload("crm.toml", b"\xff\xfe\x00bad")


# ---------------------------------------------------------------- a kept mapping, the deal id, the texts
# A German export and the mapping a person confirmed for it (8 Feb). Next month's export adds two
# stage values the mapping does not list: Storniert (cancelled: lost) and Qualifizierung (open).
GERMAN = (
    "Chancen-Nr.;Vertriebspartner;Vertriebler;Kunde;Phase;Erstellt am;Abschlussdatum;Betrag (EUR)\n"
    "CH-01;Müller IT GmbH;Herr Schulz;Bäckerei Weber;Gewonnen;07.01.2025;12.02.2025;12.500,00\n"
    "CH-02;Müller IT GmbH;Herr Schulz;Stadtwerke Ulm;Verloren;13.01.2025;28.02.2025;4.000,00\n"
    "CH-03;Systemhaus Nord;Frau Klein;Autohaus Berg;Verhandlung;03.02.2025;;9.999,99\n"
)
GERMAN_NEXT = GERMAN + (
    "CH-05;Systemhaus Nord;Frau Klein;Hotel Adler;Storniert;17.02.2025;08.04.2025;3.300,00\n"
    "CH-07;Müller IT GmbH;Herr Schulz;Kita Sonnenschein;Qualifizierung;01.04.2025;;2.000,00\n"
)
GERMAN_TOML = """version = 1
[options]
dayfirst = true
decimal = ","
currency = "EUR"
[columns]
"Chancen-Nr." = "deal_id"
Vertriebspartner = "partner"
Vertriebler = "owner"
Phase = "stage"
"Erstellt am" = "created"
Abschlussdatum = "closed"
"Betrag (EUR)" = "amount"
[stages]
Gewonnen = "won"
Verloren = "lost"
Verhandlung = "open"
"""


@pytest.mark.slow
def test_a_kept_mapping_reads_only_the_exports_it_fits(dash):
    dash.load_upload("german-mapping.toml", GERMAN_TOML.encode())
    kept = dash.mapping
    # an export without its columns: the form, filled from this export's own proposal, says why
    dash.load_upload("deals.csv", EXPORT)
    form = dash.mapping_form
    assert form is not None and dash.mapping_box.children == (form.widget,)
    why = text(form._full[1].value)
    assert "The mapping german-mapping.toml does not fit deals.csv" in why and "'Chancen-Nr.'" in why
    assert "names a header" not in why
    assert {r: form.fields[r].value for r in ("partner", "owner", "created", "amount")} == {
        "partner": "reseller",
        "owner": "rep",
        "created": "opened_on",
        "amount": "deal_value",
    }
    assert dash.mapping is kept  # still kept for the exports it fits
    # an export it fits loads with it, without the form: 1 won, 1 lost, 1 open
    dash.load_upload("german-feb.csv", GERMAN.encode())
    assert dash.mapping_box.children == () and "Loaded german-feb.csv" in text(dash.message.value)
    assert "read as the mapping german-mapping.toml" in text(dash.header.value)
    assert dash.deals["status"].value_counts().to_dict() == {"won": 1, "lost": 1, "open": 1}


@pytest.mark.slow
def test_stage_values_a_kept_mapping_does_not_list_are_confirmed_in_the_form(dash):
    dash.load_upload("german-mapping.toml", GERMAN_TOML.encode())
    before = len(dash.deals)
    dash.load_upload("german-mar.csv", GERMAN_NEXT.encode())
    form = dash.mapping_form
    assert form is not None and len(dash.deals) == before  # nothing loaded unconfirmed
    assert "stages the mapping german-mapping.toml does not list: 'Storniert', 'Qualifizierung'" in text(
        form._full[1].value
    )
    # the mapping's columns and readings, the new values read by their meaning, not "choose"
    assert form.fields["deal_id"].value == "Chancen-Nr." and form.fields["closed"].value == "Abschlussdatum"
    readings = {v: d.value for v, d in form.readings.items()}
    assert readings == {
        "Gewonnen": "won",
        "Verloren": "lost",
        "Verhandlung": "open",
        "Storniert": "lost",
        "Qualifizierung": "open",
    }
    rows = {text(c.children[0].value).split(" ")[0]: text(c.children[0].value) for c in form._stage_box.children}
    assert "new:" in rows["Storniert"] and "not a known stage" not in rows["Storniert"]
    assert "new:" not in rows["Gewonnen"]
    assert not form.use_button.disabled
    form.use_button.click()
    # won CH-01; lost CH-02, CH-05; open CH-03, CH-07
    assert dash.deals["status"].value_counts().to_dict() == {"lost": 2, "open": 2, "won": 1}
    assert dash.mapping.stage_map["Storniert"] == "lost"


# The proposal doubts the id: 'Nr' may be it (weak), the stage is sure.
DOUBTED_ID = Mapping(
    columns={"Phase": "stage", "Betrag (EUR)": "amount"},
    guesses=(
        ColumnGuess("Chancen-Nr.", "deal_id", 0.5, "weak", "header contains 'nr'"),
        ColumnGuess("Phase", "stage", 1.0, "sure", "header 'Phase' means stage"),
        ColumnGuess("Betrag (EUR)", "amount", 1.0, "sure", "header means amount"),
    ),
    stages=(
        StageReading("Gewonnen", "won", 1, "a known stage"),
        StageReading("Verloren", "lost", 1, "a known stage"),
        StageReading("Verhandlung", "open", 1, "means open"),
    ),
)


@pytest.mark.slow
def test_no_deal_id_cannot_be_used_unless_each_row_is_said_to_be_a_deal():
    form = mappingform.MappingForm("german.csv", GERMAN.encode(), proposal=DOUBTED_ID, problem="not sure")
    assert form.fields["deal_id"].value is None and form.each_row.value is False
    assert form.use_button.disabled and "Choose the Deal ID column (perhaps 'Chancen-Nr.')" in form.problem
    assert form.use() is None
    # said on purpose: each row is a deal
    form.each_row.value = True
    assert not form.use_button.disabled and form.problem == ""
    # a deal id chosen: the rows are no longer deals by themselves
    form.choose("deal_id", "Chancen-Nr.")
    assert form.each_row.value is False and not form.use_button.disabled
    assert sorted(form.result.deals["deal_id"]) == ["CH-01", "CH-02", "CH-03"]
    # ticking it again takes the id away
    form.each_row.value = True
    form._flush()
    assert form.fields["deal_id"].value is None
    # a proposal that saw no id-like column reads each row as a deal already
    plain = mappingform.MappingForm(
        "x.csv", b"phase,deal_value\nWon,5\nLost,7\n", proposal=Mapping(columns={"phase": "stage"})
    )
    assert plain.each_row.value is True and not plain.use_button.disabled


@pytest.mark.slow
def test_the_why_is_short_in_lines_with_the_code_folded_and_the_notes_in_plain_words():
    problem = (
        "german.csv: cannot tell which CRM this export comes from (a deal id column: 'Chancen-Nr.' may be "
        "the deal_id; confirm it with columns={'Chancen-Nr.': 'deal_id'}). The proposal:\n  'Phase' -> stage\n"
        ". Fix: pass it to load_crm:\ncolumns={'Phase': 'stage'},"
    )
    form = mappingform.MappingForm("german.csv", GERMAN.encode(), proposal=DOUBTED_ID, problem=problem)
    markup = form._full[1].value
    shown, folded = markup.split("<details>")
    assert "columns=" not in shown and "load_crm" not in shown and len(text(shown)) < 500
    assert "perhaps 'Chancen-Nr.' (header contains 'nr')" in text(shown)
    # the whole message, line breaks kept, under a summary
    assert "<summary>" in folded and "<pre>" in folded and "The proposal:\n  &#x27;Phase&#x27; -&gt; stage" in folded
    # the preview's notes: no Python advice, no "ignored as asked" when nothing was asked
    form.each_row.value = True
    form._flush()
    notes = text(form.counts_html.value)
    assert "no deal id column" in notes  # what it means is said
    assert "pass " not in notes and "columns=" not in notes and "as asked" not in notes
    assert "'Kunde'" not in notes  # the headers left unchosen are the form's to see, not a note


@pytest.mark.slow
def test_more_fields_are_folded_and_empty_choices_say_so():
    proposal = Mapping(columns={"ref": "deal_id", "phase": "stage", "customer": "account"})
    form = mappingform.MappingForm("deals.csv", EXPORT, proposal=proposal)
    # folded even with a proposed field in it, whose name the title gives
    assert form._more.selected_index is None
    assert form._more.get_title(0) == "More fields (1 chosen: Customer (account))"
    form.choose("account", None)
    assert form._more.get_title(0) == "More fields"
    # an empty dropdown shows "(none)", the date order "decided from the values": never blank
    assert form.fields["owner"].value is None and form.fields["owner"].label == "(none)"
    assert form.dates.value is None and form.dates.label == "decided from the values"
    form.choose("owner", "rep")
    form.choose("owner", None)
    assert form.fields["owner"].index == 0 and form.fields["owner"].label == "(none)"
    # every label the same width, so that the dropdowns line up
    labels = [row.children[0] for row in form._full if "ck-field" in getattr(row, "_dom_classes", ())]
    assert len(labels) >= 10 and {label.layout.flex for label in labels} == {"0 0 17em"}


DUTCH = (
    "Kans-ID;Wederverkoper;Verkoper;Klant;Fase;Aangemaakt op;Gesloten op;Bedrag\n"
    "K-201;Van Dijk ICT;Pieter;Bakkerij Jansen;Gewonnen;06-01-2025;10-02-2025;1.234,50\n"
    "K-202;Van Dijk ICT;Pieter;Garage Smit;Verloren;09-01-2025;20-02-2025;8.000,00\n"
    "K-203;Noordlicht BV;Sanne;Hotel Zee;Gewonnen;15-01-2025;01-03-2025;5.000,00\n"
    "K-204;Noordlicht BV;Sanne;Tandarts Visser;Onderhandeling;01-02-2025;;15.000,00\n"
)


@pytest.mark.slow
def test_an_export_read_by_meaning_offers_its_mapping_and_names_no_currency_it_does_not_know(dash):
    dash.load_upload("dutch.csv", DUTCH.encode())
    assert dash.mapping_form is None and "Loaded dutch.csv" in text(dash.message.value)
    assert "read as columns recognised by meaning" in text(dash.header.value)  # not "common names"
    offer = dash.mapping_offer
    assert offer is not None and dash.mapping_box.children == (offer.widget,)
    assert "recognised by meaning" in text(offer.widget.children[0].value)
    assert "does not say the currency" in text(offer.widget.children[0].value)
    saved = Mapping.from_toml(offer.download(), file="dutch-mapping.toml")
    assert "dutch-mapping.toml" in offer.link.value
    assert saved.columns == {
        "Kans-ID": "deal_id",
        "Wederverkoper": "partner",
        "Verkoper": "owner",
        "Klant": "account",
        "Fase": "stage",
        "Aangemaakt op": "created",
        "Gesloten op": "closed",
        "Bedrag": "amount",
    }
    assert saved.stage_map == {"Gewonnen": "won", "Verloren": "lost", "Onderhandeling": "open"}
    # nothing in the export says its currency: amounts without a symbol, never as dollars
    assert dash.currency == "XXX"
    tiles = text(dash.tiles.value)
    # average won deal (1,234.50 + 5,000.00) / 2 = 3,117.25; open pipeline 15,000.00
    assert "$" not in tiles and "3.1k" in tiles and "15.0k" in tiles
    # the mapping uploaded next month reads the export without the form
    fresh = widgets.Dashboard(dash.load_result)
    fresh.load_upload("dutch-mapping.toml", offer.download().encode())
    fresh.load_upload("dutch-feb.csv", DUTCH.encode())
    assert fresh.mapping_form is None and len(fresh.deals) == 4
    # "Check the mapping" opens the form on it, where the currency is said once and kept
    offer.check_button.click()
    form = dash.mapping_form
    assert form is not None and form.fields["deal_id"].value == "Kans-ID"
    assert form.amount_currency.value is None and form.amount_currency.label == "(not said: no symbol)"
    form.amount_currency.value = "EUR"
    form.use_button.click()
    assert dash.currency == "EUR" and "€" in text(dash.tiles.value) and "$" not in text(dash.tiles.value)
    assert Mapping.from_toml(form.download()).currency == "EUR"
    assert "read as the mapping made for dutch.csv" in text(dash.header.value)
