"""The fixed sentences of the errors a load raises about its arguments, a mapping file, a value
it cannot read and a detection it cannot settle, as templates
:func:`channelkpi.ingest.wording.said` recognises.

An error is made with ``TEMPLATE.format(...)`` where the load raises it, and stays English data;
:mod:`channelkpi.ingest.wording` says it in the viewer's language where it is shown. Code in a
fix (``stage_map={'Parked': 'lost'}``, ``columns={...}``) goes in as a value: it is Python in every
language, and a template holds no literal braces. A suggestion ("did you mean 'deal_id'? ") has
its own template, with the suggestion and without.

:func:`channelkpi.ingest.errors_said.error_said` writes a whole error (file, problem, place and
fix) in the language in force.

Examples
--------
>>> text = NO_TARGET_COLUMN.format(headers=["Rep", "Quarter"])
>>> text
"no target amount column; the headers are ['Rep', 'Quarter']"
>>> from channelkpi.i18n import using
>>> from channelkpi.ingest.wording import said
>>> with using("nl-NL"):
...     said(text)
"geen kolom met het doelbedrag; de kolomkoppen zijn ['Rep', 'Quarter']"
"""

from __future__ import annotations

from ..i18n import N_

__all__ = [
    "SENTENCES",
    # a mapping file
    "MAPPING_NOT_UTF8",
    "SAVE_AS_UTF8",
    "MAPPING_NOT_TOML",
    "WRITE_AS_IN_DOCS",
    "NO_MAPPING_FILE",
    "CHECK_MAPPING_PATH",
    "MAPPING_IS_FOLDER",
    "NAME_THE_TOML",
    "MAPPING_ARGUMENT",
    "PASS_MAPPING",
    "NOT_A_TABLE",
    "WRITE_AS_SECTION",
    "NOT_IN_QUOTES",
    "WRITE_IN_QUOTES",
    "UNKNOWN_TOP_KEY",
    "KEYS_ARE",
    "GUESS_KEYS_ARE",
    "NO_VERSION",
    "ADD_VERSION",
    "NOT_A_VERSION",
    "WRITE_VERSION",
    "NEWER_VERSION",
    "UPGRADE",
    "UNKNOWN_OPTION",
    "OPTIONS_ARE",
    "GUESS_OPTIONS_ARE",
    "NOT_TRUE_FALSE",
    "WRITE_DAYFIRST",
    "NOT_A_DECIMAL",
    "WRITE_DECIMAL",
    "NOT_A_CURRENCY",
    "WRITE_ISO_CODE",
    "GUESS_WRITE_ISO_CODE",
    "NOT_A_PRESET",
    "NOT_A_ROLE",
    "USE_ROLE_OR_IGNORE",
    "GUESS_USE_ROLE_OR_IGNORE",
    "ROLE_TWICE",
    "KEEP_ONE_OF_TWO",
    "NOT_AN_OUTCOME",
    "WRITE_OUTCOME",
    "GUESS_WRITE_OUTCOME",
    "TWO_READINGS",
    "KEEP_ONE_READING",
    "NOT_A_CHANNEL",
    "MAPPED_HEADER_GONE",
    "MAPPED_HEADER_GONE_FILE",
    "RESPELL_HEADER",
    "RESPELL_HEADER_FILE",
    # arguments of a load
    "COLUMNS_UNKNOWN_HEADER",
    "USE_HEADER_AS_IN_FIRST_ROW",
    "COLUMNS_UNKNOWN_ROLE",
    "MAP_TO_ROLE",
    "COLUMNS_TWICE",
    "ONE_HEADER_PER_COLUMN",
    "KEEP_TAKES",
    "KEEP_THAT_COLUMN",
    "KEEP_UNKNOWN",
    "GUESS_KEEP_UNKNOWN",
    "NAME_HEADER_AS_IN_FIRST_ROW",
    "USE_POINT_OR_COMMA",
    "FX_NEEDS_CURRENCY",
    "PASS_CURRENCY_WITH_FX",
    "FX_TABLE_COLUMNS",
    "RENAME_COLUMNS",
    "FX_NOT_POSITIVE",
    "FIX_THE_RATES",
    "STAGE_MAP_NOT_OUTCOME",
    "MAP_EACH_STAGE",
    # targets
    "TARGETS_UNKNOWN_HEADER",
    "USE_HEADER_AS_IT_APPEARS",
    "NO_TARGET_COLUMN",
    "NAME_IT_TARGET",
    "TARGET_NOT_AMOUNT",
    "WRITE_TARGETS_AS_NUMBERS",
    "NO_TARGET_DATES",
    "FILL_BOTH_DATES",
    "TARGET_PERIOD_UNREADABLE",
    "WRITE_PERIODS",
    "NO_PERIOD_COLUMN",
    "ADD_PERIOD_COLUMN",
    # values that cannot be read
    "NO_DATE_READ",
    "NO_AMOUNT_READ",
    "MAP_DATE_COLUMN",
    "MAP_AMOUNT_COLUMN",
    "MIXED_DECIMALS",
    "ONE_NUMBER_FORMAT",
    "MIXED_DATE_ORDERS",
    "ONE_DATE_FORMAT",
    "DAYFIRST_BUT_DAY_FIRST",
    "DAYFIRST_BUT_MONTH_FIRST",
    "PASS_DAYFIRST",
    "SYMBOL_CLASH",
    "FIX_ROW_OR_MAP_ONE",
    "CONVERT_SEVERAL",
    "NOT_IN_REPORTING_CURRENCY",
    "CONVERT_OR_KEEP",
    "NO_RATE",
    "ADD_RATES",
    "LINE_ITEM_CURRENCIES",
    "CONVERT_BEFORE_SUMMING",
    "STATUS_NOT_OUTCOME",
    "SAY_WHAT_THEY_MEAN",
    "STAGES_UNCLEAR",
    "SAY_WHICH",
    "FLAG_NOT_BOOLEAN",
    "USE_BOOLEAN_WORDS",
    "WON_FLAG_ONLY",
    "ADD_CLOSED_COLUMN",
    "NO_OUTCOME_COLUMN",
    "ADD_OUTCOME_COLUMN",
    # detection
    "UNKNOWN_CRM",
    "PASS_SOURCE_OR_COLUMNS",
    "UNKNOWN_SOURCE",
    "USE_AUTO_OR_PRESET",
    "TIED_PRESETS",
    "PASS_SOURCE_ONE_OF",
    "NOT_SURE_ENOUGH",
    "CHECK_THE_PROPOSAL",
    "CHECK_THE_PROPOSAL_NAME_THEM",
    "MIXED_IDS",
    "SAY_ROWS_OR_STATES",
    # the wording several errors share; last, so that the longer templates above match first
    "USE_ONE_OF",
    "GUESS_USE_ONE_OF",
    # functions
    "guessed",
]

