"""The fixed sentences of the notes a load writes while it reads a file (title rows skipped, the
encoding used, columns renamed, ignored or recognised by meaning, tables joined, history read),
as templates :func:`channelkpi.ingest.wording.said` recognises.

A note is made with ``TEMPLATE.format(...)`` where the load writes it, and stays English data;
:mod:`channelkpi.ingest.wording` says it in the viewer's language where it is shown.

Some notes carry pieces that are sentences themselves: why a column was recognised by meaning
(``header 'Fase' means stage (Dutch)``), how sure that is (``likely``): :data:`REASONS` and
:data:`CERTAINTIES`, which :mod:`channelkpi.ingest.wording_shown` finds inside a note. The
``FORM_*`` templates are the notes whose advice is written for Python, as the mapping form says
them.

Examples
--------
>>> TITLE_ROWS.format(count=2, last=2)
'skipped 2 title row(s) above the header (rows 1-2)'
"""

from __future__ import annotations

from ..i18n import N_

__all__ = [
    "SENTENCES",
    # ------------------------------------------------------------------ the load's progress
    "PROGRESS_SPLIT",
    "PROGRESS_RECONCILING",
    # ------------------------------------------------------------------ reading the file
    "NOT_UTF8",
    "UNNAMED_COLUMNS",
    "SHEETS",
    "TITLE_ROWS",
    "HEADER_REPEATED",
    "KEPT_RENAMED",
    "BOOKKEEPING",
    "NOT_READ_MAPPING",
    "NOT_READ_ASKED",
    "DECIMAL_POINT",
    "EXCEL_SERIALS",
    "NOT_AMOUNTS",
    "NOT_DATES",
    "STATUS_CLASH",
    "NO_ID_COLUMN",
    "ID_NOT_USED",
    "MAY_BE_ID",
    # ------------------------------------------------------------------ partner and owner tables
    "LOOSE_PARTNERS",
    "LOOSE_OWNERS",
    "JOINED_PARTNER",
    "JOINED_OWNER",
    "UNLISTED_PARTNER_ONE",
    "UNLISTED_PARTNER_MANY",
    "UNLISTED_OWNER_ONE",
    "UNLISTED_OWNER_MANY",
    # ------------------------------------------------------------------ history
    "ONLY_CURRENCY",
    "UNKNOWN_CURRENCY",
    "UNKNOWN_CURRENCIES",
    "DIFFER_FROM_HISTORY",
    "NO_HISTORY",
    "NOT_IN_EXPORT",
    "HUBSPOT_STAGES",
    # ------------------------------------------------------------------ recognised by meaning
    "BY_MEANING",
    "BY_MEANING_WEAK_PRESET",
    "BESIDES_COMMON",
    "SUMMARY_WEAK",
    "SUMMARY_UNUSED",
    "SUMMARY_USED",
    "SUMMARY_MORE_COLUMNS",
    "SUMMARY_STAGE",
    "SUMMARY_MORE_STAGES",
    # ------------------------------------------------------------------ how an export was read
    "SALESFORCE_REPORT",
    "SALESFORCE_API",
    "HUBSPOT_DEALS",
    "PIPEDRIVE_DEALS",
    "DYNAMICS_EXCEL",
    "ZOHO_DEALS",
    "GENERIC_TABLE",
    "CUSTOM_BY_MEANING",
    "CUSTOM_WITH_FILE",
    "CUSTOM_WITH_MAPPING",
    # ------------------------------------------------------------------ the mapping form's advice
    "FORM_DAY_FIRST",
    "FORM_MONTH_FIRST",
    "FORM_SOURCES_AS_OTHER",
    "FORM_STAGES_BY_WORDING",
    "FORM_STAGES_AS_OPEN",
    "FORM_STAGE_HISTORY",
    "FORM_NO_ID_COLUMN",
    "FORM_SHEETS",
    # ------------------------------------------------------------------ pieces inside a note
    "CERTAINTIES",
    "REASONS",
]

