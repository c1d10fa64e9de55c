"""Step 4, derive the outcome: open, won or lost for every row, and which columns said so.

The columns are asked in order: a status column (``Open``/``Won``/``Lost`` in several
languages), a status reason (Dynamics 365), won/closed flags (Salesforce ``IsWon``/``IsClosed``),
then the stage through the stage map. A row takes the first answer it gets; a stage that itself
says won or lost but disagrees with the status is reported. Every column is read once per
distinct value (:class:`~channelkpi.ingest.cells.Coded`).

Examples
--------
>>> from channelkpi.ingest.reader import read_raw
>>> raw = read_raw(b"Id,Stage\\n1,Closed Won\\n2,Prospecting\\n3,Verbal Commit\\n")
>>> notes = []
>>> outcome = derive_outcome(raw, {"deal_id": "Id", "stage": "Stage"}, {}, notes)
>>> outcome.labels().tolist(), outcome.source
(['won', 'open', 'open'], 'Stage')
>>> notes
["'Stage': stage(s) not in the stage map were taken as open: 'Verbal Commit' (1 row); if one of them is closed, pass stage_map={'Verbal Commit': 'lost'} (or 'won'), or add it under [stages] in a mapping file"]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import ColumnError, ValueParseError
from ..schema import STATUSES
from .cells import Coded
from .meaning_values import read_stage
from .parse import parse_bools
from .presets import DEFAULT_STAGE_MAP, STATUS_WORDS, norm
from .reader import RawTable
from .wording import STAGES_AS_OPEN, STAGES_BY_WORDING
from .wording_errors import (
    ADD_CLOSED_COLUMN,
    ADD_OUTCOME_COLUMN,
    FLAG_NOT_BOOLEAN,
    MAP_EACH_STAGE,
    NO_OUTCOME_COLUMN,
    SAY_WHAT_THEY_MEAN,
    SAY_WHICH,
    STAGE_MAP_NOT_OUTCOME,
    STAGES_UNCLEAR,
    STATUS_NOT_OUTCOME,
    USE_BOOLEAN_WORDS,
    WON_FLAG_ONLY,
)
from .wording_notes import STATUS_CLASH

__all__ = ["NONE", "OUTCOME_ROLES", "Outcome", "check_stage_map", "derive_outcome", "start_outcome"]

NONE = -1  #: the status code of a row no column decided
_CODE = {s: i for i, s in enumerate(STATUSES)}  # open 0, won 1, lost 2: the schema's category codes
OPEN, WON, LOST = _CODE["open"], _CODE["won"], _CODE["lost"]
_DELETED = ("deleted", "gelöscht", "supprimé")
#: Roles that say the outcome, in order of precedence.
OUTCOME_ROLES = ("status", "status_reason", "won_flag", "closed_flag", "stage")


@dataclass(frozen=True)
class Outcome:
    """The outcome of every row of a raw table."""

    status: np.ndarray  #: int8 per row: a position in ``schema.STATUSES``, or -1 for none
    deleted: np.ndarray  #: bool per row: the status column says the CRM deleted the deal
    source: str  #: the headers that decided, e.g. "Status then Stage" ("none" if none did)

    def labels(self) -> pd.Series:
        """The status of each row as text (NaN where none)."""
        return pd.Series(np.array([*STATUSES, np.nan], dtype=object)[self.status])

    def rows(self, name: str) -> np.ndarray:
        """True for the rows whose status is ``name``."""
        return self.status == _CODE[name]


def start_outcome(raw: RawTable, roles: dict[str, str]) -> None:
    """Begin reading the outcome columns in the raw table's pool (see ``Cells.start``); a status
    reason is read only if the status leaves rows open to it."""
    for role in OUTCOME_ROLES:
        if role in roles and not (role == "status_reason" and "status" in roles):
            raw.cells.start_coded(roles[role])


def check_stage_map(stage_map: Mapping[str, str] | None) -> dict[str, str]:
    """``stage_map=`` with normalised keys, each value checked to be open, won or lost."""
    out = {}
    for k, v in (stage_map or {}).items():
        val = str(v).strip().lower()
        if val not in STATUSES:
            raise ValueParseError(
                STAGE_MAP_NOT_OUTCOME.format(stage=repr(k), reading=repr(v)),
                value=v,
                fix=MAP_EACH_STAGE.format(statuses=list(STATUSES)),
            )
        out[norm(k)] = val
    return out


def _codes(per_value: pd.Series) -> np.ndarray:
    """Status words (or missing) to status codes."""
    return np.array([_CODE.get(v, NONE) if isinstance(v, str) else NONE for v in per_value], np.int8)


def _keys(coded: Coded) -> pd.Series:
    return pd.Series([norm(v) if not pd.isna(v) else np.nan for v in coded.values], dtype=object)


def _from_words(
    coded: Coded, stage_map: dict[str, str], header: str, raw: RawTable, *, strict: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Map status words. Returns (status code per row, deleted per row)."""
    keys = _keys(coded)
    out = pd.Series([stage_map.get(k) or STATUS_WORDS.get(k) if isinstance(k, str) else None for k in keys])
    deleted = keys.isin(_DELETED).to_numpy()
    unknown = (keys.notna() & out.isna()).to_numpy() & ~deleted
    rows_unknown = coded.take(unknown)
    if strict and rows_unknown.any():
        first = np.flatnonzero(rows_unknown)[0]
        vals = sorted({v for v, u in zip(coded.values, unknown) if u})[:8]
        raise ValueParseError(
            STATUS_NOT_OUTCOME.format(values=vals),
            file=raw.file,
            row=int(raw.rows[first]),
            column=header,
            value=coded.values.iloc[coded.codes[first]],
            fix=SAY_WHAT_THEY_MEAN.format(
                code="stage_map={" + ", ".join(f"{v!r}: 'won'|'lost'|'open'" for v in vals[:2]) + "}"
            ),
        )
    return coded.take(_codes(out)), coded.take(deleted)


