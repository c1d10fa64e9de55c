"""The dashboard's mapping form: how to read an uploaded export no preset recognises.

When an upload cannot be read with confidence the dashboard shows this form instead of an error:
one dropdown per canonical column listing the export's headers (pre-filled from the proposal of
:func:`channelkpi.ingest.meaning.propose_mapping`, with how sure each guess is), a won/lost/open
reading per distinct stage value, the date order, and a preview of the first deals as they would
load with the row reconciliation counts, recomputed as the form changes. "Use this mapping" loads
the deals into the dashboard; "Download mapping" saves the mapping as TOML, which uploaded next
to next month's export reads it without the form.

Widgets only: the reading is :func:`channelkpi.load_crm`'s, the proposal :mod:`.ingest.meaning`'s.
Every visible string is in :data:`TEXT` and :data:`FIELDS`.

Examples
--------
>>> csv = b"ref,phase,deal_value\\nR1,Won,5\\nR2,Pitching,7\\n"
>>> form = MappingForm("deals.csv", csv)
>>> form.choose("deal_id", "ref"); form.choose("stage", "phase"); form.choose("amount", "deal_value")
>>> form.readings["Pitching"].value, form.unread
('open', [])
>>> form.read_stage("Pitching", "lost")
>>> {k: form.counts[k] for k in ("rows_read", "kept", "won", "lost")}
{'rows_read': 2, 'kept': 2, 'won': 1, 'lost': 1}
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import io
import re
from collections.abc import Callable
from pathlib import Path

import ipywidgets as w
import pandas as pd

from .currency_symbols import NO_CURRENCY, SYMBOLS
from .errors import ChannelKPIError, FileFormatError
from .formats import number
from .i18n import N_, current_locale, in_own_locale
from .i18n import gettext as _
from .ingest import LoadResult, load_crm
from .ingest.errors_said import error_said
from .ingest.mapfile import Mapping
from .ingest.meaning import propose_mapping
from .ingest.meaning_values import read_stage
from .ingest.presets import DEFAULT_STAGE_MAP, STATUS_WORDS, norm
from .ingest.reader import read_raw
from .ingest.wording_shown import in_form, said_certainty, said_note
from .safety import DEFAULT_UPLOAD_LIMIT, html_text

__all__ = [
    "ESSENTIAL",
    "FIELDS",
    "FORM_CSS",
    "MAPPING_SUFFIX",
    "MAX_MAPPING_BYTES",
    "MAX_STAGES",
    "MappingForm",
    "PREVIEW_ROWS",
    "MappingOffer",
    "by_meaning",
    "export_table",
    "read_by_meaning",
    "TEXT",
    "known_reading",
    "load_with_mapping",
    "missing_headers",
    "new_stage_values",
    "form_note",
    "plain_note",
    "preview_html",
    "read_mapping_upload",
]


class _InLanguage(dict):
    """English texts marked for the catalogs (``N_``), each read in the language in force."""

    def __getitem__(self, key: str) -> str:
        return _(super().__getitem__(key))

    def get(self, key: str, default: str | None = None) -> str | None:
        return self[key] if key in self else default

    def items(self):
        return [(key, self[key]) for key in self]

    def values(self):
        return [self[key] for key in self]


#: Each canonical column the form offers, in words, the essential ones first.
FIELDS: dict[str, str] = _InLanguage(
    {
        "deal_id": N_("Deal ID"),
        "partner": N_("Partner (reseller)"),
        "owner": N_("Owner (salesperson)"),
        "stage": N_("Stage"),
        "status": N_("Status (open, won or lost)"),
        "created": N_("Created on"),
        "closed": N_("Closed on"),
        "amount": N_("Amount"),
        "currency": N_("Currency"),
        "name": N_("Deal name"),
        "account": N_("Customer (account)"),
        "expected_close": N_("Expected close date"),
        "close_date": N_("Close date (actual, or expected while open)"),
        "probability": N_("Probability"),
        "source": N_("Lead source"),
        "channel": N_("Channel"),
        "department": N_("Department"),
        "unit": N_("Unit"),
        "product": N_("Product"),
        "won_flag": N_("Won? (yes/no)"),
        "closed_flag": N_("Closed? (yes/no)"),
        "status_reason": N_("Status reason"),
        "won_time": N_("Won on (time)"),
        "lost_time": N_("Lost on (time)"),
        "won_amount": N_("Won amount"),
    }
)
#: The fields shown open; the others are under "More fields".
ESSENTIAL = ("deal_id", "partner", "owner", "stage", "status", "created", "closed", "amount", "currency")

#: Every visible sentence and label of the form (one place, for translation).
TEXT = _InLanguage(
    {
        "none": N_("(none)"),
        "unread": N_("(choose)"),
        "won": N_("won"),
        "lost": N_("lost"),
        "open": N_("open"),
        "title": N_("How should {file} be read?"),
        "intro": N_(
            "channelkpi could not tell with confidence which column means what in this export. Choose the "
            "column of the export for each field (the proposal is filled in), say how each stage reads, "
            "check the preview, then use the mapping."
        ),
        "why": N_("Why:"),
        "why_detection": N_("channelkpi does not know which CRM {file} comes from, and is not sure enough of:"),
        "why_id_weak": N_("the deal id: perhaps {header!r} ({reason}); choose it, or say each row is a deal"),
        "why_id_none": N_("the deal id: no column looks like one"),
        "why_outcome_weak": N_("the stage: perhaps {header!r} ({reason})"),
        "why_outcome_none": N_("the stage: no column says which deals are open, won or lost"),
        "why_stages": N_("how these stages read: {values}"),
        "details": N_("The full message (with the code to read the export in Python)"),
        "kept_unfit": N_(
            "The mapping {mapping} does not fit {file}: it reads {headers}, which this export does not "
            "have. The columns below are proposed from this export's own headers."
        ),
        "new_stages": N_(
            "{file} has stages the mapping {mapping} does not list: {values}. Their readings below are "
            "proposed from their meaning: check them, then use the mapping."
        ),
        "columns": N_("Columns"),
        "more": N_("More fields"),
        "more_chosen": N_("More fields ({n} chosen: {fields})"),
        "each_row": N_("Each row is a deal (the export has no deal id)"),
        "dates": N_("Dates"),
        "dates_auto": N_("decided from the values"),
        "dates_dayfirst": N_("day first (31/12/2024)"),
        "dates_monthfirst": N_("month first (12/31/2024)"),
        "amount_currency": N_("Amounts are in"),
        "currency_unsaid": N_("(not said: no symbol)"),
        "stages": N_("Stages: won, lost or open?"),
        "stages_none": N_("Choose the Stage or Status column to read its values."),
        "stages_many": N_("{column!r} has {n} different values: is it really the stage? Choose another column."),
        "stage_row": N_("1 row"),
        "stage_rows": N_("{rows} rows"),
        "new_stage": N_("new: {reason}"),
        "unknown_stage": N_("not a known stage: choose"),
        "guess_unsure": N_("{certainty} guess: {reason}"),
        "guess_weak": N_("perhaps {header!r}? ({reason})"),
        "preview": N_("Preview: the first deals as they would load"),
        "counts": N_(
            "{rows_read} rows read: {kept} kept, {merged} merged, {rejected} rejected · "
            "{won} won, {lost} lost, {open} open"
        ),
        "rejected_why": N_("{n} rejected: {reason}"),
        "warning": N_("Note: {text}"),
        "updating": N_("Updating the preview…"),
        "failed": N_("With this mapping the export cannot be read: {problem}"),
        "crashed": N_("With this mapping the export cannot be read ({kind}: {problem})."),
        "twice": N_("{header!r} is chosen for both {a} and {b}: choose it for one of them."),
        "need_outcome": N_("Choose the Stage or Status column: it says which deals are open, won or lost."),
        "need_readings": N_("Say whether these stages are won, lost or open: {values}."),
        "need_id": N_(
            "Choose the Deal ID column{perhaps}, or tick \u201cEach row is a deal\u201d if the export has none."
        ),
        "need_id_perhaps": N_(" (perhaps {header!r})"),
        "use": N_("Use this mapping"),
        "download": N_("Download mapping"),
        "change": N_("Change the mapping"),
        "save_as": N_("Save {file}"),
        "used": N_("{file} is read with this mapping. Download it to read next month's export the same way."),
        "not_toml": N_("{file} is not a mapping file (.toml)"),
        "too_big": N_("{file} is {size} bytes, more than a mapping file needs ({limit} bytes)"),
        "fix_mapping": N_("upload the .toml file the dashboard's Download mapping saved"),
        "not_text": N_("{file} is not text in UTF-8"),
        "ignored": N_("columns the mapping ignores: {headers}"),
        "unnamed": N_("columns the mapping does not name, not read: {headers}"),
        "kept": N_("Mapping {file} kept: the exports you upload next are read with it when they have its columns."),
        "form_mapping": N_("made for {file}"),
        "offer": N_(
            "{file}'s columns were recognised by meaning. Save this mapping to read next month's export the same way."
        ),
        "offer_check": N_("Check the mapping"),
        "offer_currency": N_(
            "It does not say the currency of its amounts (shown without a symbol): say it under "
            "\u201cCheck the mapping\u201d."
        ),
        "read_by_meaning": N_("columns recognised by meaning"),
        "read_with": N_("the mapping {mapping}"),
    }
)

#: Mapping files uploaded to the dashboard end in this.
MAPPING_SUFFIX = ".toml"
#: A mapping file is a few kilobytes; anything much larger is not one.
MAX_MAPPING_BYTES = 256 * 1024
PREVIEW_ROWS = 5
MAX_STAGES = 60  # more distinct values than this: not a stage column
_PREVIEW_COLUMNS = (
    "deal_id",
    "partner",
    "owner",
    "stage",
    "status",
    "created",
    "closed",
    "expected_close",
    "amount",
    "currency",
)
_READINGS = ("won", "lost", "open")

FORM_CSS = """
<style>
.ck-mapform {border: 1px solid #9aa5b1; border-radius: 6px; padding: 10px 14px; margin: 6px 0; max-width: 100%;}
.ck-mapform h3 {margin: 0 0 4px; font-size: 17px; overflow-wrap: anywhere;}
.ck-mapform .ck-field {display: flex; flex-wrap: wrap; align-items: center; gap: 2px 8px;}
.ck-mapform .ck-field-label {display: inline-block; width: 17em; font-size: 13px;}
.ck-mapform .ck-why {font-size: 13px; margin: 4px 0;}
.ck-mapform .ck-why ul {margin: 2px 0 2px 1.2em; padding: 0;}
.ck-mapform .ck-why pre {white-space: pre-wrap; font-size: 12px; overflow-wrap: anywhere; max-height: 24em; overflow: auto;}
.ck-mapform .ck-new {background: #e7f1ff; border-radius: 4px; padding: 0 4px;}
.ck-mapform .ck-guess {font-size: 12px; color: #7a4b00; overflow-wrap: anywhere;}
.ck-mapform .ck-unknown {background: #fff3cd; border-radius: 4px; padding: 0 4px;}
.ck-mapform .ck-stage-value {display: inline-block; min-width: 12em; font-size: 13px; overflow-wrap: anywhere;}
.ck-mapform .ck-preview table {border-collapse: collapse; font-size: 12px;}
.ck-mapform .ck-preview th, .ck-mapform .ck-preview td {border-bottom: 1px solid #dde2e7; padding: 2px 8px;
  text-align: left; white-space: nowrap;}
.ck-mapform .ck-preview {overflow-x: auto; max-width: 100%;}
.ck-mapform .ck-counts {font-size: 13px; font-weight: 600; margin: 4px 0;}
.ck-mapform .ck-problem {color: #8a1c1c; font-size: 13px; overflow-wrap: anywhere;}
</style>
"""


def load_with_mapping(
    content: bytes,
    name: str,
    mapping: Mapping,
    *,
    max_bytes: int | None = None,
    headers: list[str] | None = None,
    say_unread: bool = True,
) -> LoadResult:
    """Load an uploaded export with ``mapping``; headers the mapping does not name are not read
    (not guessed from their names), so the load is what the mapping says.

    The warnings say which headers the mapping ignores and, with ``say_unread``, which it does
    not name (a renamed column shows there). ``headers``: the export's, when already read.

    Raises
    ------
    ChannelKPIError
        When the export cannot be read with the mapping (a header it names is missing, values
        that cannot be read), naming the file, row, column and value.
    """
    if headers is None:
        headers = list(read_raw(_named(content, name), max_bytes=max_bytes).headers)
    columns = {h: mapping.columns.get(h) for h in headers}
    missing = [h for h, role in mapping.columns.items() if role and h not in columns]
    columns.update({h: mapping.columns[h] for h in missing})  # load_crm names what is missing
    full = dataclasses.replace(mapping, columns=columns)
    result = load_crm(_named(content, name), mapping=full, max_bytes=max_bytes)
    # "ignored as asked" would name every header the mapping leaves out: say which it ignores
    # and which it does not know, apart
    notes = [t for t in result.warnings if not t.startswith(("ignored column(s) as asked", "column(s) not read,"))]
    ignored = [h for h in headers if h in mapping.columns and mapping.columns[h] is None]
    unnamed = [h for h in headers if h not in mapping.columns]
    if ignored:
        notes.append(TEXT["ignored"].format(headers=", ".join(repr(h) for h in ignored)))
    if unnamed and say_unread:
        notes.append(TEXT["unnamed"].format(headers=", ".join(repr(h) for h in unnamed)))
    return dataclasses.replace(result, warnings=notes)


def export_table(content: bytes, name: str, *, max_bytes: int | None = None):
    """An uploaded export's cells as read (:func:`~channelkpi.ingest.reader.read_raw`): its
    headers, to see whether a mapping fits it."""
    return read_raw(_named(content, name), max_bytes=max_bytes)


def read_by_meaning(result: LoadResult, content: bytes, name: str, *, max_bytes: int | None = None) -> Mapping | None:
    """The mapping an export loaded without one was read with, when its columns were
    recognised by meaning (None for a CRM preset, or headers that are the canonical names):
    the columns the load used, the proposal's stage readings and conventions, to save and reuse.

    >>> from channelkpi.ingest import load_crm
    >>> csv = b"ref,phase,deal_value\\nA1,Won,5\\nA2,Negotiating,7\\n"
    >>> m = read_by_meaning(load_crm(io.BytesIO(csv)), csv, "deals.csv")
    >>> m.columns, m.stage_map
    ({'ref': 'deal_id', 'phase': 'stage', 'deal_value': 'amount'}, {'Won': 'won', 'Negotiating': 'open'})
    """
    if not by_meaning(result):
        return None
    columns = {header: role for role, header in result.source.columns.items()}
    proposal = propose_mapping(_named(content, name), max_bytes=max_bytes)
    return dataclasses.replace(
        proposal,
        columns=columns,
        stage_map={s.value: s.reading for s in proposal.stages if s.reading},
        file=name,
    )


def by_meaning(result: LoadResult) -> bool:
    """Whether a load without a mapping read some column by what it means rather than by its
    canonical name (``deal_value`` as the amount): generic, with a header that is not the name.

    >>> from channelkpi.ingest import load_crm
    >>> by_meaning(load_crm(b"ref,phase\\nA1,Won\\n")), by_meaning(load_crm(b"deal_id,stage\\nA1,Won\\n"))
    (True, False)
    """
    columns = result.source.columns
    return result.source.preset == "generic" and any(norm(h) != norm(role) for role, h in columns.items())


def missing_headers(mapping: Mapping, headers) -> list[str]:
    """The headers ``mapping`` reads into a column that an export with ``headers`` lacks: empty
    when the mapping fits the export (extra headers in the export do not matter).

    >>> m = Mapping(columns={"Chancen-Nr.": "deal_id", "Phase": "stage", "Notiz": None})
    >>> missing_headers(m, ["Chance", "Phase"]), missing_headers(m, ["Chancen-Nr.", "Phase", "x"])
    (['Chancen-Nr.'], [])
    """
    present = set(headers)
    return [h for h, role in mapping.columns.items() if role and h not in present]


def new_stage_values(mapping: Mapping, raw) -> list[str]:
    """The values of the export's stage and status columns (as ``mapping`` names them) that the
    mapping gives no reading and that are no standard stage name: a person confirmed the
    mapping's readings, not these.

    >>> from channelkpi.ingest.reader import read_raw
    >>> raw = read_raw(b"id,Fase\\nA,Gewonnen\\nB,Geannuleerd\\nC,Offerte\\n")
    >>> new_stage_values(Mapping(columns={"id": "deal_id", "Fase": "stage"}, stage_map={"Offerte": "open"}), raw)
    ['Geannuleerd']
    """
    listed = {norm(v) for v in mapping.stage_map}
    out: dict[str, None] = {}
    for header, role in mapping.columns.items():
        if role not in ("stage", "status") or header not in raw.headers:
            continue
        for value in raw.cells[header].dropna().astype(str).unique():
            if value.strip() and norm(value) not in listed and known_reading(value) is None:
                out[value] = None
    return list(out)


_ADVICE = re.compile(
    r"\s*\((?:pass|use) [^()]*(?:\([^()]*\)[^()]*)*\)|;\s*pass \S+=.*$|\.? To keep this reading.*$", re.S
)


def plain_note(text: str) -> str:
    """A loading note without its advice for Python (``pass stage_map=...``): the form is where
    a dashboard user changes the reading.

    >>> plain_note("no close date on 3 deals (pass columns={'x': 'closed'} if there is one); see the ledger")
    'no close date on 3 deals; see the ledger'
    """
    return _ADVICE.sub("", str(text)).strip()


def form_note(text: str) -> str:
    """A loading note as the form shows it, in the language in force: its advice for Python
    said as the form's (:func:`~channelkpi.ingest.wording_shown.in_form`), or left out.

    >>> form_note("'Datum': every date fits both day-first and month-first; read as day-first "
    ...           "(pass dayfirst=False if wrong)")
    "'Datum': every date fits both day-first and month-first; read as day-first (if that is wrong, choose the order under Dates)"
    """
    form = in_form(text)
    return said_note(form if form != text else plain_note(text))


def _download_link(mapping: Mapping, name: str) -> tuple[str, str]:
    """The mapping as TOML and a link that saves it as ``<export>-mapping.toml``."""
    filename = f"{re.sub(r'[^0-9A-Za-z_.-]+', '_', Path(name).stem).strip('_.') or 'export'}-mapping.toml"
    text = mapping.to_toml()
    href = "data:application/toml;base64," + base64.b64encode(text.encode("utf-8")).decode()
    link = f"<a download='{html_text(filename)}' href='{href}'>{html_text(TEXT['save_as'].format(file=filename))}</a>"
    return text, link


class MappingOffer:
    """One line under the load message of an export read by meaning without the form: its
    mapping, to download and reuse next month, and a way to check it in the form.

    >>> offer = MappingOffer("deals.csv", Mapping(columns={"ref": "deal_id", "phase": "stage"}))
    >>> offer.link.value
    ''
    >>> "ref = " in offer.download(), "deals-mapping.toml" in offer.link.value
    (True, True)
    """

    def __init__(self, name: str, mapping: Mapping, *, on_check: Callable[[], None] | None = None) -> None:
        self.locale = current_locale()  # the page's language, for the later button clicks
        self.name = name
        self.mapping = mapping
        self.download_button = w.Button(description=TEXT["download"])
        self.download_button.on_click(lambda _b: self.download())
        self.link = w.HTML()
        buttons = [self.download_button]
        if on_check is not None:
            self.check_button = w.Button(description=TEXT["offer_check"])
            self.check_button.on_click(lambda _b: on_check())
            buttons.append(self.check_button)
        said = TEXT["offer"].format(file=name)
        if not mapping.currency and on_check is not None:
            said += " " + TEXT["offer_currency"]
        note = w.HTML(f"<span class='ck-note'>{html_text(said)}</span>")
        self.widget = w.HBox([note, *buttons, self.link]).add_class("ck-row")
        self.widget.add_class("ck-mapping-offer")

    @in_own_locale
    def download(self) -> str:
        """The mapping as TOML, offered as a link to save (returned too)."""
        text, self.link.value = _download_link(self.mapping, self.name)
        return text


def read_mapping_upload(name: str, content: bytes) -> Mapping:
    """A mapping file uploaded to the dashboard, checked for type and size and validated.

    Raises
    ------
    FileFormatError
        When it is not a ``.toml`` file, is too large, or is not UTF-8 text.
    ChannelKPIError
        When its content is not a valid mapping (:meth:`Mapping.from_toml` says what and where).
    """
    if Path(str(name)).suffix.lower() != MAPPING_SUFFIX:
        raise FileFormatError(TEXT["not_toml"].format(file=repr(name)), fix=TEXT["fix_mapping"])
    if len(content) > MAX_MAPPING_BYTES:
        raise FileFormatError(
            TEXT["too_big"].format(file=repr(name), size=number(len(content)), limit=number(MAX_MAPPING_BYTES)),
            fix=TEXT["fix_mapping"],
        )
    try:
        text = bytes(content).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileFormatError(TEXT["not_text"].format(file=repr(name)), fix=TEXT["fix_mapping"]) from exc
    return Mapping.from_toml(text, file=name)


def _label(text: str) -> w.HTML:
    """A field's label, all of one width so that the dropdowns line up."""
    return w.HTML(f"<span class='ck-field-label'>{html_text(text)}</span>", layout=w.Layout(flex="0 0 17em"))


def _named(content: bytes, name: str) -> io.BytesIO:
    buffer = io.BytesIO(content)
    buffer.name = name
    return buffer


def known_reading(value: object) -> str | None:
    """How a stage or status value reads without being told (won, lost, open), or None.

    >>> known_reading("Closed Won"), known_reading("Verloren"), known_reading("Negotiating")
    ('won', 'lost', None)
    """
    key = norm(value)
    return DEFAULT_STAGE_MAP.get(key) or STATUS_WORDS.get(key)


def _cell(value: object, column: str) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "—"
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d}"
    if column == "amount":
        return f"{float(value):,.2f}"
    return str(value)


def preview_html(deals: pd.DataFrame, *, rows: int = PREVIEW_ROWS) -> str:
    """The first ``rows`` deals as a small table (every cell escaped): the columns the mapping
    fills, by their canonical names."""
    columns = [c for c in _PREVIEW_COLUMNS if c in deals and (c in ("deal_id", "status") or deals[c].notna().any())]
    head = "".join(f"<th>{html_text(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html_text(_cell(r[c], c))}</td>" for c in columns) + "</tr>"
        for _, r in deals.head(rows).iterrows()
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class _Choice(w.Dropdown):
    """A dropdown whose first option stands for None: shown as "(none)", never blank (a plain
    dropdown shows nothing when its value is None)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.observe(self._first, names="index")
        if self.index is None:
            self.index = 0

    def _first(self, change) -> None:
        if change["new"] is None:
            self.index = 0


class MappingForm:
    """The form for one uploaded export (``widget``), pre-filled from a proposal.

    Parameters
    ----------
    name : str
        The uploaded file's name.
    content : bytes
        The export.
    proposal : Mapping, optional
        What to pre-fill (default: :func:`~channelkpi.ingest.meaning.propose_mapping` of the export).
    kept : Mapping, optional
        A mapping a person confirmed before (uploaded, or used on an earlier export) that fits
        the export: its columns and stage readings are pre-filled, the proposal's readings fill
        the stage values it does not list.
    problem : str
        Why the form is shown (the error), in full: folded under the short reason.
    note : str
        A sentence shown first (e.g. the mapping in use does not fit this export).
    max_bytes : int
        The upload limit, applied to every read.
    delay : float
        Seconds of quiet after a change before the preview is recomputed (in a running kernel;
        outside one, at once).
    on_use : callable, optional
        Called with the :class:`LoadResult` and the :class:`Mapping` when "Use this mapping" is
        pressed and the export loads.

    Attributes
    ----------
    fields : dict of str -> ipywidgets.Dropdown
        One per canonical column: the header chosen for it (None: none).
    readings : dict of str -> ipywidgets.Dropdown
        One per distinct stage/status value: ``"won"``, ``"lost"``, ``"open"`` or None (unread).
    result : LoadResult or None
        The load the preview shows (None when it fails: :attr:`problem` says why).
    """

    def __init__(
        self,
        name: str,
        content: bytes,
        *,
        proposal: Mapping | None = None,
        kept: Mapping | None = None,
        problem: str = "",
        note: str = "",
        max_bytes: int = DEFAULT_UPLOAD_LIMIT,
        delay: float = 0.4,
        on_use: Callable[[LoadResult, Mapping], None] | None = None,
    ) -> None:
        # the language of the page that asks: the form's callbacks run later, outside it
        self.locale = current_locale()
        self.name = name
        self.content = content
        self.max_bytes = max_bytes
        self.delay = delay
        self.on_use = on_use
        self.raw = read_raw(_named(content, name), max_bytes=max_bytes)
        self.headers = list(self.raw.headers)
        if proposal is None:
            proposal = propose_mapping(_named(content, name), max_bytes=max_bytes)
        self.proposal = proposal
        self.kept = kept
        self.result: LoadResult | None = None
        self.problem = ""
        self._handle: asyncio.TimerHandle | None = None
        self._stage_values: dict[str, int] = {}
        self._stage_column_note = ""

        base = kept if kept is not None else proposal
        chosen = {role: h for h, role in base.columns.items() if role and h in self.headers}
        options = [(TEXT["none"], None), *((h, h) for h in self.headers)]
        self.fields: dict[str, w.Dropdown] = {}
        self.guess_notes: dict[str, w.HTML] = {}
        rows = {}
        for role, label in FIELDS.items():
            dropdown = _Choice(options=options, value=chosen.get(role), layout=w.Layout(width="auto"))
            dropdown.add_class(f"ck-field-{role}")
            self.fields[role] = dropdown
            self.guess_notes[role] = w.HTML()
            rows[role] = w.HBox([_label(label), dropdown, self.guess_notes[role]]).add_class("ck-field")
        # no deal id chosen: say so on purpose (a proposal that saw no id-like column already did)
        asked_id = self._weak_identity() is not None
        self.each_row = w.Checkbox(
            value=not asked_id and not any(r in chosen for r in ("deal_id", "name")),
            description=TEXT["each_row"],
            indent=False,
            layout=w.Layout(width="auto"),
        )
        self.each_row.add_class("ck-each-row")
        self.dates = _Choice(
            options=[
                (TEXT["dates_auto"], None),
                (TEXT["dates_dayfirst"], True),
                (TEXT["dates_monthfirst"], False),
            ],
            value=base.dayfirst,
            layout=w.Layout(width="auto"),
        )
        # the currency of amounts the export writes without one: said once, kept in the mapping
        codes = [c for c in SYMBOLS if c != NO_CURRENCY]
        if base.currency and base.currency not in codes:
            codes.insert(0, base.currency)
        self.amount_currency = _Choice(
            options=[(TEXT["currency_unsaid"], None), *((c, c) for c in codes)],
            value=base.currency if base.currency else None,
            layout=w.Layout(width="auto"),
        )
        self.amount_currency.add_class("ck-amount-currency")
        self.readings: dict[str, w.Dropdown] = {}
        self._stage_box = w.VBox()
        self.preview = w.HTML()
        self.counts_html = w.HTML()
        self.problem_html = w.HTML()
        self.use_button = w.Button(description=TEXT["use"], button_style="primary", disabled=True)
        self.download_button = w.Button(description=TEXT["download"])
        self.change_button = w.Button(description=TEXT["change"])
        self.link = w.HTML()
        self.use_button.on_click(lambda _b: self.use())
        self.download_button.on_click(lambda _b: self.download())
        self.change_button.on_click(lambda _b: self.expand())

        more = [r for role, r in rows.items() if role not in ESSENTIAL]
        # folded: the stages and the preview stay in sight; its title names what it holds
        self._more = w.Accordion(children=[w.VBox(more)], selected_index=None)
        self._more.set_title(0, TEXT["more"])
        essentials = [rows[role] for role in ESSENTIAL]
        essentials.insert(1, w.HBox([_label(""), self.each_row]).add_class("ck-field"))
        self._full = [
            w.HTML(FORM_CSS),
            w.HTML(
                f"<h3>{html_text(TEXT['title'].format(file=name))}</h3>"
                f"<p class='ck-note'>{html_text(TEXT['intro'])}</p>{self._why_html(problem, note)}"
            ),
            w.HTML(f"<b>{html_text(TEXT['columns'])}</b>"),
            *essentials,
            self._more,
            w.HBox([_label(TEXT["dates"]), self.dates]).add_class("ck-field"),
            w.HBox([_label(TEXT["amount_currency"]), self.amount_currency]).add_class("ck-field"),
            w.HTML(f"<b>{html_text(TEXT['stages'])}</b>"),
            self._stage_box,
            w.HTML(f"<b>{html_text(TEXT['preview'])}</b>"),
            self.counts_html,
            self.problem_html,
            self.preview,
            w.HBox([self.use_button, self.download_button]).add_class("ck-row"),
            self.link,
        ]
        self.widget = w.VBox(self._full).add_class("ck-mapform")

        self._fill_stages()
        self._show_guesses()
        self._title_more()
        self.update()
        for dropdown in self.fields.values():
            dropdown.observe(self._on_field, names="value")
        self.dates.observe(lambda _c: self._schedule(), names="value")
        self.amount_currency.observe(lambda _c: self._schedule(), names="value")
        self.each_row.observe(self._on_each_row, names="value")

    # ------------------------------------------------------------------ why the form is shown
    def _weak_identity(self):
        """The proposal's weak guess at the deal id when it is not sure of one (else None)."""
        if self.kept is not None:
            return None
        sure = [h for h, r in self.proposal.columns.items() if r in ("deal_id", "name")]
        if any(self.proposal.certainty(h) in ("sure", "likely") for h in sure):
            return None
        return next((g for g in self.proposal.guesses if g.role in ("deal_id", "name")), None)

    def _why_html(self, problem: str, note: str) -> str:
        """Why the form is shown, short and in words; the full message folded under it."""
        lines = [note] if note else []
        unsure = []
        if self.kept is None and self.proposal.guesses and not self.proposal.ready:
            weak = self._weak_identity()
            if weak is not None:
                unsure.append(TEXT["why_id_weak"].format(header=weak.header, reason=said_note(weak.reason)))
            outcome = [h for h, r in self.proposal.columns.items() if r in ("stage", "status", "won_flag")]
            if not any(self.proposal.certainty(h) in ("sure", "likely") for h in outcome):
                guess = next((g for g in self.proposal.guesses if g.role in ("stage", "status", "won_flag")), None)
                unsure.append(
                    TEXT["why_outcome_weak"].format(header=guess.header, reason=said_note(guess.reason))
                    if guess is not None
                    else TEXT["why_outcome_none"]
                )
            unread = [s.value for s in self.proposal.stages if self.proposal.reading(s.value) is None]
            if unread:
                unsure.append(TEXT["why_stages"].format(values=", ".join(repr(v) for v in unread[:12])))
        if unsure:
            lines.append(TEXT["why_detection"].format(file=self.name))
        elif problem and not lines:
            first = str(problem).strip().splitlines()[0]
            lines.append(first if len(first) <= 300 else first[:299] + "…")
        if not lines and not problem:
            return ""
        body = "".join(f"<div>{html_text(t)}</div>" for t in lines)
        if unsure:
            body += "<ul>" + "".join(f"<li>{html_text(t)}</li>" for t in unsure) + "</ul>"
        if problem:
            body += (
                f"<details><summary>{html_text(TEXT['details'])}</summary>"
                f"<pre>{html_text(str(problem).strip())}</pre></details>"
            )
        return f"<div class='ck-why'><b>{html_text(TEXT['why'])}</b> {body}</div>"

    # ------------------------------------------------------------------ state
    @property
    def chosen(self) -> dict[str, str]:
        """Canonical column -> the header chosen for it."""
        return {role: d.value for role, d in self.fields.items() if d.value is not None}

    @property
    def mapping(self) -> Mapping:
        """The mapping the form shows (columns, stage readings, date order), ready to save."""
        columns = {header: role for role, header in self.chosen.items()}
        stage_map = {value: d.value for value, d in self.readings.items() if d.value is not None}
        return dataclasses.replace(
            self.kept if self.kept is not None else self.proposal,
            columns=columns,
            stage_map=stage_map,
            dayfirst=self.dates.value,
            currency=self.amount_currency.value,
            source="generic",
            file=self.name,
        )

    @property
    def unread(self) -> list[str]:
        """The stage values without a reading."""
        return [value for value, d in self.readings.items() if d.value is None]

    @property
    def counts(self) -> dict:
        """The preview's reconciliation counts (:meth:`LoadResult.summary`), empty if it failed."""
        return self.result.summary() if self.result is not None else {}

    def choose(self, role: str, header: str | None) -> None:
        """Choose the header for a canonical column (None: none), as the dropdown does."""
        self.fields[role].value = header
        self._flush()

    def read_stage(self, value: str, reading: str | None) -> None:
        """Say how a stage value reads (``"won"``, ``"lost"``, ``"open"``), as its dropdown does."""
        self.readings[value].value = reading
        self._flush()

    # ------------------------------------------------------------------ recomputing
    @in_own_locale
    def _on_field(self, change) -> None:
        if change["owner"] in (self.fields.get("stage"), self.fields.get("status")):
            self._fill_stages()
        if change["owner"] is self.fields.get("deal_id") and change["new"] is not None:
            self.each_row.value = False  # a deal id chosen: rows are no longer deals by themselves
        self._show_guesses()
        self._title_more()
        self._schedule()

    def _on_each_row(self, change) -> None:
        if change["new"]:
            self.fields["deal_id"].value = None  # each row a deal: no deal id
        self._schedule()

    def _title_more(self) -> None:
        """ "More fields", with the fields chosen in it named (folded, nothing chosen is hidden)."""
        more = [FIELDS[role] for role in self.chosen if role not in ESSENTIAL]
        title = TEXT["more_chosen"].format(n=len(more), fields=", ".join(more)) if more else TEXT["more"]
        self._more.set_title(0, title)

    def _schedule(self) -> None:
        """Recompute the preview once the form has been quiet for ``delay`` seconds (a person
        choosing several columns in a row waits for one load, not one per click)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not inside a kernel's event loop (a script, a test): at once
            loop = None
        if loop is None or self.delay <= 0:
            self.update()
            return
        self.counts_html.value = f"<div class='ck-note'>{html_text(TEXT['updating'])}</div>"
        self._handle = loop.call_later(self.delay, self.update)

    @in_own_locale
    def _flush(self) -> None:
        """Recompute now if a recomputation is waiting."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
            self.update()

    def _fill_stages(self) -> None:
        """One reading per distinct value of the stage and status columns, pre-filled from the
        proposal, then the readings already given, then the known stage names."""
        values: dict[str, int] = {}
        note = ""
        for role in ("status", "stage"):
            header = self.fields[role].value
            if header is None:
                continue
            counts = self.raw.cells[header].dropna().astype(str).value_counts(sort=False)
            counts = counts[counts.index.str.strip() != ""]
            if len(counts) > MAX_STAGES:
                note = TEXT["stages_many"].format(column=header, n=number(len(counts)))
                continue
            for value, n in counts.items():
                values[value] = values.get(value, 0) + int(n)
        before = {v: d.value for v, d in self.readings.items()}
        proposed = {s.value: s.reading for s in self.proposal.stages}
        proposed.update(self.proposal.stage_map)
        kept = {} if self.kept is None else {norm(v): r for v, r in self.kept.stage_map.items()}
        readings = {}
        self._new_stages = {}
        for value in values:
            reading = before.get(value) or kept.get(norm(value))
            if reading is None and self.kept is not None and known_reading(value) is None:
                # a value the confirmed mapping does not list: the proposal's reading, marked new
                meant, why = read_stage(value)
                reading = proposed.get(value) or meant
                self._new_stages[value] = why
            reading = reading or proposed.get(value) or known_reading(value)
            d = _Choice(
                options=[(TEXT["unread"], None), *((TEXT[r], r) for r in _READINGS)],
                value=reading if reading in _READINGS else None,
                layout=w.Layout(width="auto"),
            )
            d.observe(lambda _c: self._on_reading(), names="value")
            readings[value] = d
        self.readings = readings
        self._stage_values = values
        self._stage_column_note = note
        self._show_stages()

    @in_own_locale
    def _on_reading(self) -> None:
        self._show_stages()
        self._schedule()

    def _show_stages(self) -> None:
        rows = []
        for value, d in self.readings.items():
            unknown = d.value is None
            n = self._stage_values[value]
            new = self._new_stages.get(value) if not unknown else None
            label = (
                f"<span class='ck-stage-value{' ck-unknown' if unknown else ''}'>{html_text(value)}</span> "
                f"<span class='ck-note'>"
                + html_text(TEXT["stage_row"] if n == 1 else TEXT["stage_rows"].format(rows=number(n)))
                + (f" · {html_text(TEXT['unknown_stage'])}" if unknown else "")
                + (
                    f" · <span class='ck-new'>{html_text(TEXT['new_stage'].format(reason=said_note(new)))}</span>"
                    if new
                    else ""
                )
                + "</span>"
            )
            row = w.HBox([w.HTML(label, layout=w.Layout(flex="0 0 17em")), d]).add_class("ck-field")
            row.add_class("ck-stage")
            rows.append(row)
        notes = [self._stage_column_note] if self._stage_column_note else []
        if not rows and not notes:
            notes.append(TEXT["stages_none"])
        self._stage_box.children = [*(w.HTML(f"<p class='ck-note'>{html_text(n)}</p>") for n in notes), *rows]

    def _show_guesses(self) -> None:
        """Beside each column: how sure the proposal is when it is not sure, and a weak guess
        (never chosen on its own) as a question."""
        guesses = {g.header: g for g in self.proposal.guesses}
        proposed = {role: h for h, role in self.proposal.columns.items() if role}
        for role, note in self.guess_notes.items():
            header = self.fields[role].value
            text = ""
            guess = guesses.get(header) if header is not None else None
            if header is not None and header == proposed.get(role) and guess and guess.certainty != "sure":
                text = TEXT["guess_unsure"].format(
                    certainty=said_certainty(guess.certainty), reason=said_note(guess.reason)
                )
            elif header is None:
                weak = next((g for g in self.proposal.guesses if g.role == role and g.header not in proposed), None)
                if weak is not None:
                    text = TEXT["guess_weak"].format(header=weak.header, reason=said_note(weak.reason))
            note.value = f"<span class='ck-guess'>{html_text(text)}</span>" if text else ""

    def _blocker(self) -> str:
        """Why the mapping cannot be used yet, in words ("" when it can)."""
        seen: dict[str, str] = {}
        for role, header in self.chosen.items():
            if header in seen:
                return TEXT["twice"].format(header=header, a=FIELDS[seen[header]], b=FIELDS[role])
            seen[header] = role
        outcome = ("stage", "status", "won_flag", "closed_flag", "status_reason")
        if not any(role in self.chosen for role in outcome):
            return TEXT["need_outcome"]
        if not any(role in self.chosen for role in ("deal_id", "name")) and not self.each_row.value:
            weak = self._weak_identity()
            perhaps = TEXT["need_id_perhaps"].format(header=weak.header) if weak is not None else ""
            return TEXT["need_id"].format(perhaps=perhaps)
        return ""

    @in_own_locale
    def update(self) -> None:
        """Load the export with the form's mapping and show the preview and the counts (or, in
        words, why it cannot be read)."""
        if self._handle is not None:
            self._handle.cancel()
        self._handle = None
        self.result = None
        problem = self._blocker()
        if not problem:
            try:
                self.result = load_with_mapping(
                    self.content,
                    self.name,
                    self.mapping,
                    max_bytes=self.max_bytes,
                    headers=self.headers,
                    say_unread=False,
                )
            except ChannelKPIError as exc:
                problem = TEXT["failed"].format(problem=error_said(exc))
            except Exception as exc:  # the form shows a readable message, never a traceback
                problem = TEXT["crashed"].format(kind=type(exc).__name__, problem=exc)
        unread = self.unread
        if not problem and unread:
            problem = TEXT["need_readings"].format(values=", ".join(repr(v) for v in unread[:12]))
        self.problem = problem
        self.problem_html.value = f"<div class='ck-problem' role='alert'>{html_text(problem)}</div>" if problem else ""
        self.use_button.disabled = bool(problem)
        if self.result is None:
            self.counts_html.value = ""
            self.preview.value = ""
            return
        r = self.result
        lines = [
            f"<div class='ck-counts'>{html_text(TEXT['counts'].format(**{k: number(v) if isinstance(v, int) else v for k, v in r.summary().items()}))}</div>"
        ]
        rejected = r.ledger[r.ledger["outcome"] == "rejected"]["reason"].value_counts()
        lines += [
            f"<div class='ck-note'>{html_text(TEXT['rejected_why'].format(n=number(int(n)), reason=_(why)))}</div>"
            for why, n in rejected.head(3).items()
        ]
        # the advice for Python said as the form's; the stage readings and the deal id are the
        # form's own questions
        notes = [form_note(t) for t in r.warnings if not (unread and "stage map" in t)]
        lines += [f"<div class='ck-note'>{html_text(TEXT['warning'].format(text=t))}</div>" for t in notes[:3] if t]
        self.counts_html.value = "".join(lines)
        self.preview.value = f"<div class='ck-preview'>{preview_html(r.deals)}</div>"

    # ------------------------------------------------------------------ actions
    @in_own_locale
    def use(self) -> LoadResult | None:
        """Load the deals with the form's mapping and hand them to ``on_use`` (None, with the
        reason shown, when the mapping cannot be used yet)."""
        if self._handle is not None or self.result is None:
            self.update()  # what the form shows now, not what it showed before the last change
        if self.problem or self.result is None:
            return None
        if self.on_use is not None:
            self.on_use(self.result, self.mapping)
        self.collapse()
        return self.result

    @in_own_locale
    def download(self) -> str:
        """The mapping as TOML, offered as a link to save (returned too)."""
        text, self.link.value = _download_link(self.mapping, self.name)
        return text

    @in_own_locale
    def collapse(self) -> None:
        """After use: one line saying the mapping is in use, with its download and a way back."""
        note = w.HTML(f"<div class='ck-note'>{html_text(TEXT['used'].format(file=self.name))}</div>")
        self.widget.children = [
            w.HTML(FORM_CSS),
            note,
            w.HBox([self.download_button, self.change_button]).add_class("ck-row"),
            self.link,
        ]

    @in_own_locale
    def expand(self) -> None:
        """Show the whole form again."""
        self.widget.children = self._full