# --------------------------------------------------------------------------- reading the file
NOT_UTF8 = N_(
    "the file is not UTF-8 (first non-UTF-8 byte on line {line}); read it as {encoding} (Windows 'ANSI'). "
    "If accented letters look wrong, re-export as CSV UTF-8"
)
UNNAMED_COLUMNS = N_("column(s) without a header were kept as {headers}")
SHEETS = N_("the workbook has {count} sheets; read the first, {sheet} (pass sheet= for another)")
TITLE_ROWS = N_("skipped {count} title row(s) above the header (rows 1-{last})")
HEADER_REPEATED = N_("the header {header} appears more than once; the copy in column {column} is called {name}")
KEPT_RENAMED = N_("kept column(s) renamed where their name was taken: {columns}")
BOOKKEEPING = N_("ignored {count} re-import bookkeeping column(s): {headers}")
NOT_READ_MAPPING = N_("column(s) not read, as the mapping says: {headers}")
NOT_READ_ASKED = N_("column(s) not read, as asked: {headers}")
DECIMAL_POINT = N_(
    "{header}: values such as '1.200' were read with '.' as the decimal point; if they are thousands, "
    "the export uses a decimal comma"
)
EXCEL_SERIALS = N_("{header}: numbers in a date column were read as Excel date serials")
NOT_AMOUNTS = N_("{header}: {count} value(s) are not amounts and were left empty ({rows})")
NOT_DATES = N_("{header}: {count} value(s) are not dates and were left empty ({rows})")
STATUS_CLASH = N_(
    "{count} row(s) where {header} disagrees with {other}; used the latter (e.g. row {row}: stage {stage} but {status})"
)
NO_ID_COLUMN = N_(
    "no deal id column (looked for {looked_for}); each row is one deal with an id made from its row number, "
    "so line items cannot be merged (pass {argument} if there is one)"
)
ID_NOT_USED = N_(
    "{header} was not used as the deal id: it is named like one, but {why}, so it is not one id per deal; "
    "each row is read as a deal (numbered by its row). If its rows are one deal's states or parts after all, "
    "map it {where}: {header} -> 'deal_id'"
)
MAY_BE_ID = N_(
    "no column is mapped to deal_id, so each row is read as a deal (numbered by its row); {header} may be the "
    "deal id ({certainty}: {reason}). Map it {where}: {header} -> 'deal_id', or ignore it (None, or \"\" in a "
    "mapping file) if it is not"
)

# --------------------------------------------------------------------------- partner and owner tables
LOOSE_PARTNERS = N_("partner names matched to the partner table only after ignoring case, spacing or accents: {names}")
LOOSE_OWNERS = N_("owner names matched to the owner table only after ignoring case, spacing or accents: {names}")
JOINED_PARTNER = N_("the partner table's column(s) joined under another name, the deals having one: {columns}")
JOINED_OWNER = N_("the owner table's column(s) joined under another name, the deals having one: {columns}")
UNLISTED_PARTNER_ONE = N_(
    "{count} deal(s) have a partner the partner table does not list: {names}; their {columns} is empty"
)
UNLISTED_PARTNER_MANY = N_(
    "{count} deal(s) have a partner the partner table does not list: {names}; their {columns} are empty"
)
UNLISTED_OWNER_ONE = N_(
    "{count} deal(s) have an owner the owner table does not list: {names}; their {columns} is empty"
)
UNLISTED_OWNER_MANY = N_(
    "{count} deal(s) have an owner the owner table does not list: {names}; their {columns} are empty"
)