# --------------------------------------------------------------------------- a mapping file
MAPPING_NOT_UTF8 = N_("a mapping file must be UTF-8 text ({reason} at byte {start})")
SAVE_AS_UTF8 = N_("save it as UTF-8")
MAPPING_NOT_TOML = N_("this is not a valid mapping file (TOML): {error}")
WRITE_AS_IN_DOCS = N_('write it as in docs/mappings.md, e.g. version = 1, then [columns] with "header" = "deal_id"')
NO_MAPPING_FILE = N_("there is no such mapping file")
CHECK_MAPPING_PATH = N_("check the path, or write one with `channelkpi inspect export.csv --save-mapping crm.toml`")
MAPPING_IS_FOLDER = N_("this is a folder, not a mapping file")
NAME_THE_TOML = N_("name the .toml file")
MAPPING_ARGUMENT = N_("mapping= takes a Mapping or the path of a mapping file, not {kind}")
PASS_MAPPING = N_('pass mapping="crm.toml" or ck.propose_mapping(export)')
NOT_A_TABLE = N_("{name} must be a table of keys and values, not {value}")
WRITE_AS_SECTION = N_('write it as a section: [{section}] on its own line, then one "key" = "value" per line')
NOT_IN_QUOTES = N_("{where} must be text in quotes, not {value}")
WRITE_IN_QUOTES = N_("write it in double quotes, e.g. {example}")
UNKNOWN_TOP_KEY = N_("unknown key {key} at the top of the mapping file")
KEYS_ARE = N_("the keys are {keys}")
GUESS_KEYS_ARE = N_("did you mean {guess}? the keys are {keys}")
NO_VERSION = N_("the mapping file has no format version")
ADD_VERSION = N_("add `version = {version}` as its first line")
NOT_A_VERSION = N_("version = {value} is not a format version")
WRITE_VERSION = N_("write `version = {version}`")
NEWER_VERSION = N_(
    "the mapping file is in format version {version}, written by a newer channelkpi; this one reads version {supported}"
)
UPGRADE = N_("upgrade channelkpi (pip install -U channelkpi)")
UNKNOWN_OPTION = N_("unknown key {key} in [options]")
OPTIONS_ARE = N_("the options are {options}")
GUESS_OPTIONS_ARE = N_("did you mean {guess}? the options are {options}")
NOT_TRUE_FALSE = N_("{where} must be true or false, not {value}")
WRITE_DAYFIRST = N_("write dayfirst = true (01/02/2024 is 1 February) or false (2 January), without quotes")
NOT_A_DECIMAL = N_('{where} must be "." or ",", not {value}')
WRITE_DECIMAL = N_('write decimal = "," for amounts such as 1.200,50 or decimal = "." for 1,200.50')
NOT_A_CURRENCY = N_("{where} = {value} is not a currency (an ISO 4217 code)")
WRITE_ISO_CODE = N_('write its three-letter ISO code, e.g. currency = "EUR"')
GUESS_WRITE_ISO_CODE = N_('did you mean {guess}? write its three-letter ISO code, e.g. currency = "EUR"')
NOT_A_PRESET = N_("{where} = {value} is not a CRM preset")
NOT_A_ROLE = N_("[columns] maps {header} to {role}, which is not a canonical column")
USE_ROLE_OR_IGNORE = N_('use one of {roles}, or "" to ignore the header')
GUESS_USE_ROLE_OR_IGNORE = N_('did you mean {guess}? use one of {roles}, or "" to ignore the header')
ROLE_TWICE = N_("[columns] maps both {first} and {second} to {role}")
KEEP_ONE_OF_TWO = N_('keep one of the two; map the other to another column or to "" to ignore it')
NOT_AN_OUTCOME = N_("[stages] reads {value} as {reading}, which is not an outcome")
WRITE_OUTCOME = N_('write "won", "lost" or "open"')
GUESS_WRITE_OUTCOME = N_('did you mean {guess}? write "won", "lost" or "open"')
TWO_READINGS = N_(
    "[stages] reads {first} as {first_reading} and {second} as {second_reading}, and stage values are "
    "matched ignoring case and spacing"
)
KEEP_ONE_READING = N_("keep one reading for the two")
NOT_A_CHANNEL = N_("[channels] sends {value} to {channel}, which is not a channel")
MAPPED_HEADER_GONE = N_(
    "the mapping maps the header {header} to {role}, but {file} has no such header; its headers are {headers}"
)
MAPPED_HEADER_GONE_FILE = N_(
    "the mapping file {origin} maps the header {header} to {role}, but {file} has no such header; "
    "its headers are {headers}"
)
RESPELL_HEADER = N_(
    "write the header as this export spells it under [columns] of the mapping (case and spacing do not "
    'matter), or map it to "" if the export no longer has it'
)
RESPELL_HEADER_FILE = N_(
    "write the header as this export spells it under [columns] of the mapping file {origin} (case and "
    'spacing do not matter), or map it to "" if the export no longer has it'
)

