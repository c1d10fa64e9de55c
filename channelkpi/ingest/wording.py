"""The fixed sentences a load writes into its ledger, its warnings and its errors, and their
translation where they are shown.

A load writes these sentences in English: they are data (the ledger is a table people filter
on, the golden tests record it, a notebook user greps the warnings), so the load never
translates them. The dashboard's data-quality tab, its upload messages and the report show them
in the viewer's language: :func:`said` recognises a sentence made from one of the templates
below, and writes the template's translation with the same values.

The values (a header, row numbers, a deal id) go in as they are; a list of rows
(``row 3, row 7 and 2 more``) is said in the language too.

Examples
--------
>>> text = OPEN_WITH_CLOSE.format(count=2, rows="row 4, row 9")
>>> text
'2 open deal(s) carry a close date; it was dropped because an open deal has not closed (row 4, row 9)'
>>> from channelkpi.i18n import using
>>> with using("nl-NL"):
...     said(text)
'2 open deal(s) hebben een sluitdatum; die is weggelaten omdat een open deal niet gesloten is (rij 4, rij 9)'
>>> said("a sentence no template makes")
'a sentence no template makes'
"""

from __future__ import annotations

import functools
import re

from babel.numbers import format_decimal

from ..i18n import N_, current_language, current_locale
from ..i18n import gettext as _
from . import wording_errors, wording_notes

__all__ = [
    "LEDGER_REASONS",
    "SENTENCES",
    "said",
    "where_text",
    "template_pattern",
    "FOOTER_LINE",
    "TOO_MANY_FIELDS",
    "NO_ID_NO_STATUS",
    "STATUS_EMPTY",
    "DELETED",
    "DUPLICATE_ROW",
    "LINE_ITEM",
    "EARLIER_STATE",
    "OPEN_WITH_CLOSE",
    "DATES_OUT_OF_RANGE",
    "DAY_FIRST",
    "MONTH_FIRST",
    "BAD_PROBABILITY",
    "SOURCES_AS_OTHER",
    "STAGES_BY_WORDING",
    "STAGES_AS_OPEN",
    "LINE_ITEMS",
    "STAGE_HISTORY",
    "CONFLICTING_STATUSES",
    "IDS_MADE",
    "SCIENTIFIC_IDS",
    "NO_CURRENCY",
    "CONVERTED",
    "WON_WITHOUT_WON_AMOUNT",
    "LOST_AT_AMOUNT",
    "EXACT_REPEATS",
    "CLOSED_BEFORE_CREATED",
    "CLOSED_WITHOUT_DATE",
    "DATES_BEFORE_1990",
    "DATES_FAR_AHEAD",
    "NEGATIVE_AMOUNTS",
    "HUGE_AMOUNTS",
    "WON_WITHOUT_AMOUNT",
    "FOOTER_COUNT",
    "GARBLED",
    "FILE_EMPTY",
    "EXPORT_AGAIN",
    "NO_HEADER_ROW",
    "EXPORT_WITH_HEADERS",
    "BINARY",
    "EXPORT_CSV_XLSX",
    "NOT_AN_EXPORT",
    "EXPORT_AS_CSV",
    "OLD_XLS",
    "SAVE_AS_XLSX",
    "DAMAGED_XLSX",
    "REEXPORT",
    "ZIP",
    "UNZIP",
    "BAD_UTF16",
    "REEXPORT_UTF8",
    "OVER_LIMIT",
    "SEVERAL_CURRENCIES",
]

#: The ledger's reason codes (the ``reason`` column keeps the code; screens say it in words).
LEDGER_REASONS = (
    N_("footer"),
    N_("too_many_fields"),
    N_("not_a_deal"),
    N_("no_status"),
    N_("deleted"),
    N_("duplicate_row"),
    N_("line_item"),
    N_("stage_history"),
)

# --------------------------------------------------------------------------- the ledger's details
FOOTER_LINE = N_("footer or total line {value}")
TOO_MANY_FIELDS = N_(
    "{fields} fields where the header has {columns}: an unquoted delimiter {delimiter} inside a value? "
    "(first extra value {value})"
)
NO_ID_NO_STATUS = N_("no id and no status/stage")
STATUS_EMPTY = N_("the status/stage cells are empty ({source} decide open/won/lost)")
DELETED = N_("the CRM marks this deal as deleted")
DUPLICATE_ROW = N_("identical to row {row}; counted once")
LINE_ITEM = N_("line item of deal {deal}, summed into row {row}")
EARLIER_STATE = N_("an earlier state of deal {deal} (stage {stage}); its latest state is row {row}")