# --------------------------------------------------------------------------- history
ONLY_CURRENCY = N_(
    "{count} state(s) name no currency: taken as {currency}, the only currency of the data "
    "(pass currency= to say which it is)"
)
UNKNOWN_CURRENCY = N_(
    "{count} state(s) with an amount name no currency: their currency is unknown "
    "(pass currency= the currency of the history's amounts)"
)
UNKNOWN_CURRENCIES = N_(
    "{count} state(s) with an amount name no currency and the data holds {number} ({currencies}): their currency "
    "is unknown (pass currency= the currency of the history's amounts)"
)
DIFFER_FROM_HISTORY = N_(
    "{count} deal(s) of the current export differ from their last recorded state ({deals}); their current values "
    "are taken to begin at as_of={as_of} because the history does not say when they changed"
)
NO_HISTORY = N_(
    "{count} deal(s) of the current export have no history; each is taken to be in its current state since it "
    "was created"
)
NOT_IN_EXPORT = N_(
    "{count} deal(s) of the history are not in the current export: they are removed from the instant the CRM "
    "deleted them where it says so, else from as_of"
)
HUBSPOT_STAGES = N_(
    "{file}: HubSpot records the instant a deal entered each stage, not its amount or close date changes: these "
    "are taken as constant (their current values)"
)

# --------------------------------------------------------------------------- recognised by meaning
BY_MEANING = N_(
    "{file}: no preset knows these headers, so the columns were recognised by meaning:\n{summary}\n"
    "To keep this reading, or correct it, pass:\n{code}"
)
BY_MEANING_WEAK_PRESET = N_(
    "{file}: {preset}, but none of its stage or status columns are there, so the columns were recognised by "
    "meaning:\n{summary}\nTo keep this reading, or correct it, pass:\n{code}"
)
BESIDES_COMMON = N_(
    "{file}: besides the common column names, columns recognised by meaning: {columns}. To keep this reading, "
    "or correct it, pass columns={code}"
)
SUMMARY_USED = N_("  {header} -> {role} ({certainty}: {reason})")
SUMMARY_WEAK = N_("  {header} -> {role}? (weak, not used: {reason})")
SUMMARY_UNUSED = N_("  {header} -> not used ({reason})")
SUMMARY_MORE_COLUMNS = N_("  ... and {count} more column(s)")
SUMMARY_STAGE = N_("  stage {value} ({rows}) -> {reading} ({reason})")
SUMMARY_MORE_STAGES = N_("  ... and {count} more stage value(s)")

# --------------------------------------------------------------------------- how an export was read
SALESFORCE_REPORT = N_("Salesforce report export")
SALESFORCE_API = N_("Salesforce API-style export (Data Loader, Data Export, Workbench)")
HUBSPOT_DEALS = N_("HubSpot deals export")
PIPEDRIVE_DEALS = N_("Pipedrive deals export")
DYNAMICS_EXCEL = N_("Dynamics 365 Sales 'Export to Excel'")
ZOHO_DEALS = N_("Zoho CRM deals export")
GENERIC_TABLE = N_("generic table (canonical or common column names)")
CUSTOM_BY_MEANING = N_("custom export (columns recognised by meaning)")
CUSTOM_WITH_FILE = N_("custom export (read with the mapping file {file})")
CUSTOM_WITH_MAPPING = N_("custom export (read with the mapping given)")

# --------------------------------------------------------------------------- the mapping form's advice
# A note whose advice is written for Python, said as the mapping form's advice (or without it
# when the form has no such choice: the channel map, the grain, the sheet).
FORM_DAY_FIRST = N_(
    "{header}: every date fits both day-first and month-first; read as day-first (if that is wrong, choose the "
    "order under Dates)"
)
FORM_MONTH_FIRST = N_(
    "{header}: every date fits both day-first and month-first; read as month-first (if that is wrong, choose the "
    "order under Dates)"
)
FORM_SOURCES_AS_OTHER = N_("{header}: source(s) not in the channel map were counted as 'other': {sources}")
FORM_STAGES_BY_WORDING = N_(
    "{header}: read stage(s) by their wording: {stages}; if a reading is wrong, change it under Stages"
)
FORM_STAGES_AS_OPEN = N_(
    "{header}: stage(s) not in the stage map were taken as open: {stages}; if one of them is closed, say so "
    "under Stages"
)
FORM_STAGE_HISTORY = N_(
    "{rows} row(s) are earlier states of {deals} deal(s): the rows of a repeated deal id have different stages, "
    "so the file was read as stage history and each deal's latest state kept, amounts not summed (see the ledger)"
)
FORM_NO_ID_COLUMN = N_(
    "no deal id column (looked for {looked_for}); each row is one deal with an id made from its row number, "
    "so line items cannot be merged (choose the Deal ID column if there is one)"
)
FORM_SHEETS = N_("the workbook has {count} sheets; read the first, {sheet}")

