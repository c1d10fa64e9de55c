"""Step 2, detect: which CRM an export comes from, read from its headers.

Each preset (:mod:`.presets`) lists headers only its CRM writes; the preset with the most of
them wins, a tie is an error that lists the candidates, and a table with none of them is read
by canonical and common header names when it has a status or stage column.

A table no preset knows is read by meaning (:mod:`.meaning`, :func:`detect_reading`): when
the proposal is sure of an id (or each row is a deal) and of the outcome, the file loads with
a warning that prints the mapping to paste; otherwise a :class:`~channelkpi.errors.DetectionError`
holds the proposal. Columns recognised by meaning are added to a table read by common names
only where those leave a column unmapped, and a deal id taken by its common name must hold one
id per deal. A preset that one of its headers selected but that finds no outcome column gives
way to recognition by meaning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from ..errors import DetectionError
from . import mapfile
from .identity import mixed_deals
from .mapfile import OUTCOME_ROLES
from .mapping import map_columns
from .meaning import confirm, propose
from .presets import BY_NAME, GENERIC, PRESETS, Preset, norm
from .reader import RawTable
from .wording_errors import (
    CHECK_THE_PROPOSAL,
    CHECK_THE_PROPOSAL_NAME_THEM,
    MIXED_IDS,
    NOT_SURE_ENOUGH,
    PASS_SOURCE_ONE_OF,
    PASS_SOURCE_OR_COLUMNS,
    SAY_ROWS_OR_STATES,
    TIED_PRESETS,
    UNKNOWN_CRM,
    UNKNOWN_SOURCE,
    USE_AUTO_OR_PRESET,
)
from .wording_notes import (
    BESIDES_COMMON,
    BY_MEANING,
    BY_MEANING_WEAK_PRESET,
    SUMMARY_MORE_COLUMNS,
    SUMMARY_MORE_STAGES,
    SUMMARY_STAGE,
    SUMMARY_UNUSED,
    SUMMARY_USED,
    SUMMARY_WEAK,
)

__all__ = ["Reading", "SourceName", "detect_preset", "detect_reading"]

#: The values of ``load_crm(source=)``.
SourceName = Literal[
    "auto", "salesforce_report", "salesforce_api", "hubspot", "pipedrive", "dynamics365", "zoho", "generic"
]


def detect_preset(
    headers: list[str], *, source: str = "auto", columns: Mapping | None = None, file: str = "<buffer>"
) -> tuple[Preset, str]:
    """The preset that reads these headers, and why (or the one ``source`` names).

    Raises
    ------
    DetectionError
        For an unknown ``source``, headers no preset knows (without a status or stage column),
        or headers that fit several CRMs equally well, listing them and the fix.

    Examples
    --------
    >>> preset, why = detect_preset(["Id", "StageName", "IsWon", "CloseDate"])
    >>> preset.name, why
    ('salesforce_api', "headers 'StageName', 'IsWon', 'CloseDate' match the Salesforce API-style export (Data Loader, Data Export, Workbench)")
    """
    chosen, reason = _by_headers(headers, source=source, columns=columns, file=file)
    if chosen is None:
        raise _unknown(headers, file)
    return chosen, reason


def _unknown(headers: list[str], file: str) -> DetectionError:
    return DetectionError(
        UNKNOWN_CRM.format(headers=headers[:30]),
        file=file,
        fix=PASS_SOURCE_OR_COLUMNS.format(
            presets=[p.name for p in PRESETS], code="columns={'their header': 'status'|'stage'|...}"
        ),
    )


def _by_headers(headers: list[str], *, source: str, columns: Mapping | None, file: str) -> tuple[Preset | None, str]:
    """The preset the headers name (None: none does and common names cannot read it)."""
    normed = [norm(h) for h in headers]
    if source != "auto":
        preset = BY_NAME.get(source)
        if preset is None:
            raise DetectionError(
                UNKNOWN_SOURCE.format(source=repr(source)),
                file=file,
                fix=USE_AUTO_OR_PRESET.format(presets=sorted(BY_NAME)),
            )
        return preset, f"source={source!r} was given"
    scores = sorted(((p.score(normed), p) for p in PRESETS), key=lambda t: -t[0])
    best_score, best = scores[0]
    second_score, second = scores[1]
    if best_score == 0:
        if _generic_can_read(normed, columns):
            return GENERIC, _BY_NAMES
        return None, ""
    if best_score == second_score:
        tied = [p.name for s, p in scores if s == best_score]
        raise DetectionError(
            TIED_PRESETS.format(tied=", ".join(tied), headers=headers[:30]),
            file=file,
            fix=PASS_SOURCE_ONE_OF.format(presets=tied),
        )
    hits = [
        h for h, n in zip(headers, normed) if n in best.signature or (best.prefixes and n.startswith(best.prefixes))
    ]
    return best, f"headers {', '.join(repr(h) for h in hits[:4])} match the {best.label}"


_BY_NAMES = "no CRM-specific headers; read by canonical/common column names"


@dataclass(frozen=True)
class Reading:
    """How to read an export: the preset, why, and the arguments to map it with.

    ``columns``, ``stage_map`` and ``dayfirst`` are the caller's, with the columns recognised
    by meaning added when no preset knew the headers; ``note`` is the warning that says so.
    """

    preset: Preset
    reason: str
    columns: dict = field(default_factory=dict)
    stage_map: dict = field(default_factory=dict)
    dayfirst: bool | None = None
    note: str | None = None
    mapping: mapfile.Mapping | None = None  #: the proposal, when the columns were read by meaning
    #: the currency of amounts without one that recognition read (``Betrag (EUR)``), when no
    #: column gives it
    currency: str | None = None

    @property
    def arguments(self) -> tuple[dict, dict, bool | None]:
        """``columns``, ``stage_map`` and ``dayfirst`` to load with."""
        return self.columns, self.stage_map, self.dayfirst

    @property
    def notes(self) -> list[str]:
        """The warning about the columns read by meaning, if any."""
        return [self.note] if self.note else []


def detect_reading(
    raw: RawTable,
    *,
    source: str = "auto",
    columns: Mapping | None = None,
    stage_map: Mapping | None = None,
    dayfirst: bool | None = None,
) -> Reading:
    """The preset for a raw table, or its columns recognised by meaning when no preset fits.

    Raises
    ------
    DetectionError
        As :func:`detect_preset`; when the columns recognised by meaning are not sure enough
        to load, the error holds the proposal (``exc.mapping``) and the code to paste. Also
        when a column taken as the deal id by its common name repeats on rows of different
        deals (:func:`~.identity.mixed_deals`): the error asks rather than merging them.

    Notes
    -----
    A preset chosen by its signature headers that finds none of its outcome columns in the
    file (one ``Expected Revenue`` header in a custom report) gives way to recognition by
    meaning when the proposal sees a stage or status column.

    Examples
    --------
    >>> from channelkpi.ingest.reader import read_raw
    >>> raw = read_raw(b"ref,phase,deal_value\\nA1,Won,5\\nA2,Negotiating,7\\n")
    >>> r = detect_reading(raw)
    >>> r.preset.name, r.columns, r.stage_map
    ('generic', {'ref': 'deal_id', 'phase': 'stage', 'deal_value': 'amount'}, {'Won': 'won', 'Negotiating': 'open'})
    >>> print(r.note.splitlines()[0])
    <buffer>: no preset knows these headers, so the columns were recognised by meaning:
    """
    asked = dict(columns or {}), dict(stage_map or {})
    preset, reason = _by_headers(raw.headers, source=source, columns=columns, file=raw.file)
    weak_preset, proposal = None, None
    if preset is not None and preset is not GENERIC and source == "auto" and not columns:
        if not _outcome_roles(map_columns(raw, preset, None).roles):
            # a header the preset knows ("Expected Revenue") but none of its outcome columns:
            # the preset cannot read the file, its columns may read by meaning
            proposal = propose(raw)
            if any(g.role in OUTCOME_ROLES for g in proposal.guesses):
                weak_preset, preset = (preset, reason), None
    if preset is not None and (preset is not GENERIC or source != "auto" or columns):
        return Reading(preset, reason, *asked, dayfirst)
    proposal = proposal or propose(raw)
    if preset is not None:  # common names read it: add only the columns they leave unmapped
        common = map_columns(raw, GENERIC, None).roles
        mixed = mixed_deals(raw, common)
        if mixed:
            raise _mixed_ids(raw, common["deal_id"], mixed, confirm(raw, proposal))
        extra = {h: r for h, r in proposal.columns.items() if r not in common and h not in common.values()}
        if not extra:
            return Reading(preset, reason, *asked, dayfirst, currency=_header_currency(proposal, common))
        note = BESIDES_COMMON.format(
            file=raw.file,
            columns="; ".join(f"{h!r} as {r} ({_why(proposal, h)})" for h, r in extra.items()),
            code=repr(extra),
        )
        return Reading(
            preset,
            reason + "; other columns recognised by meaning",
            extra,
            asked[1],
            dayfirst,
            note,
            proposal,
            currency=_header_currency(proposal, {**common, **{r: h for h, r in extra.items()}}),
        )
    mapping = confirm(raw, proposal, columns=asked[0], stage_map=asked[1])
    if not mapping.ready:
        code = _code(mapping)
        raise DetectionError(
            NOT_SURE_ENOUGH.format(needs="; ".join(mapping.needs), headers=raw.headers[:30]),
            file=raw.file,
            fix=CHECK_THE_PROPOSAL.format(proposal=_summary(mapping), code=code)
            if mapping.columns or mapping.unconfirmed()
            else CHECK_THE_PROPOSAL_NAME_THEM.format(
                proposal=_summary(mapping),
                code="columns={'<id header>': 'deal_id', '<stage header>': 'stage'}, "
                "stage_map={'<a stage value>': 'won'}",
            ),
            mapping=mapping,
        )
    note = (BY_MEANING_WEAK_PRESET if weak_preset else BY_MEANING).format(
        file=raw.file, preset=weak_preset[1] if weak_preset else "", summary=_summary(mapping), code=_code(mapping)
    )
    chosen_dayfirst = dayfirst if dayfirst is not None else mapping.dayfirst
    reason = "no CRM-specific headers; columns recognised by meaning (see the warnings)"
    if weak_preset:
        reason = f"{weak_preset[1]}, but not its outcome columns; columns recognised by meaning (see the warnings)"
    return Reading(
        GENERIC,
        reason,
        dict(mapping.columns),
        dict(mapping.stage_map),
        chosen_dayfirst,
        note,
        mapping,
        currency=_header_currency(mapping, {r: h for h, r in mapping.columns.items() if r}),
    )


def _outcome_roles(roles: Mapping) -> set[str]:
    return set(roles) & {"status", "status_reason", "stage", "won_flag"}


def _header_currency(m: mapfile.Mapping, roles: Mapping) -> str | None:
    """The currency the proposal read from the amount's header or cells, when no column of the
    export gives the currency."""
    return None if "currency" in roles or "amount" not in roles else m.currency


def _mixed_ids(raw: RawTable, header: str, why: str, mapping: mapfile.Mapping) -> DetectionError:
    return DetectionError(
        MIXED_IDS.format(header=repr(header), why=why),
        file=raw.file,
        column=header,
        fix=SAY_ROWS_OR_STATES.format(
            ignore=f"columns={{{header!r}: None}}", as_id=f"columns={{{header!r}: 'deal_id'}}"
        ),
        mapping=mapping,
    )


def _why(m: mapfile.Mapping, header: str) -> str:
    guess = next(g for g in m.guesses if g.header == header)
    return f"{guess.certainty}: {guess.reason}"


_LINES = 40  # lines of columns, and of stage values, a message shows


def _summary(m: mapfile.Mapping) -> str:
    """The proposal in words: a line per header, then a line per stage value (at most
    :data:`_LINES` of each, the rest counted)."""
    lines = []
    for g in m.guesses[:_LINES]:
        if g.role and g.certainty != "weak":
            lines.append(
                SUMMARY_USED.format(header=repr(g.header), role=g.role, certainty=g.certainty, reason=g.reason)
            )
        elif g.role:
            lines.append(SUMMARY_WEAK.format(header=repr(g.header), role=g.role, reason=g.reason))
        else:
            lines.append(SUMMARY_UNUSED.format(header=repr(g.header), reason=g.reason))
    if len(m.guesses) > _LINES:
        lines.append(SUMMARY_MORE_COLUMNS.format(count=len(m.guesses) - _LINES))
    unread = [s for s in m.stages if s.reading is None]
    shown = (unread + [s for s in m.stages if s.reading is not None])[:_LINES]  # those to answer first
    for s in sorted(shown, key=m.stages.index):
        reading = s.reading or "? (needs a reading: won, lost or open)"
        rows = f"{s.rows:,} row" + "s" * (s.rows != 1)
        lines.append(SUMMARY_STAGE.format(value=repr(s.value), rows=rows, reading=reading, reason=s.reason))
    if len(m.stages) > _LINES:
        lines.append(SUMMARY_MORE_STAGES.format(count=len(m.stages) - _LINES))
    return "\n".join(lines)


def _code(m: mapfile.Mapping) -> str:
    """The code to paste; a long mapping keeps each argument on one line, so the message stays
    as short as :func:`_summary` keeps it."""
    code = m.code()
    return code if code.count("\n") < _LINES else m.code(width=None)


def _generic_can_read(normed: list[str], columns: Mapping | None) -> bool:
    targets = {str(v) for v in (columns or {}).values() if v}
    keys = set(normed)
    if targets & {"status", "stage", "won_flag"}:
        return True
    return any(h in keys for role in ("status", "stage", "won_flag") for h in GENERIC.candidates(role))