def _from_stage(
    coded: Coded, stage_map: dict[str, str], header: str, raw: RawTable, need: np.ndarray, warnings: list[str]
) -> np.ndarray:
    """Map stages through the stage map, then by their wording; the rest are open.

    ``need`` marks the rows no other column decided: only they raise errors and warnings.
    """
    keys = _keys(coded)
    known = {**DEFAULT_STAGE_MAP, **{k: v for k, v in STATUS_WORDS.items() if v != "open"}, **stage_map}
    out = keys.map(known).astype(object)
    unknown = keys.notna() & out.isna()
    if unknown.any():
        # each value the map does not name is read by its meaning (won and lost words in four
        # languages, "Closed - ..." without an outcome), once per distinct value
        why: dict[int, str] = {}
        unclear = np.zeros(len(keys), bool)
        for j in np.flatnonzero(unknown.to_numpy()):
            reading, reason = read_stage(coded.values.iloc[j])
            if reading in ("won", "lost"):
                out.iloc[j], why[j] = reading, reason
            elif reading is None:
                unclear[j] = True
        rows_closed = coded.take(unclear) & need
        if rows_closed.any():
            first = np.flatnonzero(rows_closed)[0]
            vals = sorted({coded.values.iloc[j] for j in np.unique(coded.codes[rows_closed])})[:8]
            raise ValueParseError(
                STAGES_UNCLEAR.format(values=vals),
                file=raw.file,
                row=int(raw.rows[first]),
                column=header,
                value=coded.values.iloc[coded.codes[first]],
                fix=SAY_WHICH.format(code=f"stage_map={{{vals[0]!r}: 'lost'}}"),
            )
        guessed = coded.take(unknown & out.notna()) & need
        if guessed.any():
            counts = coded.subset(guessed).to_series().value_counts()
            codes = {coded.values.iloc[j]: j for j in np.unique(coded.codes[guessed])}
            warnings.append(
                STAGES_BY_WORDING.format(
                    header=repr(header),
                    stages=", ".join(
                        f"{v!r} -> {out.iloc[codes[v]]} ({_rows(n)}; {why[codes[v]]})"
                        for v, n in counts.head(8).items()
                    ),
                )
            )
        rest = unknown & out.isna()
        out[rest] = "open"
        rows_rest = coded.take(rest) & need
        if rows_rest.any():
            counts = coded.subset(rows_rest).to_series().value_counts()
            warnings.append(
                STAGES_AS_OPEN.format(
                    header=repr(header),
                    stages=", ".join(f"{k!r} ({_rows(v)})" for k, v in counts.head(8).items()),
                    argument=f"stage_map={{{counts.index[0]!r}: 'lost'}}",
                )
            )
    return coded.take(_codes(out))


def _rows(n: int) -> str:
    return f"{n:,} row" + "s" * (n != 1)