# --------------------------------------------------------------------------- the load's progress
#: ``label`` is the export's name as :attr:`Source.label` says it (said in the language too)
PROGRESS_SPLIT = N_("{count} rows split into {columns} columns; reading them as a {label}")
PROGRESS_RECONCILING = N_("values read; reconciling rows into deals")

#: Every template of this module :func:`~channelkpi.ingest.wording.said` tries, in the order of
#: ``__all__`` (up to the pieces below, which :func:`said_note` finds inside a note).
SENTENCES = tuple(globals()[name] for name in __all__[1 : __all__.index("CERTAINTIES")])

#: How sure a column recognised by meaning is (:attr:`~channelkpi.ingest.meaning.ColumnGuess.certainty`).
CERTAINTIES = (N_("sure"), N_("likely"), N_("weak"))

#: Why a column or a stage value was recognised by meaning: the parts of a reason (joined by
#: ``"; "``), found inside a note. A ``{header}``, ``{value}`` ... is a quoted text; ``{role}``
#: and ``{reading}`` a canonical name; ``{languages}`` language names; ``{share}`` a percentage.
REASONS = (
    N_("header {header} means deal_id: a deal word and a number word"),
    N_("header {header} contains {word}, which means {role} ({languages})"),
    N_("header {header} contains {word}, which may mean {role}"),
    N_("header {header} may mean {role} ({languages})"),
    N_("header {header} means {role} ({languages})"),
    N_("header {header} is a percentage"),
    N_("{count} row repeats another row's value, so it is not one id per deal"),
    N_("{count} rows repeat another row's value, so it is not one id per deal"),
    N_("only {share} of the values are dates"),
    N_("{share} of the values are dates; which date is it?"),
    N_("{share} of the values are dates"),
    N_("only {share} of the values are amounts"),
    N_("{share} of the values are amounts"),
    N_("values such as {values} read as stages"),
    N_("{number} distinct values, none a known stage word"),
    N_("{number} distinct values in the sample: free text, not stages"),
    N_("the values read as outcomes ({values})"),
    N_("but {header} is taken for {role}"),
    N_("but {header} could be the {role} as well: say which"),
    N_("{header} could also be the {role}"),
    N_("{value} is a standard {reading} stage"),
    N_("{value} means {reading} ({languages})"),
    N_("{value} contains a {reading} word"),
    N_("{value} has both won and lost words: say which"),
    N_("{value} looks closed without saying won or lost: say which"),
    N_("{value} contains an open-stage word"),
    N_("{value} is not a won or lost word, so it reads as an open stage"),
    N_("{header} as {name} ({base} is taken)"),
    N_("the sampled cells are empty"),
    N_("every row has its own value"),
    N_("the values are dates"),
    N_("values repeat in the sample, so it is not one id per deal"),
    N_("the values are not codes (they hold spaces or blanks)"),
    N_("values are not dates"),
    N_("values are not amounts"),
    N_("the values are numbers from 0 to 100"),
    N_("values are not numbers from 0 to 100"),
    N_("the values are currency codes"),
    N_("values are not currency codes"),
    N_("values are numbers or dates, not stages"),
    N_("values to read as yes/no"),
    N_("the values are text"),
    N_("values are numbers or dates, not names"),
    N_("values are partly text"),
    N_("some values read as stages; confirm it is the stage"),
    N_("every row has its own code"),
    N_("the values are written like money; is it the deal's amount?"),
    N_("the values are percentages"),
    N_("no known header word"),
    N_("columns= names another"),
    N_("? (needs a reading: won, lost or open)"),
    N_("({count} deal(s))"),
    N_("({count} rows) ->"),
    N_("({count} row) ->"),
)
#: The names of the vocabulary's languages, as a reason says them.
_LANGUAGE_NAMES = (N_("English"), N_("Dutch"), N_("German"), N_("French"))