# --------------------------------------------------------------------------- arguments of a load
COLUMNS_UNKNOWN_HEADER = N_("columns= names a header {header} that is not in the file; the headers are {headers}")
USE_HEADER_AS_IN_FIRST_ROW = N_("use a header exactly as it appears in the first row")
COLUMNS_UNKNOWN_ROLE = N_("columns= maps {header} to {role}, which is not a column channelkpi knows")
MAP_TO_ROLE = N_("map it to one of {roles}, or to None to ignore it")
COLUMNS_TWICE = N_("columns= maps both {first} and {second} to {role}")
ONE_HEADER_PER_COLUMN = N_("map one header per column")
KEEP_TAKES = N_("keep={value}: keep takes 'all' or a list of headers")
KEEP_THAT_COLUMN = N_("pass {code} to keep that column, or keep='all'")
KEEP_UNKNOWN = N_("keep= names {header}, which is not a header of the file; the headers are {headers}")
GUESS_KEEP_UNKNOWN = N_(
    "keep= names {header}, which is not a header of the file; did you mean {guess}? the headers are {headers}"
)
NAME_HEADER_AS_IN_FIRST_ROW = N_("name a header exactly as it appears in the first row")
USE_POINT_OR_COMMA = N_('use "." or ","')
FX_NEEDS_CURRENCY = N_("fx= needs the reporting currency")
PASS_CURRENCY_WITH_FX = N_("pass {code} (for example) with fx=")
FX_TABLE_COLUMNS = N_("an fx table needs columns 'currency' and 'rate'; it has {columns}")
RENAME_COLUMNS = N_("rename its columns")
FX_NOT_POSITIVE = N_("fx rates must be positive numbers; see {currencies}")
FIX_THE_RATES = N_("fix the rates")
STAGE_MAP_NOT_OUTCOME = N_("stage_map sends {stage} to {reading}")
MAP_EACH_STAGE = N_("map each stage to one of {statuses}")