# --------------------------------------------------------------------------- warnings
OPEN_WITH_CLOSE = N_(
    "{count} open deal(s) carry a close date; it was dropped because an open deal has not closed ({rows})"
)
DATES_OUT_OF_RANGE = N_(
    "{header}: {count} date(s) outside 1678-2261 (placeholders such as 9999-12-31?) were left empty ({rows})"
)
DAY_FIRST = N_(
    "{header}: every date fits both day-first and month-first; read as day-first (pass dayfirst=False if wrong)"
)
MONTH_FIRST = N_(
    "{header}: every date fits both day-first and month-first; read as month-first (pass dayfirst=True if wrong)"
)
BAD_PROBABILITY = N_("{header}: {count} probability value(s) outside 0-100 % or unreadable were left empty ({rows})")
SOURCES_AS_OTHER = N_(
    "{header}: source(s) not in the channel map were counted as 'other': {sources} (pass {argument} to place them)"
)
STAGES_BY_WORDING = N_(
    "{header}: read stage(s) by their wording: {stages}; if a reading is wrong, say so with stage_map= "
    "(or under [stages] in a mapping file)"
)
STAGES_AS_OPEN = N_(
    "{header}: stage(s) not in the stage map were taken as open: {stages}; if one of them is closed, "
    "pass {argument} (or 'won'), or add it under [stages] in a mapping file"
)
LINE_ITEMS = N_(
    "{rows} row(s) repeat a deal id with other values: read as line items of {deals} deal(s), "
    "amounts summed (see the ledger)"
)
STAGE_HISTORY = N_(
    "{rows} row(s) are earlier states of {deals} deal(s): the rows of a repeated deal id have different stages, "
    "so the file was read as stage history and each deal's latest state kept, amounts not summed (see the "
    "ledger); pass grain='line_items' if the rows are parts of one deal"
)
CONFLICTING_STATUSES = N_("{count} deal(s) have rows with conflicting statuses, resolved won > lost > open: {examples}")
IDS_MADE = N_("{count} row(s) without a {header} were kept with ids made from their row number ({rows})")
SCIENTIFIC_IDS = N_(
    "{header}: some ids look like Excel scientific notation (e.g. 4.87688E+18); such ids lose digits and may "
    "no longer be unique"
)
NO_CURRENCY = N_("{count} amount(s) without a currency were taken as {currency}")
CONVERTED = N_("converted amounts to {currency} with fx rates {rates}")
WON_WITHOUT_WON_AMOUNT = N_("{count} won deal(s) have no {header}; used {fallback} instead")
LOST_AT_AMOUNT = N_("lost deals are valued at {amount} (the value that was at stake); won deals at {won_amount}")
EXACT_REPEATS = N_("{count} row(s) are exact repeats of an earlier row and were counted once")
CLOSED_BEFORE_CREATED = N_(
    "{count} deal(s) closed before they were created; kept, and excluded from cycle-length KPIs (e.g. {deals})"
)
CLOSED_WITHOUT_DATE = N_("{count} won/lost deal(s) have no close date; period KPIs exclude them (no_close_date)")
DATES_BEFORE_1990 = N_("{column}: {count} date(s) before 1990 (earliest {date})")
DATES_FAR_AHEAD = N_("{column}: {count} date(s) more than 10 years ahead (latest {date})")
NEGATIVE_AMOUNTS = N_("{count} deal(s) have a negative amount (e.g. {deals})")
HUGE_AMOUNTS = N_("{count} deal(s) have an amount above 100 billion (e.g. {deals})")
WON_WITHOUT_AMOUNT = N_("{count} won deal(s) have no amount; value KPIs exclude them (no_amount)")
FOOTER_COUNT = N_(
    "the footer says {stated} records but {rows} data rows were read: the export may be cut off or filtered"
)
GARBLED = N_("{column}: repaired garbled characters in {count} value(s), e.g. {before} -> {after}")