def _from_flags(raw: RawTable, roles: dict[str, str]) -> tuple[str, np.ndarray]:
    """Status from won (and closed) flags: (label of the columns, status code per row)."""
    won_coded = raw.cells.coded(roles["won_flag"])
    won_values, won_bad = parse_bools(won_coded.values)
    won, bad_w = _flag_rows(won_coded, won_values, won_bad)
    closed = None
    if "closed_flag" in roles:
        closed_coded = raw.cells.coded(roles["closed_flag"])
        closed_values, closed_bad = parse_bools(closed_coded.values)
        closed, bad_c = _flag_rows(closed_coded, closed_values, closed_bad)
        bad_w = bad_w | bad_c
    if bad_w.any():
        i = np.flatnonzero(bad_w)[0]
        hdr = roles["won_flag"] if not (closed is not None and bad_c[i]) else roles["closed_flag"]
        raise ValueParseError(
            FLAG_NOT_BOOLEAN,
            file=raw.file,
            row=int(raw.rows[i]),
            column=hdr,
            value=raw.cells[hdr].iloc[i],
            fix=USE_BOOLEAN_WORDS,
        )
    s = np.full(len(raw), NONE, np.int8)
    if closed is not None:
        s[(closed == 1) & (won == 1)] = WON
        s[(closed == 1) & (won == 0)] = LOST
        s[closed == 0] = OPEN
    else:
        s[won == 1] = WON
    label = roles["won_flag"] + (f"/{roles['closed_flag']}" if closed is not None else "")
    return label, s


def _flag_rows(coded: Coded, values: pd.Series, bad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: 1 true, 0 false, -1 unknown; and unreadable."""
    per_value = np.where(values.isna(), -1, values.fillna(False).astype(bool).astype(np.int8)).astype(np.int8)
    return coded.take(per_value), coded.take(bad)


def derive_outcome(raw: RawTable, roles: dict[str, str], stage_map: dict[str, str], warnings: list[str]) -> Outcome:
    """The status of every row, from the columns mapped to status, status_reason, won_flag,
    closed_flag and stage (in that order of precedence).

    Raises
    ------
    ValueParseError
        For a status value that is not open/won/lost, a stage that looks closed but is neither
        won nor lost, or a flag that is neither true nor false (naming row, column and value).
    ColumnError
        When no column says whether a deal is open, won or lost.
    """
    n = len(raw)
    status = np.full(n, NONE, np.int8)
    deleted = np.zeros(n, bool)
    used: list[str] = []
    sources: list[tuple[str, np.ndarray]] = []
    if "status" in roles:
        s, deleted = _from_words(raw.cells.coded(roles["status"]), stage_map, roles["status"], raw, strict=True)
        sources.append((roles["status"], s))
    if "status_reason" in roles and ("status" not in roles or (sources[0][1] == NONE).any()):
        # a finer outcome read only for rows without a status; it raises nothing and warns
        # about nothing, so when the status says every row it need not be read at all
        header = roles["status_reason"]
        s, _ = _from_words(raw.cells.coded(header), stage_map, header, raw, strict=False)
        sources.append((header, s))
    if "won_flag" in roles:
        sources.append(_from_flags(raw, roles))
    for label, s in sources:
        take = (status == NONE) & (s != NONE)
        status[take] = s[take]
        if take.any():
            used.append(label)
    if "stage" in roles:
        header = roles["stage"]
        stages = raw.cells.coded(header)
        s = _from_stage(stages, stage_map, header, raw, status == NONE, warnings)
        if sources:
            # only a stage that itself says won or lost can contradict the status
            clash = (status != NONE) & ((s == WON) | (s == LOST)) & (status != s)
            if clash.any():
                ex = np.flatnonzero(clash)[0]
                warnings.append(
                    STATUS_CLASH.format(
                        count=int(clash.sum()),
                        header=repr(header),
                        other=repr(used[0] if used else sources[0][0]),
                        row=int(raw.rows[ex]),
                        stage=repr(stages.values.iloc[stages.codes[ex]]),
                        status=STATUSES[status[ex]],
                    )
                )
        take = (status == NONE) & (s != NONE)
        status[take] = s[take]
        if take.any():
            used.append(header)
    if "won_flag" in roles and "closed_flag" not in roles and "stage" not in roles and "status" not in roles:
        # only a won flag: false means not won, which is open or lost; unknowable
        raise ColumnError(
            WON_FLAG_ONLY.format(header=repr(roles["won_flag"])),
            file=raw.file,
            fix=ADD_CLOSED_COLUMN,
        )
    if not used and not sources and "stage" not in roles:
        raise ColumnError(
            NO_OUTCOME_COLUMN.format(headers=raw.headers[:40]),
            file=raw.file,
            fix=ADD_OUTCOME_COLUMN.format(code="columns={'their header': 'status'}"),
        )
    return Outcome(status, deleted, " then ".join(used) or "none")