# --------------------------------------------------------------------------- targets
TARGETS_UNKNOWN_HEADER = N_("columns= names {header}, which is not in the file; the headers are {headers}")
USE_HEADER_AS_IT_APPEARS = N_("use a header exactly as it appears")
NO_TARGET_COLUMN = N_("no target amount column; the headers are {headers}")
NAME_IT_TARGET = N_("name it 'target' or pass {code}")
TARGET_NOT_AMOUNT = N_("a target is not an amount")
WRITE_TARGETS_AS_NUMBERS = N_("write targets as numbers")
NO_TARGET_DATES = N_("a target period has no readable From/To date")
FILL_BOTH_DATES = N_("fill both dates")
TARGET_PERIOD_UNREADABLE = N_("a target period is not a month, quarter or year")
WRITE_PERIODS = N_("write periods as 2025-Q1, Q1 2025, FY2026 Q1, 2025-03 or 2025, or give From/To columns")
NO_PERIOD_COLUMN = N_("no period column; the headers are {headers}")
ADD_PERIOD_COLUMN = N_("add a 'quarter' column (2025-Q1) or From/To dates, or pass {code}")

# --------------------------------------------------------------------------- values that cannot be read
NO_DATE_READ = N_("no value in this date column could be read as a date")
NO_AMOUNT_READ = N_("no value in this amount column could be read as a number")
MAP_DATE_COLUMN = N_("map the right column with {code}, or export dates as YYYY-MM-DD")
MAP_AMOUNT_COLUMN = N_("map the amount column with {code}")
MIXED_DECIMALS = N_("amounts mix a decimal point and a decimal comma ({point} and {comma})")
ONE_NUMBER_FORMAT = N_("export the column in one number format, or fix the odd values")
MIXED_DATE_ORDERS = N_("dates mix day-first and month-first values ({day_first} and {month_first})")
ONE_DATE_FORMAT = N_("export the column in one date format")
DAYFIRST_BUT_DAY_FIRST = N_("dayfirst={given} but the dates are written day-first")
DAYFIRST_BUT_MONTH_FIRST = N_("dayfirst={given} but the dates are written month-first")
PASS_DAYFIRST = N_("pass dayfirst={evidence} or leave dayfirst unset")
SYMBOL_CLASH = N_("the amount's currency symbol disagrees with the currency column")
FIX_ROW_OR_MAP_ONE = N_("fix the row, or map only one of the two")
CONVERT_SEVERAL = N_(
    "pass {code} (1 unit of each currency in the reporting currency), or use the CRM's converted-amount column"
)
NOT_IN_REPORTING_CURRENCY = N_("the amounts are in {found}, not {reporting}")
CONVERT_OR_KEEP = N_("pass {fx} to convert, or {currency}")
NO_RATE = N_("no exchange rate for {currencies} (rows: {counts})")
ADD_RATES = N_("add them to fx=, e.g. {code}")
LINE_ITEM_CURRENCIES = N_("the line items of deal {deal} are in several currencies {currencies}")
CONVERT_BEFORE_SUMMING = N_("pass fx= and currency= to convert them before they are summed")
STATUS_NOT_OUTCOME = N_("the status column has value(s) {values} that are not open/won/lost")
SAY_WHAT_THEY_MEAN = N_("say what they mean with {code}")
STAGES_UNCLEAR = N_("stage(s) {values} look closed but it is not clear whether they are won or lost")
SAY_WHICH = N_("say which with {code} (or 'won'; one entry per value), or under [stages] in a mapping file")
FLAG_NOT_BOOLEAN = N_("a won/closed flag is neither true nor false")
USE_BOOLEAN_WORDS = N_("use TRUE/FALSE, true/false, 1/0 or yes/no in the flag columns")
WON_FLAG_ONLY = N_("{header} says which deals were won, but nothing says which are closed")
ADD_CLOSED_COLUMN = N_("add the Closed/IsClosed or Stage column to the export")
NO_OUTCOME_COLUMN = N_("no column says whether a deal is open, won or lost; the headers are {headers}")
ADD_OUTCOME_COLUMN = N_(
    "add the Stage or Status column to the export, or pass {code} (values open/won/lost) or 'stage' with stage_map="
)

