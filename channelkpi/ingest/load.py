"""``load_crm``: a CRM export in, the canonical deals table and its reconciliation ledger out.

Loading is a pipeline of seven steps, each in its own module:

1. read (:mod:`.reader`): the file into a raw table of cells, each row with its number;
2. detect (:mod:`.detect`): which CRM wrote it, from the headers;
3. map (:mod:`.mapping`): which header feeds each canonical column;
4. outcome (:mod:`.outcome`): open, won or lost for every row;
5. values (:mod:`.values`): dates, amounts, currencies, probabilities and text;
6. reconcile (:mod:`.reconcile`): which rows are deals, and one row per deal;
7. quality (:mod:`.quality`): warnings about values that are readable but suspicious.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Literal

import pandas as pd

from ..errors import ChannelKPIError
from .detect import SourceName, detect_reading
from .dimensions import join_dimension
from .fitting import checked_identity, fitted_columns
from .keep import kept_fields
from .mapfile import Mapping as ExportMapping
from .mapfile import load_mapping
from .mapping import map_columns
from .outcome import check_stage_map, derive_outcome, start_outcome
from .presets import GENERIC, Preset
from .quality import footer_count_warning, quality_warnings
from .reader import Source, read_raw
from .reconcile import reconcile_rows, screen_rows, start_screening
from .repeats import GRAINS, Grain
from .result import LEDGER_COLUMNS, LoadResult, SourceInfo
from .values import read_values, start_values
from .wording_errors import USE_ONE_OF, USE_POINT_OR_COMMA
from .wording_notes import (
    BOOKKEEPING,
    CUSTOM_BY_MEANING,
    CUSTOM_WITH_FILE,
    CUSTOM_WITH_MAPPING,
    NOT_READ_ASKED,
    NOT_READ_MAPPING,
    PROGRESS_RECONCILING,
    PROGRESS_SPLIT,
)

__all__ = ["load_crm", "read_crm"]


#: The arguments of ``load_crm`` a mapping can give, in the order ``load_crm`` unpacks them.
_MAPPED = ("source", "columns", "stage_map", "channel_map", "dayfirst", "decimal", "currency")

_AHEAD_ROWS = 50_000  # shorter tables are read in the time it takes to start a thread


def _quiet(_message: str) -> None:
    pass


@contextmanager
def _working_ahead(
    raw,
    roles: dict[str, str],
    *,
    dayfirst: bool | None,
    tz: str | None,
    kept: Mapping[str, str],
    decimal: str | None,
) -> Iterator[None]:
    """Let background threads read the mapped columns ahead of the steps, which still take
    every result (and every error and warning) in their own order."""
    workers = min(2, os.cpu_count() or 1)
    if len(raw) < _AHEAD_ROWS or workers < 1:
        yield
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="channelkpi-load") as pool, raw.cells.working_ahead(pool):
        start_outcome(raw, roles)
        start_screening(raw, roles)
        start_values(raw, roles, dayfirst=dayfirst, tz=tz, kept=kept, decimal=decimal)
        yield


def load_crm(
    path_or_buffer: Source,
    *,
    source: SourceName = "auto",
    mapping: ExportMapping | str | os.PathLike | None = None,
    columns: Mapping[str, str | None] | None = None,
    stage_map: Mapping[str, str] | None = None,
    channel_map: Mapping[str, str] | None = None,
    dayfirst: bool | None = None,
    decimal: Literal[".", ","] | None = None,
    currency: str | None = None,
    fx: Mapping[str, float] | pd.DataFrame | None = None,
    sheet: str | int | None = None,
    tz: str | None = None,
    max_bytes: int | None = None,
    grain: Grain = "auto",
    keep: str | Sequence[str] | None = None,
    partners: str | os.PathLike | pd.DataFrame | None = None,
    owners: str | os.PathLike | pd.DataFrame | None = None,
    progress: Callable[[str], None] | None = None,
) -> LoadResult:
    """Load a CRM export into the canonical deals table, accounting for every row.

    Parameters
    ----------
    path_or_buffer : str, path, bytes or binary file
        A CSV (comma, semicolon, tab, pipe; UTF-8 with or without BOM, UTF-16, Windows-1252)
        or ``.xlsx`` export.
    source : str, default "auto"
        The CRM preset: ``"salesforce_report"``, ``"salesforce_api"``, ``"hubspot"``,
        ``"pipedrive"``, ``"dynamics365"``, ``"zoho"`` or ``"generic"``. ``"auto"`` decides from
        the headers and says why in :attr:`LoadResult.source`.
    mapping : Mapping or path, optional
        A :class:`~channelkpi.ingest.mapfile.Mapping` (as ``propose_mapping`` returns it) or
        the path of a mapping file it was saved to (``crm.toml``, see ``docs/mappings.md``):
        the columns, stage and channel readings, date order, decimal separator, currency and
        preset to read the export with. Arguments given explicitly win: ``columns=``,
        ``stage_map=`` and ``channel_map=`` are merged into the mapping's key by key.
    columns : dict, optional
        ``{"their header": "canonical name"}`` for headers the preset does not know (or
        ``None`` to ignore a header). Besides the canonical names, ``"close_date"`` (actual for
        closed deals, expected for open ones), ``"won_flag"`` and ``"closed_flag"`` are accepted.
    stage_map : dict, optional
        ``{"their stage or status": "won" | "lost" | "open"}``, applied before the defaults.
    channel_map : dict, optional
        ``{"their source": "paid" | "earned" | "owned" | "partner" | "other"}``, applied before
        :data:`channelkpi.channels.DEFAULT_CHANNEL_MAP`.
    dayfirst : bool, optional
        Read ``01/02/2024`` as 1 February. By default each date column is decided from values
        that fit only one order; a column where none does is read month-first (``/``) or
        day-first (``.``) with a warning.
    decimal : {".", ","}, optional
        The decimal separator of the amount columns (``","`` reads ``1.200`` as 1200). By
        default each column is decided from the values that show it (``1.200,50``, ``12,5``).
    currency : str, optional
        The reporting currency (ISO code). Required with ``fx``.
    fx : dict or DataFrame, optional
        Exchange rates into ``currency``: ``{"EUR": 1.08}`` means 1 EUR = 1.08 ``currency``; a
        DataFrame needs columns ``currency`` and ``rate``. Without it, amounts in several
        currencies are an error, never summed.
    sheet : str or int, optional
        The sheet of an ``.xlsx`` workbook (default: the first).
    tz : str, optional
        Time zone that timestamps with an offset are converted to before taking the date.
    max_bytes : int, optional
        Refuse larger inputs (used by the dashboard's upload).
    grain : {"auto", "line_items", "stage_history"}
        What rows that repeat a deal id with other values are. ``"line_items"``: parts of one
        deal (products), amounts summed. ``"stage_history"``: the deal's successive states (a
        Salesforce OpportunityHistory export), the latest kept and nothing summed. ``"auto"``
        reads them as stage history when most repeated deals have rows with different stages.
    keep : "all" or list of str, optional
        Export columns to keep as text columns of the deals (your own fields: a region, a
        product family), which then group and filter like any level (``by=``, ``where=``).
        Each is named by its header in snake case (``"Product Family"`` is
        ``product_family``; a name already taken gets ``_2``, with a warning). ``"all"``
        keeps every column that feeds no canonical column. A header that is not in the file
        is an error that names the closest ones.
    partners : path, bytes or DataFrame, optional
        A partner table (CSV or xlsx): a ``partner`` column and any others (``tier``,
        ``region``, a ``signed`` date). Its text columns join the deals by partner name and
        become levels (``by="tier"``); names that match only ignoring case, spacing or accents
        take the table's spelling, deals whose partner the table lacks are listed, two rows
        for one partner are an error (see :mod:`channelkpi.ingest.dimensions`). Kept as
        :attr:`LoadResult.partners`; partners with no deals show with zero counts when the
        result itself is passed to a KPI function.
    owners : path, bytes or DataFrame, optional
        An owner table: an ``owner`` column and e.g. ``department``, ``unit``, ``manager``,
        joined the same way (:attr:`LoadResult.owners`). Its ``department`` and ``unit``
        fill the canonical columns where the export has no value; the export's value wins
        where it has one.
    progress : callable, optional
        Called with a short message as each step of a long load starts (the command line
        prints them).

    Returns
    -------
    LoadResult
        ``.deals``, ``.ledger``, ``.source``, ``.warnings``, ``.partners``, ``.owners`` and
        ``.summary()``.

    Raises
    ------
    ChannelKPIError
        (a ``ValueError``) naming the file, row, column, value and the fix, for anything that
        cannot be read correctly.

    Examples
    --------
    >>> csv = b'''Deal ID,Partner,Status,Amount,Close Date
    ... D1,Acme,Won,200,2024-03-01
    ... D2,Acme,Won,400,2024-03-09
    ... D3,Globex,Lost,"1,000",2024-03-15
    ... D4,Globex,Open,50,2024-06-30
    ... '''
    >>> result = load_crm(csv)
    >>> result.deals[["deal_id", "partner", "status", "amount", "closed", "expected_close"]]
      deal_id partner status  amount     closed expected_close
    0      D1    Acme    won   200.0 2024-03-01            NaT
    1      D2    Acme    won   400.0 2024-03-09            NaT
    2      D3  Globex   lost  1000.0 2024-03-15            NaT
    3      D4  Globex   open    50.0        NaT     2024-06-30
    >>> {k: result.summary()[k] for k in ("rows_read", "kept", "merged", "rejected")}
    {'rows_read': 4, 'kept': 4, 'merged': 0, 'rejected': 0}

    Your own fields, and a partner table:

    >>> csv = b'''Deal ID,Deal Name,Partner,Status,Amount,Close Date,Region
    ... D1,Roof,Acme,Won,200,2024-03-01,North
    ... D2,Wall,acme,Lost,400,2024-03-09,South
    ... '''
    >>> tiers = pd.DataFrame({"partner": ["Acme", "Globex"], "tier": ["gold", "silver"]})
    >>> result = load_crm(csv, keep=["Region"], partners=tiers)
    >>> result.deals[["deal_id", "name", "partner", "region", "tier"]]
      deal_id  name partner region  tier
    0      D1  Roof    Acme  North  gold
    1      D2  Wall    Acme  South  gold
    >>> result.partners["partner"].tolist()
    ['Acme', 'Globex']
    """
    say = progress or _quiet
    if grain not in GRAINS:
        raise ChannelKPIError(f"grain={grain!r}", fix=USE_ONE_OF.format(choices=list(GRAINS)))
    if decimal not in (None, ".", ","):
        raise ChannelKPIError(f"decimal={decimal!r}", fix=USE_POINT_OR_COMMA)
    used, asked = (None if mapping is None else load_mapping(mapping)), source
    if used is not None:  # the arguments given win over the mapping's
        given = dict(source=source, columns=columns, stage_map=stage_map, channel_map=channel_map, dayfirst=dayfirst)
        merged = used.load_arguments(**given, decimal=decimal, currency=currency)
        source, columns, stage_map, channel_map, dayfirst, decimal, currency = (merged[k] for k in _MAPPED)
    raw = read_raw(path_or_buffer, sheet=sheet, max_bytes=max_bytes)
    warnings = list(raw.notes)
    columns = fitted_columns(used, raw, columns)
    given = dict(columns or {})
    # an export no preset knows is read by meaning: its columns, stage map and date order
    reading = detect_reading(raw, source=source, columns=columns, stage_map=stage_map, dayfirst=dayfirst)
    preset, columns, stage_map, dayfirst = reading.preset, *reading.arguments
    currency = reading.currency if currency is None and fx is None else currency  # "Betrag (EUR)"
    warnings.extend(reading.notes)
    reason, label = _described(reading, used, asked)
    say(PROGRESS_SPLIT.format(count=f"{len(raw):,}", columns=len(raw.headers), label=label))
    mapped = map_columns(raw, preset, columns)
    if preset is GENERIC and reading.mapping is None:
        mapped = checked_identity(raw, mapped, given, warnings, origin=used.origin if used is not None else None)
    kept = kept_fields(raw.headers, keep, mapped.roles, raw.file, warnings, skip=[*mapped.ignored, *mapped.dropped])
    stages = check_stage_map(stage_map)
    if mapped.dropped:
        warnings.append(BOOKKEEPING.format(count=len(mapped.dropped), headers=mapped.dropped))
    reading_options = dict(dayfirst=dayfirst, tz=tz, kept=kept, decimal=decimal)
    with _working_ahead(raw, mapped.roles, **reading_options):
        outcome = derive_outcome(raw, mapped.roles, stages, warnings)
        screened = screen_rows(raw, mapped.roles, outcome, _id_headers(preset), warnings)
        values = read_values(
            raw, mapped.roles, outcome, screened.rejected, currency=currency, fx=fx, channel_map=channel_map,
            warnings=warnings, **reading_options,
        )  # fmt: skip
        say(PROGRESS_RECONCILING)
        lines: list[pd.DataFrame] = []
        deals, merged = reconcile_rows(raw, screened, values, outcome, grain=grain, warnings=warnings, lines=lines)
    tables = {}
    for key, table in (("partner", partners), ("owner", owners)):
        if table is not None:
            deals, tables[key] = join_dimension(deals, table, key, warnings)
    quality_warnings(deals, warnings)
    footer_count_warning(raw, len(deals) + len(merged), warnings)
    if mapped.ignored:
        warnings.append((NOT_READ_MAPPING if used else NOT_READ_ASKED).format(headers=mapped.ignored))
    source_info = SourceInfo(
        preset=preset.name,
        label=label,
        reason=reason + f"; outcome from {outcome.source}" + (f"; {preset.note}" if preset.note else ""),
        columns=dict(mapped.roles),
        kind=raw.kind,
        encoding=raw.encoding,
    )
    result = _result(raw, deals, [*screened.ledger, *merged], source_info, warnings)
    result.partners, result.owners = tables.get("partner"), tables.get("owner")
    result.lines = lines[0] if lines else None
    return result


def _described(reading, used: ExportMapping | None, asked: str) -> tuple[str, str]:
    """Why the export is read with its preset, and the label that names how (a custom export
    read with a mapping or by meaning is not called a "generic table")."""
    preset, reason, label = reading.preset, reading.reason, reading.preset.label
    if used is not None:
        reason = (
            f"the preset {preset.name!r} the mapping names" if asked == "auto" else reason
        ) + f"; {_mapping_note(used)}"
    if preset is GENERIC and (used is not None or reading.mapping is not None):
        if used is None:
            label = CUSTOM_BY_MEANING
        elif used.origin:
            label = CUSTOM_WITH_FILE.format(file=repr(os.path.basename(used.origin)))
        else:
            label = CUSTOM_WITH_MAPPING
    return reason, label


def _mapping_note(mapping: ExportMapping) -> str:
    where = f"the mapping file {mapping.origin!r}" if mapping.origin else "the mapping given"
    return f"columns, stages and options from {where}"


def _id_headers(preset: Preset) -> str:
    return ", ".join(repr(h) for h in preset.candidates("deal_id")[:4])


def _result(raw, deals: pd.DataFrame, entries: list, info: SourceInfo, warnings: list[str]) -> LoadResult:
    """The result, with every row the reader set aside and every entry of the steps in its
    ledger (sorted by row), after checking that every row is accounted for."""
    ledger = [(r, "rejected", why, detail, None) for r, why, detail in raw.rejected] + entries
    frame = pd.DataFrame(ledger, columns=list(LEDGER_COLUMNS)).sort_values("row", kind="stable")
    frame = frame.astype({"row": "int64", "outcome": "str", "reason": "str", "detail": "str", "deal_id": "str"})
    result = LoadResult(
        deals=deals,
        ledger=frame.reset_index(drop=True),
        source=info,
        warnings=warnings,
        file=raw.file,
        rows_read=len(raw) + len(raw.rejected),
        blank_rows=raw.blank_rows,
    )
    s = result.summary()
    if s["rows_read"] != s["kept"] + s["merged"] + s["rejected"]:  # pragma: no cover - invariant
        raise RuntimeError(f"ledger does not balance: {s}")
    return result


def read_crm(path_or_buffer: Source, **options) -> pd.DataFrame:
    """Load a CRM export and return just the canonical deals table.

    Takes the same arguments as :func:`load_crm`; use that when you want the ledger and
    warnings too.

    Parameters
    ----------
    path_or_buffer : str, Path, bytes or file-like
        The export (CSV, TSV or Excel).
    **options
        Any option of :func:`load_crm` (``source``, ``currency``, ``dayfirst`` ...).

    Returns
    -------
    pandas.DataFrame
        The canonical deals table (``load_crm(...).deals``).

    Examples
    --------
    >>> read_crm(b"Id,StageName,IsClosed,IsWon,Amount\\n006A,Closed Won,TRUE,TRUE,10\\n")[["deal_id", "status", "amount"]]
      deal_id status  amount
    0    006A    won    10.0
    """
    return load_crm(path_or_buffer, **options).deals
