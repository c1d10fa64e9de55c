"""``load_crm``: a CRM export in, the canonical deals table and its reconciliation ledger out."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from ..channels import classify_sources
from ..errors import ChannelKPIError, ColumnError, CurrencyError, DetectionError, ValueParseError
from ..schema import CHANNELS, DIRECT_PARTNER, STATUSES, validate_deals
from .parse import normalize_currency, parse_amounts, parse_bools, parse_dates
from .presets import (
    BY_NAME,
    DEFAULT_STAGE_MAP,
    DEFAULT_STAGE_PROBABILITY,
    GENERIC,
    PRESETS,
    ROLES,
    STATUS_WORDS,
    Preset,
    norm,
)
from .reader import RawTable, Source, read_raw

__all__ = ["LoadResult", "SourceInfo", "load_crm", "read_crm", "LEDGER_COLUMNS"]

_STR = pd.StringDtype(na_value=np.nan)
# literal characters (not \\u escapes) so that both pyarrow's RE2 and Python's re accept them
_ODD_SPACE = "  |[\t\n\r\u00a0\u2007\u202f\u2009]"
_NON_ASCII = r"[^\x00-\x7f]"

Grain = Literal["auto", "line_items", "stage_history"]
#: What repeated deal ids may be: see ``load_crm(grain=)``.
GRAINS = ("auto", "line_items", "stage_history")

#: Columns of :attr:`LoadResult.ledger`.
LEDGER_COLUMNS = ("row", "outcome", "reason", "detail", "deal_id")
_TODAY = pd.Timestamp.today().normalize()
SourceName = Literal[
    "auto", "salesforce_report", "salesforce_api", "hubspot", "pipedrive", "dynamics365", "zoho", "generic"
]


@dataclass(frozen=True)
class SourceInfo:
    """Which preset read the file, why, and which header fed each canonical column."""

    preset: str
    label: str
    reason: str
    columns: Mapping[str, str] = field(default_factory=dict)  #: role -> header in the file
    kind: str = ""  #: file kind, e.g. "CSV (comma)"
    encoding: str | None = None

    def __str__(self) -> str:
        return f"{self.label} [{self.preset}]: {self.reason}"


@dataclass
class LoadResult:
    """What :func:`load_crm` returns.

    Attributes
    ----------
    deals : pandas.DataFrame
        The canonical deals table (see :mod:`channelkpi.schema`), one row per deal.
    ledger : pandas.DataFrame
        One row per input row that was not kept one-to-one: ``row`` (its number in the file as
        a spreadsheet shows it), ``outcome`` (``rejected`` or ``merged``), ``reason``,
        ``detail`` and ``deal_id``.
    source : SourceInfo
        The preset chosen and why.
    warnings : list of str
        Everything worth knowing about the load that did not stop it.
    """

    deals: pd.DataFrame
    ledger: pd.DataFrame
    source: SourceInfo
    warnings: list[str]
    file: str
    rows_read: int
    blank_rows: int = 0

    def summary(self) -> dict:
        """Counts that reconcile: ``rows_read == kept + merged + rejected``.

        ``kept`` rows became one deal each; ``merged`` rows were folded into a kept deal
        (line items, repeated rows); ``rejected`` rows are not deals (footers, rows without id
        and outcome), each listed in :attr:`ledger` with its reason.
        """
        merged = int((self.ledger["outcome"] == "merged").sum())
        rejected = int((self.ledger["outcome"] == "rejected").sum())
        status = self.deals["status"].value_counts()
        return {
            "file": self.file,
            "source": self.source.preset,
            "rows_read": self.rows_read,
            "kept": len(self.deals),
            "merged": merged,
            "rejected": rejected,
            "deals": len(self.deals),
            "open": int(status.get("open", 0)),
            "won": int(status.get("won", 0)),
            "lost": int(status.get("lost", 0)),
            "blank_rows_skipped": self.blank_rows,
            "warnings": len(self.warnings),
        }

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"<LoadResult {s['file']!r} via {s['source']}: {s['rows_read']} rows read -> "
            f"{s['kept']} kept, {s['merged']} merged, {s['rejected']} rejected; "
            f"{s['won']} won, {s['lost']} lost, {s['open']} open; {s['warnings']} warning(s)>"
        )


# --------------------------------------------------------------------------- helpers
def _rows_text(rows: np.ndarray, values: pd.Series | None = None, limit: int = 5) -> str:
    parts = []
    for i, r in enumerate(rows[:limit]):
        parts.append(f"row {int(r)}" + (f" {str(values.iloc[i])[:40]!r}" if values is not None else ""))
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return ", ".join(parts) + more


def _map_unique(values: pd.Series, func) -> pd.Series:
    """``values.map(func)`` computed once per distinct value (exports repeat values a lot)."""
    uniq = pd.unique(values.dropna())
    lookup = {u: func(u) for u in uniq}
    return values.map(lookup)


def _clean_strings(values: pd.Series, label: str, warnings: list[str]) -> pd.Series:
    """Text with single spaces, blanks as missing, mojibake (``CafÃ©``) repaired."""
    if isinstance(values.dtype, pd.StringDtype):
        text = values.str.strip()
        runs = text.str.contains(_ODD_SPACE, regex=True).fillna(False).to_numpy(bool)
        if runs.any():  # rare: only then pay for the replacement
            text[runs] = text[runs].str.replace(r"\s+", " ", regex=True)
    else:
        text = _map_unique(values.astype(object), _cell_text).astype(_STR)
    text = text.where(text != "")
    # mojibake always has non-ASCII characters: only those values are worth a closer look
    suspect = text.str.contains(_NON_ASCII, regex=True).fillna(False).to_numpy(bool)
    uniq = pd.unique(text[suspect].dropna())
    if len(uniq):
        from ftfy import fix_encoding
        from ftfy.badness import is_bad

        fixes = {u: fix_encoding(u) for u in uniq if is_bad(u)}
        fixes = {k: v for k, v in fixes.items() if v != k}
        if fixes:
            hit = text.isin(list(fixes))
            text = text.where(~hit, text.map(fixes))
            ex_from, ex_to = next(iter(fixes.items()))
            warnings.append(
                f"{label}: repaired garbled characters in {int(hit.sum())} value(s), "
                f"e.g. {ex_from[:40]!r} -> {ex_to[:40]!r}"
            )
    return text


def _cell_text(v: object) -> str:
    if isinstance(v, float):
        if np.isnan(v):
            return ""
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return re.sub(r"\s+", " ", str(v)).strip()


# --------------------------------------------------------------------------- mapping
def _choose_preset(headers: list[str], source: str, columns: Mapping | None, file: str) -> tuple[Preset, str]:
    normed = [norm(h) for h in headers]
    if source != "auto":
        preset = BY_NAME.get(source)
        if preset is None:
            raise DetectionError(
                f"unknown source {source!r}",
                file=file,
                fix=f"use source='auto' or one of {sorted(BY_NAME)}",
            )
        return preset, f"source={source!r} was given"
    scores = sorted(((p.score(normed), p) for p in PRESETS), key=lambda t: -t[0])
    best_score, best = scores[0]
    second_score, second = scores[1]
    if best_score == 0:
        if _generic_can_read(normed, columns):
            return GENERIC, "no CRM-specific headers; read by canonical/common column names"
        raise DetectionError(
            "cannot tell which CRM this export comes from, and it has no status or stage column; "
            f"the headers are {headers[:30]}",
            file=file,
            fix="pass source= one of "
            f"{[p.name for p in PRESETS]}, or columns={{'their header': 'status'|'stage'|...}} "
            "with stage_map= for a generic table",
        )
    if best_score == second_score:
        tied = [p.name for s, p in scores if s == best_score]
        raise DetectionError(
            f"the headers fit several CRMs equally well ({', '.join(tied)}); the headers are {headers[:30]}",
            file=file,
            fix=f"pass source= one of {tied}",
        )
    hits = [
        h for h, n in zip(headers, normed) if n in best.signature or (best.prefixes and n.startswith(best.prefixes))
    ]
    return best, f"headers {', '.join(repr(h) for h in hits[:4])} match the {best.label}"


def _generic_can_read(normed: list[str], columns: Mapping | None) -> bool:
    targets = {str(v) for v in (columns or {}).values() if v}
    keys = set(normed)
    if targets & {"status", "stage", "won_flag"}:
        return True
    return any(h in keys for role in ("status", "stage", "won_flag") for h in GENERIC.candidates(role))


def _map_columns(raw: RawTable, preset: Preset, columns: Mapping | None) -> tuple[dict[str, str], list[str]]:
    """Return role -> header and the headers the user asked to ignore."""
    headers = list(raw.headers)
    by_norm: dict[str, str] = {}
    for h in headers:
        by_norm.setdefault(norm(h), h)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    ignored: list[str] = []
    for their, role in (columns or {}).items():
        header = their if their in headers else by_norm.get(norm(their))
        if header is None:
            raise ColumnError(
                f"columns= names a header {their!r} that is not in the file; the headers are {headers[:40]}",
                file=raw.file,
                column=str(their),
                fix="use a header exactly as it appears in the first row",
            )
        if role is None:
            ignored.append(header)
            used.add(header)
            continue
        if role not in ROLES:
            raise ColumnError(
                f"columns= maps {their!r} to {role!r}, which is not a column channelkpi knows",
                file=raw.file,
                column=str(their),
                value=role,
                fix=f"map it to one of {list(ROLES)}, or to None to ignore it",
            )
        if role in mapping:
            raise ColumnError(
                f"columns= maps both {mapping[role]!r} and {header!r} to {role!r}",
                file=raw.file,
                fix="map one header per column",
            )
        mapping[role] = header
        used.add(header)
    for role in ROLES:
        if role in mapping:
            continue
        for cand in preset.candidates(role):
            header = by_norm.get(cand)
            if header is not None and header not in used:
                mapping[role] = header
                used.add(header)
                break
    # the currency that goes with the chosen amount ("Amount Currency", "Amount (Converted) Currency")
    if "amount" in mapping and preset.currency_suffix and "currency" not in (columns or {}).values():
        companion = by_norm.get(norm(mapping["amount"]) + preset.currency_suffix)
        if companion:
            if "currency" in mapping and mapping["currency"] != companion:
                used.discard(mapping["currency"])
            mapping["currency"] = companion
    return mapping, ignored


# --------------------------------------------------------------------------- outcome
def _status_from_words(
    values: pd.Series, stage_map: dict[str, str], header: str, raw: RawTable, *, strict: bool
) -> tuple[pd.Series, pd.Series]:
    """Map status words. Returns (status or NaN, deleted mask)."""
    keys = _map_unique(values, norm)
    out = _map_unique(keys, lambda k: stage_map.get(k) or STATUS_WORDS.get(k))
    deleted = keys.isin(["deleted", "gelöscht", "supprimé"])
    unknown = keys.notna() & out.isna() & ~deleted
    if strict and unknown.any():
        first = np.flatnonzero(unknown.to_numpy())[0]
        vals = sorted(values[unknown].unique())[:8]
        raise ValueParseError(
            f"the status column has value(s) {vals} that are not open/won/lost",
            file=raw.file,
            row=int(raw.rows[first]),
            column=header,
            value=values.iloc[first],
            fix="say what they mean with stage_map={"
            + ", ".join(f"{v!r}: 'won'|'lost'|'open'" for v in vals[:2])
            + "}",
        )
    return out, deleted


def _status_from_stage(
    stages: pd.Series, stage_map: dict[str, str], header: str, raw: RawTable, need: pd.Series, warnings: list[str]
) -> pd.Series:
    keys = _map_unique(stages, norm)
    known = {**DEFAULT_STAGE_MAP, **{k: v for k, v in STATUS_WORDS.items() if v != "open"}, **stage_map}
    out = keys.map(known).astype(object)
    unknown = keys.notna() & out.isna()
    if unknown.any():
        words = keys[unknown]
        won_like = words.str.contains(r"\b(?:won|win|gewonnen|gagn)", regex=True)
        lost_like = words.str.contains(r"\b(?:lost|lose|verloren|perdu|dead|disqualified)", regex=True)
        out[unknown & won_like & ~lost_like] = "won"
        out[unknown & lost_like & ~won_like] = "lost"
        closed_like = unknown & words.str.contains(r"\bclosed?\b|\bcancel", regex=True) & out.isna()
        if (closed_like & need).any():
            first = np.flatnonzero((closed_like & need).to_numpy())[0]
            vals = sorted(stages[closed_like & need].unique())[:8]
            raise ValueParseError(
                f"stage(s) {vals} look closed but it is not clear whether they are won or lost",
                file=raw.file,
                row=int(raw.rows[first]),
                column=header,
                value=stages.iloc[first],
                fix="pass stage_map={" + ", ".join(f"{v!r}: 'won'|'lost'" for v in vals[:2]) + "}",
            )
        guessed = unknown & out.notna() & need
        if guessed.any():
            pairs = sorted({(s, o) for s, o in zip(stages[guessed], out[guessed])})[:6]
            warnings.append(
                f"{header!r}: read stage(s) by their wording: "
                + ", ".join(f"{s!r} -> {o}" for s, o in pairs)
                + " (pass stage_map= if that is wrong)"
            )
        rest = unknown & out.isna()
        out[rest] = "open"
        if (rest & need).any():
            counts = stages[rest & need].value_counts()
            warnings.append(
                f"{header!r}: stage(s) not in the stage map were taken as open: "
                + ", ".join(f"{k!r} ({v} rows)" for k, v in counts.head(8).items())
                + " (pass stage_map={'stage': 'won'|'lost'} for closed ones)"
            )
    return out


def _derive_status(
    cols: dict[str, pd.Series], mapping: dict[str, str], stage_map: dict[str, str], raw: RawTable, warnings: list[str]
) -> tuple[pd.Series, pd.Series, str]:
    status = pd.Series(np.nan, index=raw.frame.index, dtype=object)
    deleted = pd.Series(False, index=raw.frame.index)
    used = []
    sources: list[tuple[str, pd.Series]] = []
    if "status" in mapping:
        s, deleted = _status_from_words(cols["status"], stage_map, mapping["status"], raw, strict=True)
        sources.append((mapping["status"], s))
    if "status_reason" in mapping:
        s, _ = _status_from_words(cols["status_reason"], stage_map, mapping["status_reason"], raw, strict=False)
        sources.append((mapping["status_reason"], s))
    if "won_flag" in mapping:
        won, bad_w = parse_bools(cols["won_flag"])
        closed = None
        if "closed_flag" in mapping:
            closed, bad_c = parse_bools(cols["closed_flag"])
            bad_w = bad_w | bad_c
        if bad_w.any():
            i = np.flatnonzero(bad_w)[0]
            hdr = mapping["won_flag"] if not (closed is not None and bad_c[i]) else mapping["closed_flag"]
            raise ValueParseError(
                "a won/closed flag is neither true nor false",
                file=raw.file,
                row=int(raw.rows[i]),
                column=hdr,
                value=raw.frame[hdr].iloc[i],
                fix="use TRUE/FALSE, true/false, 1/0 or yes/no in the flag columns",
            )
        s = pd.Series(np.nan, index=raw.frame.index, dtype=object)
        if closed is not None:
            s[(closed == True) & (won == True)] = "won"  # noqa: E712 (nullable booleans)
            s[(closed == True) & (won == False)] = "lost"  # noqa: E712
            s[closed == False] = "open"  # noqa: E712
        else:
            s[won == True] = "won"  # noqa: E712
        label = mapping["won_flag"] + (f"/{mapping['closed_flag']}" if closed is not None else "")
        sources.append((label, s))
    need = pd.Series(True, index=raw.frame.index)
    for label, s in sources:
        take = status.isna() & s.notna()
        status[take] = s[take]
        if take.any():
            used.append(label)
    if "stage" in mapping:
        need = status.isna()
        s = _status_from_stage(cols["stage"], stage_map, mapping["stage"], raw, need, warnings)
        if sources:
            # only a stage that itself says won or lost can contradict the status
            clash = status.notna() & s.isin(["won", "lost"]) & (status != s)
            if clash.any():
                ex = np.flatnonzero(clash.to_numpy())[0]
                warnings.append(
                    f"{int(clash.sum())} row(s) where {mapping['stage']!r} disagrees with "
                    f"{used[0] if used else sources[0][0]!r}; used the latter "
                    f"(e.g. row {int(raw.rows[ex])}: stage {cols['stage'].iloc[ex]!r} but {status.iloc[ex]})"
                )
        take = status.isna() & s.notna()
        status[take] = s[take]
        if take.any():
            used.append(mapping["stage"])
    if "won_flag" in mapping and "closed_flag" not in mapping and "stage" not in mapping and "status" not in mapping:
        # only a won flag: false means not won, which is open or lost; unknowable
        raise ColumnError(
            f"{mapping['won_flag']!r} says which deals were won, but nothing says which are closed",
            file=raw.file,
            fix="add the Closed/IsClosed or Stage column to the export",
        )
    if not used and not sources and "stage" not in mapping:
        raise ColumnError(
            f"no column says whether a deal is open, won or lost; the headers are {raw.headers[:40]}",
            file=raw.file,
            fix="add the Stage or Status column to the export, or pass "
            "columns={'their header': 'status'} (values open/won/lost) or 'stage' with stage_map=",
        )
    return status, deleted, " then ".join(used) or "none"


# --------------------------------------------------------------------------- main
def load_crm(
    path_or_buffer: Source,
    *,
    source: SourceName = "auto",
    columns: Mapping[str, str | None] | None = None,
    stage_map: Mapping[str, str] | None = None,
    channel_map: Mapping[str, str] | None = None,
    dayfirst: bool | None = None,
    currency: str | None = None,
    fx: Mapping[str, float] | pd.DataFrame | None = None,
    sheet: str | int | None = None,
    tz: str | None = None,
    max_bytes: int | None = None,
    grain: Grain = "auto",
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
    progress : callable, optional
        Called with a short message as each step of a long load starts (the command line
        prints them).

    Returns
    -------
    LoadResult
        ``.deals``, ``.ledger``, ``.source``, ``.warnings`` and ``.summary()``.

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
    """
    say = progress or (lambda _message: None)
    if grain not in GRAINS:
        raise ChannelKPIError(f"grain={grain!r}", fix=f"use one of {list(GRAINS)}")
    raw = read_raw(path_or_buffer, sheet=sheet, max_bytes=max_bytes)
    file = raw.file
    warnings = list(raw.notes)
    preset, reason = _choose_preset(raw.headers, source, columns, file)
    say(f"{len(raw.frame):,} rows split into {len(raw.headers)} columns; reading them as a {preset.label}")
    mapping, ignored = _map_columns(raw, preset, columns)
    stage_map_n = _check_stage_map(stage_map)
    frame = raw.frame
    n = len(frame)
    # the reader already made empty and whitespace-only cells missing
    cols = {role: frame[h] for role, h in mapping.items()}
    ledger: list[tuple[int, str, str, str, object]] = [
        (r, "rejected", reason_, detail, None) for r, reason_, detail in raw.rejected
    ]
    dropped = [
        h
        for h in raw.headers
        if preset.drop_prefixes and norm(h).startswith(preset.drop_prefixes) and h not in mapping.values()
    ]
    if dropped:
        warnings.append(f"ignored {len(dropped)} re-import bookkeeping column(s): {dropped}")

    # ---- outcome
    status, deleted, status_from = _derive_status(cols, mapping, stage_map_n, raw, warnings)

    # ---- ids
    if "deal_id" in mapping:
        ids = _clean_strings(cols["deal_id"], mapping["deal_id"], warnings)
        if ids.dropna().str.fullmatch(r"\d(?:\.\d+)?E\+\d+", case=False).any():
            warnings.append(
                f"{mapping['deal_id']!r}: some ids look like Excel scientific notation "
                "(e.g. 4.87688E+18); such ids lose digits and may no longer be unique"
            )
    else:
        ids = pd.Series(np.nan, index=frame.index, dtype=object)
        warnings.append(
            "no deal id column (looked for "
            + ", ".join(repr(h) for h in preset.candidates("deal_id")[:4])
            + "); each row is one deal with an id made from its row number, so line items "
            "cannot be merged (pass columns={'their id header': 'deal_id'} if there is one)"
        )
    empty_row = ids.isna() & status.isna()
    rejected_mask = pd.Series(False, index=frame.index)
    for i in np.flatnonzero((ids.isna() & status.isna()).to_numpy()):
        ledger.append((int(raw.rows[i]), "rejected", "not_a_deal", "no id and no status/stage", None))
    rejected_mask |= empty_row
    no_status = ids.notna() & status.isna() & ~deleted
    for i in np.flatnonzero(no_status.to_numpy()):
        ledger.append(
            (
                int(raw.rows[i]),
                "rejected",
                "no_status",
                f"the status/stage cells are empty ({status_from} decide open/won/lost)",
                ids.iloc[i],
            )
        )
    rejected_mask |= no_status
    for i in np.flatnonzero((deleted & ~rejected_mask).to_numpy()):
        ledger.append((int(raw.rows[i]), "rejected", "deleted", "the CRM marks this deal as deleted", ids.iloc[i]))
    rejected_mask |= deleted
    made = ids.isna() & ~rejected_mask
    if made.any():
        ids = ids.copy()
        ids[made] = [f"row {int(r)}" for r in raw.rows[made.to_numpy()]]
        if "deal_id" in mapping:
            warnings.append(
                f"{int(made.sum())} row(s) without a {mapping['deal_id']!r} were kept with ids "
                f"made from their row number ({_rows_text(raw.rows[made.to_numpy()])})"
            )

    # ---- dates
    dates: dict[str, pd.Series] = {}
    for role in ("created", "closed", "expected_close", "close_date", "won_time", "lost_time"):
        if role in mapping:
            dates[role] = _parse_date_column(cols[role], mapping[role], raw, dayfirst, tz, warnings)
    closed = dates.get("closed", pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")).copy()
    if "won_time" in dates:
        closed = closed.where(closed.notna() | (status != "won"), dates["won_time"])
    if "lost_time" in dates:
        closed = closed.where(closed.notna() | (status != "lost"), dates["lost_time"])
    if "close_date" in dates:
        closed = closed.where(closed.notna() | ~status.isin(["won", "lost"]), dates["close_date"])
    expected = dates.get("expected_close", pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")).copy()
    if "close_date" in dates:
        expected = expected.where(expected.notna() | (status != "open"), dates["close_date"])
    open_with_close = (status == "open") & closed.notna() & ~rejected_mask
    if open_with_close.any():
        warnings.append(
            f"{int(open_with_close.sum())} open deal(s) carry a close date; it was dropped "
            f"because an open deal has not closed ({_rows_text(raw.rows[open_with_close.to_numpy()])})"
        )
        closed = closed.where(status != "open")
    created = dates.get("created", pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]"))

    # ---- amounts and currency
    amount, cur = _amounts(cols, mapping, status, raw, warnings)
    amount, cur = _convert_currency(amount, cur, currency, fx, raw, rejected_mask, warnings)

    # ---- probability
    prob = _probability(cols, mapping, status, raw, warnings)

    # ---- strings
    out = pd.DataFrame(index=frame.index)
    out["deal_id"] = ids
    for role in ("partner", "owner", "department", "unit", "source", "stage"):
        out[role] = (
            _clean_strings(cols[role], mapping[role], warnings)
            if role in mapping
            else pd.Series(np.nan, index=frame.index, dtype=object)
        )
    out["partner"] = out["partner"].fillna(DIRECT_PARTNER)
    out["channel"] = _channels(out, cols, mapping, channel_map, rejected_mask, warnings)
    out["status"] = status
    out["created"] = created
    out["closed"] = closed
    out["expected_close"] = expected
    out["amount"] = amount
    out["currency"] = cur
    out["probability"] = prob
    if "stage" in mapping and "probability" not in mapping:
        default_p = _map_unique(out["stage"], lambda s: DEFAULT_STAGE_PROBABILITY.get(norm(s)))
        fill = out["probability"].isna() & (out["status"] == "open")
        out.loc[fill, "probability"] = default_p[fill].astype(float)
    out.loc[out["probability"].isna() & (out["status"] == "won"), "probability"] = 1.0
    out.loc[out["probability"].isna() & (out["status"] == "lost"), "probability"] = 0.0

    keep = ~rejected_mask.to_numpy()
    out = out[keep]
    rows_kept = raw.rows[keep]
    raw_kept = frame[keep]

    # ---- one row per deal
    say("values read; reconciling rows into deals")
    out, merged_entries = _merge_duplicates(out, raw_kept, rows_kept, warnings, grain)
    ledger.extend(merged_entries)

    _quality_warnings(out, warnings)
    _check_footer_count(raw, len(out) + sum(1 for e in ledger if e[1] == "merged"), warnings)

    deals = validate_deals(out.reset_index(drop=True), name=file)
    ledger_df = pd.DataFrame(ledger, columns=list(LEDGER_COLUMNS)).sort_values("row", kind="stable")
    ledger_df = ledger_df.astype({"row": "int64", "outcome": "str", "reason": "str", "detail": "str", "deal_id": "str"})
    info = SourceInfo(
        preset=preset.name,
        label=preset.label,
        reason=reason + f"; outcome from {status_from}" + (f"; {preset.note}" if preset.note else ""),
        columns=dict(mapping),
        kind=raw.kind,
        encoding=raw.encoding,
    )
    if ignored:
        warnings.append(f"ignored column(s) as asked: {ignored}")
    result = LoadResult(
        deals=deals,
        ledger=ledger_df.reset_index(drop=True),
        source=info,
        warnings=warnings,
        file=file,
        rows_read=n + len(raw.rejected),
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

    Examples
    --------
    >>> read_crm(b"Id,StageName,IsClosed,IsWon,Amount\\n006A,Closed Won,TRUE,TRUE,10\\n")[["deal_id", "status", "amount"]]
      deal_id status  amount
    0    006A    won    10.0
    """
    return load_crm(path_or_buffer, **options).deals


def _check_stage_map(stage_map: Mapping[str, str] | None) -> dict[str, str]:
    out = {}
    for k, v in (stage_map or {}).items():
        val = str(v).strip().lower()
        if val not in STATUSES:
            raise ValueParseError(
                f"stage_map sends {k!r} to {v!r}",
                value=v,
                fix=f"map each stage to one of {list(STATUSES)}",
            )
        out[norm(k)] = val
    return out


def _read_column(values: pd.Series, header: str, raw: RawTable, warnings: list[str], parse, *, what: str, fix: str):
    """Run a column parser and turn what it could not read into located errors and warnings.

    A parser's own error gets the file, row and column; a column where nothing is readable is
    an error (it is the wrong column, or in a format channelkpi does not know); a few unreadable
    values are left empty and listed by row in a warning.
    """
    try:
        parsed = parse(values)
    except ValueParseError as exc:
        row = None
        if exc.value is not None:
            hit = np.flatnonzero(values.astype(str).str.strip().to_numpy() == str(exc.value).strip())
            row = int(raw.rows[hit[0]]) if len(hit) else None
        raise ValueParseError(
            exc.problem, file=raw.file, row=row, column=header, value=exc.value, fix=exc.fix
        ) from None
    if parsed.bad.any():
        if parsed.bad.sum() == values.notna().sum():
            i = np.flatnonzero(parsed.bad)[0]
            noun = "number" if what == "amount" else what
            raise ValueParseError(
                f"no value in this {what} column could be read as a {noun}",
                file=raw.file,
                row=int(raw.rows[i]),
                column=header,
                value=values.iloc[i],
                fix=fix,
            )
        warnings.append(
            f"{header!r}: {int(parsed.bad.sum())} value(s) are not {what}s and were left empty "
            f"({_rows_text(raw.rows[parsed.bad], values[parsed.bad])})"
        )
    for note in parsed.notes:
        warnings.append(f"{header!r}: {note}")
    return parsed


def _parse_date_column(values: pd.Series, header: str, raw: RawTable, dayfirst, tz, warnings) -> pd.Series:
    parsed = _read_column(
        values,
        header,
        raw,
        warnings,
        lambda v: parse_dates(v, dayfirst=dayfirst, tz=tz),
        what="date",
        fix="map the right column with columns={'their date header': '...'}, or export dates as YYYY-MM-DD",
    )
    if parsed.out_of_range is not None and parsed.out_of_range.any():
        warnings.append(
            f"{header!r}: {int(parsed.out_of_range.sum())} date(s) outside 1678-2261 (placeholders "
            f"such as 9999-12-31?) were left empty ({_rows_text(raw.rows[parsed.out_of_range], values[parsed.out_of_range])})"
        )
    if parsed.ambiguous:
        warnings.append(
            f"{header!r}: every date fits both day-first and month-first; read as "
            f"{'day' if parsed.dayfirst else 'month'}-first (pass dayfirst={not parsed.dayfirst} if wrong)"
        )
    return parsed.values


def _amounts(cols, mapping, status, raw: RawTable, warnings) -> tuple[pd.Series, pd.Series]:
    index = raw.frame.index
    amount = pd.Series(np.nan, index=index)
    inline = pd.Series(np.nan, index=index, dtype=object)

    def parse(role):
        return _read_column(
            cols[role],
            mapping[role],
            raw,
            warnings,
            parse_amounts,
            what="amount",
            fix="map the amount column with columns={'their amount header': 'amount'}",
        )

    if "amount" in mapping:
        p = parse("amount")
        amount, inline = p.values, p.currency
    if "won_amount" in mapping:
        p = parse("won_amount")
        won = status == "won"
        fallback = won & p.values.isna() & amount.notna()
        amount = amount.where(~won | p.values.isna(), p.values)
        inline = inline.where(~won | p.currency.isna(), p.currency)
        if fallback.any():
            warnings.append(
                f"{int(fallback.sum())} won deal(s) have no {mapping['won_amount']!r}; used "
                f"{mapping.get('amount', 'the estimate')!r} instead"
            )
        lost_est = (status == "lost") & amount.notna()
        if lost_est.any():
            warnings.append(
                f"lost deals are valued at {mapping.get('amount')!r} (the value that was at stake); "
                f"won deals at {mapping['won_amount']!r}"
            )
    if "currency" in mapping:
        cur = _map_unique(cols["currency"], normalize_currency)
        cur = cur.where(cur.notna(), inline)
        clash = inline.notna() & cols["currency"].notna() & (inline != cur)
        if clash.any():
            i = np.flatnonzero(clash.to_numpy())[0]
            raise ValueParseError(
                "the amount's currency symbol disagrees with the currency column",
                file=raw.file,
                row=int(raw.rows[i]),
                column=mapping["currency"],
                value=f"{cols['amount'].iloc[i]} vs {cols['currency'].iloc[i]}",
                fix="fix the row, or map only one of the two",
            )
    else:
        cur = inline
    return amount.astype(float), cur


def _convert_currency(amount, cur, currency, fx, raw: RawTable, rejected, warnings):
    reporting = normalize_currency(currency) if currency else None
    has = amount.notna() & ~rejected
    present = cur[has].dropna()
    counts = present.value_counts()
    codes = list(counts.index)
    if fx is None:
        if len(codes) > 1:
            raise CurrencyError(
                "amounts are in several currencies ("
                + ", ".join(f"{c}: {k} rows" for c, k in counts.items())
                + ") and would be summed as if they were one",
                file=raw.file,
                fix="pass currency='USD', fx={'EUR': 1.08, ...} (1 unit of each currency in the "
                "reporting currency), or use the CRM's converted-amount column",
            )
        if reporting and codes and codes[0] != reporting:
            raise CurrencyError(
                f"the amounts are in {codes[0]}, not {reporting}",
                file=raw.file,
                fix=f"pass fx={{'{codes[0]}': <rate>}} to convert, or currency='{codes[0]}'",
            )
        if reporting:
            cur = cur.where(cur.notna() | amount.isna(), reporting)
        return amount, cur
    if not reporting:
        raise CurrencyError(
            "fx= needs the reporting currency", file=raw.file, fix="pass currency='USD' (for example) with fx="
        )
    if isinstance(fx, pd.DataFrame):
        if not {"currency", "rate"} <= set(fx.columns):
            raise CurrencyError(
                f"an fx table needs columns 'currency' and 'rate'; it has {list(fx.columns)}",
                fix="rename its columns",
            )
        rates = {normalize_currency(c): float(r) for c, r in zip(fx["currency"], fx["rate"])}
    else:
        rates = {normalize_currency(c): float(r) for c, r in fx.items()}
    rates[reporting] = 1.0
    bad_rate = [c for c, r in rates.items() if not np.isfinite(r) or r <= 0]
    if bad_rate:
        raise CurrencyError(f"fx rates must be positive numbers; see {bad_rate}", fix="fix the rates")
    missing = [c for c in codes if c not in rates]
    if missing:
        raise CurrencyError(
            f"no exchange rate for {missing} (rows: {', '.join(f'{c}: {counts[c]}' for c in missing)})",
            file=raw.file,
            fix=f"add them to fx=, e.g. fx={{'{missing[0]}': <1 {missing[0]} in {reporting}>}}",
        )
    no_cur = has & cur.isna()
    if no_cur.any():
        warnings.append(f"{int(no_cur.sum())} amount(s) without a currency were taken as {reporting}")
        cur = cur.where(~no_cur, reporting)
    factor = cur.map(rates).astype(float)
    converted = amount * factor.fillna(1.0)
    if len(codes) > 1 or (codes and codes[0] != reporting):
        warnings.append(
            f"converted amounts to {reporting} with fx rates "
            + ", ".join(f"{c}={rates[c]}" for c in codes if c != reporting)
        )
    return converted, cur


def _probability(cols, mapping, status, raw, warnings) -> pd.Series:
    index = raw.frame.index
    if "probability" not in mapping:
        return pd.Series(np.nan, index=index)
    header = mapping["probability"]
    raw_vals = _map_unique(
        cols["probability"].astype(object), lambda v: v.replace("%", "") if isinstance(v, str) else v
    )
    parsed = parse_amounts(raw_vals)
    p = parsed.values
    percent = (
        "%" in header
        or (p.max() > 1 if p.notna().any() else False)
        or cols["probability"].astype(str).str.contains("%").any()
    )
    if percent:
        p = p / 100.0
    bad = (p < 0) | (p > 1)
    if bad.any() or parsed.bad.any():
        mask = bad.to_numpy() | parsed.bad
        warnings.append(
            f"{header!r}: {int(mask.sum())} probability value(s) outside 0-100 % or unreadable were "
            f"left empty ({_rows_text(raw.rows[mask], cols['probability'][mask])})"
        )
        p = p.where(~bad)
    return p


def _channels(out, cols, mapping, channel_map, rejected, warnings) -> pd.Series:
    from ..channels import DEFAULT_CHANNEL_MAP, normalize_source

    if "channel" in mapping:
        # a channel column may hold the segments themselves or source-like values
        given = _map_unique(cols["channel"], norm)
        seg = given.where(given.isin(CHANNELS), classify_sources(cols["channel"], channel_map=channel_map).to_numpy())
        return seg.astype(object)
    if "source" not in mapping:
        return pd.Series("unknown", index=out.index, dtype=object)
    seg = classify_sources(out["source"], channel_map=channel_map)
    seg.index = out.index
    known = set(DEFAULT_CHANNEL_MAP) | {normalize_source(k) for k in (channel_map or {})}
    mapped = _map_unique(out["source"], lambda v: normalize_source(v) in known).fillna(True).astype(bool)
    unmapped = out["source"][(seg == "other") & ~rejected & ~mapped]
    if len(unmapped):
        counts = unmapped.value_counts()
        warnings.append(
            f"{mapping['source']!r}: source(s) not in the channel map were counted as 'other': "
            + ", ".join(f"{k!r} ({v})" for k, v in counts.head(8).items())
            + (f" and {len(counts) - 8} more" if len(counts) > 8 else "")
            + " (pass channel_map={'source': 'paid'|'earned'|'owned'|'partner'} to place them)"
        )
    return seg.astype(object)


_STATUS_RANK = {"won": 0, "lost": 1, "open": 2}


def _is_stage_history(multi: pd.DataFrame) -> bool:
    """Most repeated deals have rows in different stages: successive states, not line items."""
    if not len(multi):
        return False
    return bool((multi.groupby("deal_id", sort=False)["stage"].nunique(dropna=True) > 1).mean() > 0.5)


def _merge_history(rows: pd.DataFrame, entries, warnings) -> pd.DataFrame:
    """One row per deal from its history rows: the state entered last.

    A history row's created date is when that state was entered, so the latest one wins; rows
    of the same day prefer a closed state, then the later close date, then the later row. The
    deal's created date is its first state's, and a missing partner, owner, ... comes from the
    latest row that has one.
    """
    order = rows.assign(_closed_state=rows["status"].isin(["won", "lost"])).sort_values(
        ["deal_id", "created", "_closed_state", "closed", "_row"], na_position="first", kind="stable"
    )
    latest = order.drop_duplicates("deal_id", keep="last").set_index("deal_id")
    by_deal = order.groupby("deal_id", sort=False)
    latest["created"] = by_deal["created"].min()
    for c in ("partner", "owner", "department", "unit", "source", "channel"):
        latest[c] = latest[c].fillna(by_deal[c].last())  # GroupBy.last skips missing values
    latest = latest.drop(columns="_closed_state").reset_index()
    earlier = order[~order.index.isin(order.drop_duplicates("deal_id", keep="last").index)]
    kept_row = latest.set_index("deal_id")["_row"]
    entries.extend(
        (
            int(r),
            "merged",
            "stage_history",
            f"an earlier state of deal {i!r} (stage {st!r}); its latest state is row {int(kept_row[i])}",
            i,
        )
        for r, i, st in zip(earlier["_row"], earlier["deal_id"], earlier["stage"], strict=True)
    )
    if len(earlier):
        warnings.append(
            f"{len(earlier)} row(s) are earlier states of {len(latest)} deal(s): the rows of a repeated deal id have "
            "different stages, so the file was read as stage history and each deal's latest state kept, "
            "amounts not summed (see the ledger); pass grain='line_items' if the rows are parts of one deal"
        )
    return latest


def _merge_duplicates(out: pd.DataFrame, raw_kept: pd.DataFrame, rows: np.ndarray, warnings, grain: str = "auto"):
    entries: list[tuple[int, str, str, str, object]] = []
    dup = out["deal_id"].duplicated(keep=False).to_numpy()
    if not dup.any():
        return out, entries
    out = out.copy()
    out["_row"] = rows
    out["_sig"] = ""
    # a row's signature is all its cells as exported: equal signatures are exact repeats
    out.loc[dup, "_sig"] = ["\x1f".join(map(str, cells)) for cells in raw_kept[dup].itertuples(index=False, name=None)]
    d = out[dup]
    exact_drop = d.duplicated(["deal_id", "_sig"], keep="first")
    if exact_drop.any():
        first_row = d.groupby(["deal_id", "_sig"], sort=False)["_row"].transform("first")
        entries.extend(
            (int(r), "merged", "duplicate_row", f"identical to row {int(first)}; counted once", i)
            for r, first, i in zip(
                d.loc[exact_drop, "_row"], first_row[exact_drop], d.loc[exact_drop, "deal_id"], strict=True
            )
        )
    d = d[~exact_drop]
    size = d.groupby("deal_id", sort=False)["deal_id"].transform("size")
    singles_left, multi = d[size == 1], d[size > 1]
    if grain == "stage_history" or (grain == "auto" and _is_stage_history(multi)):
        parts = [out[~dup], singles_left]
        if len(multi):
            parts.append(_merge_history(multi, entries, warnings))
        out = pd.concat(parts).sort_values("_row", kind="stable")
        _dup_warning(entries, warnings)
        return out.drop(columns=["_row", "_sig"]), entries
    parts, conflicts = [out[~dup], singles_left], []
    if len(multi):
        merged, conflicts = _merge_line_items(multi, entries)
        parts.append(merged)
        warnings.append(
            f"{len(multi) - len(merged)} row(s) repeat a deal id with other values: read as line items of "
            f"{len(merged)} deal(s), amounts summed (see the ledger)"
        )
    out = pd.concat(parts).sort_values("_row", kind="stable")
    _dup_warning(entries, warnings)
    if conflicts:
        ex = "; ".join(f"{i!r} (row {r}): {s} -> {b}" for i, s, b, r in conflicts[:5])
        warnings.append(
            f"{len(conflicts)} deal(s) have rows with conflicting statuses, resolved won > lost > open: {ex}"
        )
    return out.drop(columns=["_row", "_sig"]), entries


def _merge_line_items(multi: pd.DataFrame, entries) -> tuple[pd.DataFrame, list]:
    """One row per deal from its line items: amounts summed, the earliest created date, the
    latest close dates, the first value of the other columns, and the status won > lost > open
    (with the deals whose items disagree, to report)."""
    by_deal = multi.groupby("deal_id", sort=False)
    several = by_deal["currency"].nunique()
    if (several > 1).any():
        deal_id = several[several > 1].index[0]
        g = multi[multi["deal_id"] == deal_id]
        raise CurrencyError(
            f"the line items of deal {deal_id!r} are in several currencies {sorted(g['currency'].dropna().unique())}",
            row=int(g["_row"].iloc[0]),
            fix="pass fx= and currency= to convert them before they are summed",
        )
    merged = multi.drop_duplicates("deal_id", keep="first").set_index("deal_id")
    merged["amount"] = by_deal["amount"].sum(min_count=1)
    merged["created"] = by_deal["created"].min()
    merged["closed"] = by_deal["closed"].max()
    merged["expected_close"] = by_deal["expected_close"].max()
    for c in ("partner", "owner", "department", "unit", "source", "stage", "currency", "channel"):
        merged[c] = by_deal[c].first()  # the first value that is there (GroupBy.first skips missing ones)
    rank = multi["status"].astype(str).map(_STATUS_RANK)
    best = multi.loc[rank.groupby(multi["deal_id"], sort=False).idxmin(), ["deal_id", "status"]].set_index("deal_id")[
        "status"
    ]
    statuses = by_deal["status"].unique()
    conflicts = [
        (i, sorted(map(str, statuses[i])), str(best[i]), int(merged.at[i, "_row"]))
        for i in statuses.index[by_deal["status"].nunique() > 1]
    ]
    merged["status"] = best
    merged = merged.reset_index()
    into = merged.set_index("deal_id")["_row"]
    later = multi[multi.duplicated("deal_id", keep="first")]
    entries.extend(
        (int(r), "merged", "line_item", f"line item of deal {i!r}, summed into row {int(into[i])}", i)
        for r, i in zip(later["_row"], later["deal_id"], strict=True)
    )
    return merged, conflicts


def _dup_warning(entries, warnings) -> None:
    n_dups = sum(1 for e in entries if e[2] == "duplicate_row")
    if n_dups:
        warnings.append(f"{n_dups} row(s) are exact repeats of an earlier row and were counted once")


def _quality_warnings(out: pd.DataFrame, warnings: list[str]) -> None:
    before = out["closed"].notna() & out["created"].notna() & (out["closed"] < out["created"])
    if before.any():
        warnings.append(
            f"{int(before.sum())} deal(s) closed before they were created; kept, and excluded "
            f"from cycle-length KPIs (e.g. {', '.join(map(repr, out.loc[before, 'deal_id'].head(3)))})"
        )
    closed_no_date = out["status"].isin(["won", "lost"]) & out["closed"].isna()
    if closed_no_date.any():
        warnings.append(
            f"{int(closed_no_date.sum())} won/lost deal(s) have no close date; period KPIs exclude them (no_close_date)"
        )
    for col in ("created", "closed", "expected_close"):
        d = out[col]
        early = d < pd.Timestamp("1990-01-01")
        late = d > _TODAY + pd.DateOffset(years=10)
        if early.any():
            warnings.append(f"{col}: {int(early.sum())} date(s) before 1990 (earliest {d.min().date()})")
        if late.any():
            warnings.append(f"{col}: {int(late.sum())} date(s) more than 10 years ahead (latest {d.max().date()})")
    neg = out["amount"] < 0
    if neg.any():
        warnings.append(
            f"{int(neg.sum())} deal(s) have a negative amount (e.g. {', '.join(map(repr, out.loc[neg, 'deal_id'].head(3)))})"
        )
    huge = out["amount"].abs() > 1e11
    if huge.any():
        warnings.append(
            f"{int(huge.sum())} deal(s) have an amount above 100 billion (e.g. {out.loc[huge, 'deal_id'].iloc[0]!r})"
        )
    no_amount_won = (out["status"] == "won") & out["amount"].isna()
    if no_amount_won.any():
        warnings.append(f"{int(no_amount_won.sum())} won deal(s) have no amount; value KPIs exclude them (no_amount)")


def _check_footer_count(raw: RawTable, data_rows: int, warnings: list[str]) -> None:
    for _, reason, detail in raw.rejected:
        m = re.search(r"\((\d[\d,.]*) records?\)", detail, re.IGNORECASE)
        if reason == "footer" and m:
            stated = int(re.sub(r"[,.]", "", m.group(1)))
            if stated != data_rows:
                warnings.append(
                    f"the footer says {stated} records but {data_rows} data rows were read: "
                    "the export may be cut off or filtered"
                )