# --------------------------------------------------------------------------- detection
UNKNOWN_CRM = N_(
    "cannot tell which CRM this export comes from, and it has no status or stage column; the headers are {headers}"
)
PASS_SOURCE_OR_COLUMNS = N_("pass source= one of {presets}, or {code} with stage_map= for a generic table")
UNKNOWN_SOURCE = N_("unknown source {source}")
USE_AUTO_OR_PRESET = N_("use source='auto' or one of {presets}")
TIED_PRESETS = N_("the headers fit several CRMs equally well ({tied}); the headers are {headers}")
PASS_SOURCE_ONE_OF = N_("pass source= one of {presets}")
NOT_SURE_ENOUGH = N_(
    "cannot tell which CRM this export comes from, and its columns are not recognised surely enough by meaning; "
    "still needed: {needs}; the headers are {headers}"
)
CHECK_THE_PROPOSAL = N_(
    "check the proposal, correct it where it is wrong, and pass it to load_crm.\nThe proposal:\n{proposal}"
    "\nThe code to paste (after your corrections):\n{code}"
)
CHECK_THE_PROPOSAL_NAME_THEM = N_(
    "check the proposal, correct it where it is wrong, and pass it to load_crm.\nThe proposal:\n{proposal}"
    "\nNothing is recognised surely enough to paste: name the columns yourself, e.g. {code}"
)
MIXED_IDS = N_(
    "{header} is named like a deal id, but it is not one id per deal: {why}, and reading such rows as one "
    "deal's stage history would merge different deals"
)
SAY_ROWS_OR_STATES = N_(
    "if each row is a deal, pass {ignore} (the rows are numbered); if the rows are one deal's states or parts "
    "after all, pass {as_id}"
)

# --------------------------------------------------------------------------- shared
USE_ONE_OF = N_("use one of {choices}")
GUESS_USE_ONE_OF = N_("did you mean {guess}? use one of {choices}")

#: Every template of this module, in the order of ``__all__``.
SENTENCES = tuple(globals()[name] for name in __all__[1:] if name.isupper())


def guessed(template: str, guess_template: str, guess: str | None, **values: object) -> str:
    """``template`` filled with ``values``, or ``guess_template`` when there is a suggestion.

    >>> guessed(USE_ONE_OF, GUESS_USE_ONE_OF, "'won'", choices="won, lost")
    "did you mean 'won'? use one of won, lost"
    >>> guessed(USE_ONE_OF, GUESS_USE_ONE_OF, None, choices="won, lost")
    'use one of won, lost'
    """
    return guess_template.format(guess=guess, **values) if guess else template.format(**values)