# --------------------------------------------------------------------------- errors of an upload
FILE_EMPTY = N_("the file is empty")
EXPORT_AGAIN = N_("export the report again with its rows")
NO_HEADER_ROW = N_("the file has no header row")
EXPORT_WITH_HEADERS = N_("export the report with its column headers")
BINARY = N_("this is a binary file, not a text or Excel export")
EXPORT_CSV_XLSX = N_("export the report from your CRM as CSV or .xlsx")
NOT_AN_EXPORT = N_("this is {what}, not a CRM export")
EXPORT_AS_CSV = N_("export the report as CSV or .xlsx")
OLD_XLS = N_("this is an old Excel 97-2003 (.xls) workbook")
SAVE_AS_XLSX = N_("open it in Excel and save it as .xlsx or CSV UTF-8, or export as .xlsx/CSV")
DAMAGED_XLSX = N_("the file looks like .xlsx but the workbook is damaged")
REEXPORT = N_("re-export it")
ZIP = N_("this is a ZIP archive (or Word/PowerPoint file), not an Excel workbook")
UNZIP = N_("unzip it first, or export the report as CSV or .xlsx")
BAD_UTF16 = N_("the file starts like UTF-16 text but does not decode as UTF-16")
REEXPORT_UTF8 = N_("re-export as CSV UTF-8")
OVER_LIMIT = N_("the file is over the limit of {limit} bytes")
SEVERAL_CURRENCIES = N_("amounts are in several currencies ({counts}) and would be summed as if they were one")

#: Every template :func:`said` recognises: this module's and those of the load's reading notes and
#: of its errors about arguments, mapping files and values (kept in their own modules).
SENTENCES = (
    tuple(globals()[name] for name in __all__[__all__.index("FOOTER_LINE") :])
    + wording_notes.SENTENCES
    + wording_errors.SENTENCES
)

_FIELD = re.compile(r"\{(\w+)\}")
_ROW = re.compile(r"\brow (\d+)")
_MORE = re.compile(r" and (\d+) more$")
_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+")


@functools.cache
def template_pattern(template: str) -> re.Pattern[str]:
    """A template as a regular expression: its words literally, each ``{value}`` any text (a value
    named twice must be the same text twice)."""
    parts, seen, at = [], set(), 0
    for m in _FIELD.finditer(template):
        parts.append(re.escape(template[at : m.start()]))
        name = m.group(1)
        parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
        seen.add(name)
        at = m.end()
    parts.append(re.escape(template[at:]))
    return re.compile("".join(parts), re.DOTALL)


def _rows(text: str) -> str:
    """A list of rows (``row 3 'x', row 7 and 2 more``) in the language in force."""
    text = _MORE.sub(lambda m: _(" and {count} more").format(count=m.group(1)), text)
    return _ROW.sub(lambda m: _("row {row}").format(row=m.group(1)), text)


def _value(name: str, value: str) -> str:
    """A value of a sentence as the language says it: a list of rows in its words, a count
    written with thousands separators (``3,123``) in its digits, an export's name said."""
    if name in ("rows", "sources") and not value.isdigit():
        return _rows(value)
    if _GROUPED.fullmatch(value):
        locale = current_locale().replace("-", "_")
        return format_decimal(int(value.replace(",", "")), format="#,##0", locale=locale)
    if name == "label":
        return said(value)
    return value


def said(text: str) -> str:
    """``text`` in the language in force when a template of this module made it (the values it
    carries kept), else as it is.

    >>> said(DELETED)
    'the CRM marks this deal as deleted'
    >>> from channelkpi.i18n import using
    >>> with using("de-DE"):
    ...     said(DUPLICATE_ROW.format(row=12))
    'identisch mit Zeile 12; einmal gezählt'
    """
    if current_language() == "en" or not isinstance(text, str):
        return text
    for template in SENTENCES:
        found = template_pattern(template).fullmatch(text)
        if found:
            values = {k: _value(k, v) for k, v in found.groupdict().items()}
            return _FIELD.sub(lambda m, values=values: values[m.group(1)], _(template))
    return text


def where_text(*, row=None, column=None, value=None) -> str:
    """Where an error was found, as its message says it (``row 3, column 'Amount', value 'x'``),
    in the language in force; ``value`` is already shortened.

    >>> where_text(row=3, column="Amount")
    "row 3, column 'Amount'"
    """
    where = []
    if row is not None:
        where.append(_("row {row}").format(row=row))
    if column is not None:
        where.append(_("column {column}").format(column=repr(column)))
    if value is not None:
        where.append(_("value {value}").format(value=value))
    return ", ".join(where)
