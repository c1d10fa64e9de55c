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
>>> form.unread
['Pitching']
>>> form.read_stage("Pitching", "open")
>>> {k: form.counts[k] for k in ("rows_read", "kept", "won", "open")}
{'rows_read': 2, 'kept': 2, 'won': 1, 'open': 1}
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

from .errors import ChannelKPIError, FileFormatError
from .i18n import N_, current_locale, in_own_locale
from .i18n import gettext as _
from .ingest import LoadResult, load_crm
from .ingest.mapfile import Mapping
from .ingest.meaning import propose_mapping
from .ingest.presets import DEFAULT_STAGE_MAP, STATUS_WORDS, norm
from .ingest.reader import read_raw
from .ingest.wording import said
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
    "TEXT",
    "known_reading",
    "load_with_mapping",
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
        "why": N_("Why: {problem}"),
        "columns": N_("Columns"),
        "more": N_("More fields"),
        "dates": N_("Dates"),
        "dates_auto": N_("decided from the values"),
        "dates_dayfirst": N_("day first (31/12/2024)"),
        "dates_monthfirst": N_("month first (12/31/2024)"),
        "stages": N_("Stages: won, lost or open?"),
        "stages_none": N_("Choose the Stage or Status column to read its values."),
        "stages_many": N_("{column!r} has {n:,} different values: is it really the stage? Choose another column."),
        "stage_rows": N_("{rows:,} rows"),
        "unknown_stage": N_("not a known stage: choose"),
        "guess_unsure": N_("{certainty} guess: {reason}"),
        "guess_weak": N_("perhaps {header!r}? ({reason})"),
        "preview": N_("Preview: the first deals as they would load"),
        "counts": N_(
            "{rows_read:,} rows read: {kept:,} kept, {merged:,} merged, {rejected:,} rejected · "
            "{won:,} won, {lost:,} lost, {open:,} open"
        ),
        "rejected_why": N_("{n:,} rejected: {reason}"),
        "warning": N_("Note: {text}"),
        "updating": N_("Updating the preview…"),
        "failed": N_("With this mapping the export cannot be read: {problem}"),
        "crashed": N_("With this mapping the export cannot be read ({kind}: {problem})."),
        "twice": N_("{header!r} is chosen for both {a} and {b}: choose it for one of them."),
        "need_outcome": N_("Choose the Stage or Status column: it says which deals are open, won or lost."),
        "need_readings": N_("Say whether these stages are won, lost or open: {values}."),
        "use": N_("Use this mapping"),
        "download": N_("Download mapping"),
        "change": N_("Change the mapping"),
        "save_as": N_("Save {file}"),
        "used": N_("{file} is read with this mapping. Download it to read next month's export the same way."),
        "not_toml": N_("{file} is not a mapping file (.toml)"),
        "too_big": N_("{file} is {size:,} bytes, more than a mapping file needs ({limit:,} bytes)"),
        "fix_mapping": N_("upload the .toml file the dashboard's Download mapping saved"),
        "not_text": N_("{file} is not text in UTF-8"),
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
.ck-mapform .ck-field-label {min-width: 15em; font-size: 13px;}
.ck-mapform .ck-guess {font-size: 12px; color: #7a4b00; overflow-wrap: anywhere;}
.ck-mapform .ck-unknown {background: #fff3cd; border-radius: 4px; padding: 0 4px;}
.ck-mapform .ck-stage-value {min-width: 12em; font-size: 13px; overflow-wrap: anywhere;}
.ck-mapform .ck-preview table {border-collapse: collapse; font-size: 12px;}
.ck-mapform .ck-preview th, .ck-mapform .ck-preview td {border-bottom: 1px solid #dde2e7; padding: 2px 8px;
  text-align: left; white-space: nowrap;}
.ck-mapform .ck-preview {overflow-x: auto; max-width: 100%;}
.ck-mapform .ck-counts {font-size: 13px; font-weight: 600; margin: 4px 0;}
.ck-mapform .ck-problem {color: #8a1c1c; font-size: 13px; overflow-wrap: anywhere;}
</style>
"""


def load_with_mapping(content: bytes, name: str, mapping: Mapping, *, max_bytes: int | None = None) -> LoadResult:
    """Load an uploaded export with ``mapping``; headers the mapping does not name are ignored
    (not guessed from their names), so the load is what the mapping says.

    Raises
    ------
    ChannelKPIError
        When the export cannot be read with the mapping (a header it names is missing, values
        that cannot be read), naming the file, row, column and value.
    """
    raw_headers = read_raw(_named(content, name), max_bytes=max_bytes).headers
    columns = {h: mapping.columns.get(h) for h in raw_headers}
    missing = [h for h, role in mapping.columns.items() if role and h not in columns]
    columns.update({h: mapping.columns[h] for h in missing})  # load_crm names what is missing
    full = dataclasses.replace(mapping, columns=columns)
    return load_crm(_named(content, name), mapping=full, max_bytes=max_bytes)


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
            TEXT["too_big"].format(file=repr(name), size=len(content), limit=MAX_MAPPING_BYTES),
            fix=TEXT["fix_mapping"],
        )
    try:
        text = bytes(content).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileFormatError(TEXT["not_text"].format(file=repr(name)), fix=TEXT["fix_mapping"]) from exc
    return Mapping.from_toml(text, file=name)


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
    problem : str
        Why the form is shown (the detection error), in words.
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
        problem: str = "",
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
        self.result: LoadResult | None = None
        self.problem = ""
        self._handle: asyncio.TimerHandle | None = None
        self._stage_values: dict[str, int] = {}
        self._stage_column_note = ""

        chosen = {role: h for h, role in proposal.columns.items() if role and h in self.headers}
        options = [(TEXT["none"], None), *((h, h) for h in self.headers)]
        self.fields: dict[str, w.Dropdown] = {}
        self.guess_notes: dict[str, w.HTML] = {}
        rows = {}
        for role, label in FIELDS.items():
            dropdown = w.Dropdown(options=options, value=chosen.get(role), layout=w.Layout(width="auto"))
            dropdown.add_class(f"ck-field-{role}")
            self.fields[role] = dropdown
            self.guess_notes[role] = w.HTML()
            rows[role] = w.HBox(
                [w.HTML(f"<span class='ck-field-label'>{html_text(label)}</span>"), dropdown, self.guess_notes[role]]
            ).add_class("ck-field")
        self.dates = w.Dropdown(
            options=[
                (TEXT["dates_auto"], None),
                (TEXT["dates_dayfirst"], True),
                (TEXT["dates_monthfirst"], False),
            ],
            value=proposal.dayfirst,
            layout=w.Layout(width="auto"),
        )
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

        why = f"<p class='ck-note'>{html_text(TEXT['why'].format(problem=problem))}</p>" if problem else ""
        more = [r for role, r in rows.items() if role not in ESSENTIAL]
        self._more = w.Accordion(children=[w.VBox(more)], selected_index=None)
        self._more.set_title(0, TEXT["more"])
        if any(role in chosen for role in FIELDS if role not in ESSENTIAL):
            self._more.selected_index = 0  # a proposed column is never hidden
        self._full = [
            w.HTML(FORM_CSS),
            w.HTML(
                f"<h3>{html_text(TEXT['title'].format(file=name))}</h3>"
                f"<p class='ck-note'>{html_text(TEXT['intro'])}</p>{why}"
            ),
            w.HTML(f"<b>{html_text(TEXT['columns'])}</b>"),
            *(rows[role] for role in ESSENTIAL),
            self._more,
            w.HBox([w.HTML(f"<span class='ck-field-label'>{html_text(TEXT['dates'])}</span>"), self.dates]).add_class(
                "ck-field"
            ),
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
        self.update()
        for dropdown in self.fields.values():
            dropdown.observe(self._on_field, names="value")
        self.dates.observe(lambda _c: self._schedule(), names="value")

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
            self.proposal,
            columns=columns,
            stage_map=stage_map,
            dayfirst=self.dates.value,
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
        self._show_guesses()
        self._schedule()

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
                note = TEXT["stages_many"].format(column=header, n=len(counts))
                continue
            for value, n in counts.items():
                values[value] = values.get(value, 0) + int(n)
        before = {v: d.value for v, d in self.readings.items()}
        proposed = {s.value: s.reading for s in self.proposal.stages}
        proposed.update(self.proposal.stage_map)
        readings = {}
        for value in values:
            reading = before.get(value) or proposed.get(value) or known_reading(value)
            d = w.Dropdown(
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
            label = (
                f"<span class='ck-stage-value{' ck-unknown' if unknown else ''}'>{html_text(value)}</span> "
                f"<span class='ck-note'>{html_text(TEXT['stage_rows'].format(rows=self._stage_values[value]))}"
                + (f" · {html_text(TEXT['unknown_stage'])}" if unknown else "")
                + "</span>"
            )
            row = w.HBox([w.HTML(label), d]).add_class("ck-field")
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
                text = TEXT["guess_unsure"].format(certainty=guess.certainty, reason=guess.reason)
            elif header is None:
                weak = next((g for g in self.proposal.guesses if g.role == role and g.header not in proposed), None)
                if weak is not None:
                    text = TEXT["guess_weak"].format(header=weak.header, reason=weak.reason)
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
                self.result = load_with_mapping(self.content, self.name, self.mapping, max_bytes=self.max_bytes)
            except ChannelKPIError as exc:
                problem = TEXT["failed"].format(problem=exc)
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
        lines = [f"<div class='ck-counts'>{html_text(TEXT['counts'].format(**r.summary()))}</div>"]
        rejected = r.ledger[r.ledger["outcome"] == "rejected"]["reason"].value_counts()
        lines += [
            f"<div class='ck-note'>{html_text(TEXT['rejected_why'].format(n=int(n), reason=_(why)))}</div>"
            for why, n in rejected.head(3).items()
        ]
        lines += [
            f"<div class='ck-note'>{html_text(TEXT['warning'].format(text=said(t)))}</div>" for t in r.warnings[:3]
        ]
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
        filename = f"{re.sub(r'[^0-9A-Za-z_.-]+', '_', Path(self.name).stem).strip('_.') or 'export'}-mapping.toml"
        text = self.mapping.to_toml()
        href = "data:application/toml;base64," + base64.b64encode(text.encode("utf-8")).decode()
        self.link.value = (
            f"<a download='{html_text(filename)}' href='{href}'>{html_text(TEXT['save_as'].format(file=filename))}</a>"
        )
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
