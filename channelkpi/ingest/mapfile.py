"""A mapping you keep: which header feeds each canonical column, how each stage reads, and
the file's conventions, proposed from an export (:mod:`.meaning`), edited, saved as TOML and
passed back to ``load_crm(mapping=...)`` next month.

The file format (version 1, see ``docs/mappings.md``) has a ``version`` and four tables:
``[options]`` (``source``, ``dayfirst``, ``decimal``, ``currency``), ``[columns]`` (header ->
canonical column, ``""`` to ignore a header), ``[stages]`` (value -> won/lost/open) and
``[channels]`` (lead source -> channel). Reading it checks every key and value, so a typo is an
error that names the file, the key and the fix rather than a column silently not read.

Examples
--------
>>> m = Mapping(columns={"ref": "deal_id", "phase": "stage"}, stage_map={"Won": "won"})
>>> m.columns["phase"], m.stage_map["Won"]
('stage', 'won')
>>> print(m.code())
columns={'ref': 'deal_id', 'phase': 'stage'},
stage_map={'Won': 'won'},
>>> Mapping.from_toml(m.to_toml()) == m
True
>>> Mapping.from_toml('version = 1\\n[columns]\\nref = "deal-id"\\n', file="crm.toml")
Traceback (most recent call last):
...
channelkpi.errors.ColumnError: crm.toml: [columns] maps 'ref' to 'deal-id', which is not a canonical column. Fix: did you mean 'deal_id'? ...
"""

from __future__ import annotations

import difflib
import os
import re
import textwrap
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import tomli_w

from ..errors import ChannelKPIError, ColumnError, FileFormatError, ValueParseError
from ..schema import CHANNELS, STATUSES
from .currencies import ISO_CODE, normalize_currency
from .presets import BY_NAME, ROLES, norm
from .wording_errors import (
    ADD_VERSION,
    CHECK_MAPPING_PATH,
    GUESS_KEYS_ARE,
    GUESS_OPTIONS_ARE,
    GUESS_USE_ONE_OF,
    GUESS_USE_ROLE_OR_IGNORE,
    GUESS_WRITE_ISO_CODE,
    GUESS_WRITE_OUTCOME,
    KEEP_ONE_OF_TWO,
    KEEP_ONE_READING,
    KEYS_ARE,
    MAPPING_ARGUMENT,
    MAPPING_IS_FOLDER,
    MAPPING_NOT_TOML,
    MAPPING_NOT_UTF8,
    NAME_THE_TOML,
    NEWER_VERSION,
    NO_MAPPING_FILE,
    NO_VERSION,
    NOT_A_CHANNEL,
    NOT_A_CURRENCY,
    NOT_A_DECIMAL,
    NOT_A_PRESET,
    NOT_A_ROLE,
    NOT_A_TABLE,
    NOT_A_VERSION,
    NOT_AN_OUTCOME,
    NOT_IN_QUOTES,
    NOT_TRUE_FALSE,
    OPTIONS_ARE,
    PASS_MAPPING,
    ROLE_TWICE,
    SAVE_AS_UTF8,
    TWO_READINGS,
    UNKNOWN_OPTION,
    UNKNOWN_TOP_KEY,
    UPGRADE,
    USE_ONE_OF,
    USE_ROLE_OR_IGNORE,
    WRITE_AS_IN_DOCS,
    WRITE_AS_SECTION,
    WRITE_DAYFIRST,
    WRITE_DECIMAL,
    WRITE_IN_QUOTES,
    WRITE_ISO_CODE,
    WRITE_OUTCOME,
    WRITE_VERSION,
    guessed,
)

if TYPE_CHECKING:
    from .result import LoadResult

__all__ = [
    "FORMAT_VERSION",
    "IDENTITY_ROLES",
    "OUTCOME_ROLES",
    "Certainty",
    "ColumnGuess",
    "Mapping",
    "StageReading",
    "load_mapping",
]

#: The version of the mapping file format this channelkpi writes and reads.
FORMAT_VERSION = 1

#: Roles that identify a deal's row (without a deal id, rows are told apart by their name and
#: the loader numbers them), and roles that say its outcome.
IDENTITY_ROLES = ("deal_id", "name")
OUTCOME_ROLES = ("stage", "status", "won_flag")

_SECTIONS = ("version", "options", "columns", "stages", "channels")
_OPTIONS = ("source", "dayfirst", "decimal", "currency")
_DECIMALS = (".", ",")

#: How sure a guess is: ``"sure"`` (loads without asking), ``"likely"`` (loads, named in the
#: warning), ``"weak"`` (never used without confirmation).
Certainty = Literal["sure", "likely", "weak"]


@dataclass(frozen=True)
class ColumnGuess:
    """One header's proposed canonical column, how sure the proposal is and why."""

    header: str  #: the export's header, as written
    role: str | None  #: the canonical column (a :data:`.presets.ROLES` name), None: not used
    confidence: float  #: 0 to 1
    certainty: Certainty
    reason: str  #: in words, e.g. "header 'bedrag' means amount (Dutch); 98% of values are money"


@dataclass(frozen=True)
class StageReading:
    """One distinct stage or status value, how it reads and why."""

    value: str  #: as written in the export
    reading: Literal["won", "lost", "open"] | None  #: None: unknown, needs a reading
    rows: int  #: how many rows carry it
    reason: str


@dataclass
class Mapping:
    """How to read one kind of export: columns, stage and channel readings, conventions.

    ``columns``, ``stage_map`` and ``channel_map`` mean what the same arguments of
    :func:`channelkpi.load_crm` mean. ``guesses`` and ``stages`` say why a proposal reads the
    file this way; they are not saved.
    """

    columns: dict[str, str | None] = field(default_factory=dict)  #: header -> canonical column or None
    stage_map: dict[str, str] = field(default_factory=dict)  #: stage value -> won/lost/open
    channel_map: dict[str, str] = field(default_factory=dict)  #: source value -> channel
    dayfirst: bool | None = None  #: None: decided per date column from the values
    decimal: Literal[".", ","] | None = None  #: None: decided per amount column
    currency: str | None = None  #: ISO code for amounts without one
    source: str = "generic"  #: the preset the columns are applied to
    guesses: tuple[ColumnGuess, ...] = ()  #: one per header, in the file's order (not saved)
    stages: tuple[StageReading, ...] = ()  #: every distinct stage value (not saved)
    file: str = "<buffer>"  #: the export it was proposed from (not saved)
    #: the mapping file it was read from, named in the load's source description (not saved)
    origin: str | None = field(default=None, compare=False)

    # ------------------------------------------------------------------ what it still needs

    def certainty(self, header: str) -> Certainty:
        """How sure the mapping of ``header`` is: the proposal's certainty while the header
        still feeds the column it proposed, ``"sure"`` for a mapping a person wrote or changed.

        >>> m = Mapping(columns={"ref": "deal_id"}, guesses=(ColumnGuess("ref", "deal_id", 0.6, "likely", "ids"),))
        >>> m.certainty("ref"), m.certainty("other")
        ('likely', 'sure')
        """
        for guess in self.guesses:
            if guess.header == header and guess.role == self.columns.get(header):
                # a proposal never puts a weak guess in ``columns``: one there was put by a person
                return "sure" if guess.certainty == "weak" else guess.certainty
        return "sure"

    def reading(self, value: str) -> str | None:
        """How a stage value reads: ``stage_map`` first (what a person confirmed), then the
        proposal's reading; None when neither says."""
        if value in self.stage_map:
            return self.stage_map[value]
        by_norm = {norm(k): v for k, v in self.stage_map.items()}
        if norm(value) in by_norm:
            return by_norm[norm(value)]
        return next((s.reading for s in self.stages if s.value == value), None)

    @property
    def needs(self) -> list[str]:
        """What is missing before the mapping can load a file without asking, in words
        (empty when :attr:`ready`).

        >>> Mapping(columns={"phase": "stage"}, stages=(StageReading("Negotiating", None, 12, "unknown"),)).needs
        ["a deal id column: map the header that identifies each deal, e.g. columns={'<header>': 'deal_id'}", "a reading for the stage value 'Negotiating' (12 rows): add it to stage_map= as 'won', 'lost' or 'open'"]
        """
        out = []
        for roles, what, role in (
            (IDENTITY_ROLES, "a deal id column", "deal_id"),
            (OUTCOME_ROLES, "a stage or status column", "stage"),
        ):
            mapped = [h for h, r in self.columns.items() if r in roles]
            if any(self.certainty(h) in ("sure", "likely") for h in mapped):
                continue
            weak = [g for g in self.guesses if g.role in roles and g.certainty == "weak"]
            if roles == IDENTITY_ROLES and self.guesses and not weak:
                continue  # a proposal that saw no id-like column: each row is a deal, numbered by the loader
            if weak:
                g = weak[0]
                out.append(
                    f"{what}: {g.header!r} may be the {g.role} ({g.reason}); confirm it with "
                    f"columns={{{g.header!r}: {g.role!r}}}"
                )
            else:
                out.append(
                    f"{what}: map the header that {'identifies each deal' if role == 'deal_id' else 'holds the stage'}, "
                    f"e.g. columns={{'<header>': {role!r}}}"
                )
        for s in self.stages:
            if self.reading(s.value) is None:
                out.append(
                    f"a reading for the stage value {s.value!r} ({s.rows} row{'s' if s.rows != 1 else ''}): "
                    "add it to stage_map= as 'won', 'lost' or 'open'"
                )
        return out

    @property
    def ready(self) -> bool:
        """True when a deal id (or name) and a stage or status column are mapped with certainty
        ``"sure"`` or ``"likely"`` and every stage value in :attr:`stages` has a reading. A
        proposal that found no id-like column at all reads each row as a deal (row identity).

        >>> Mapping(columns={"ref": "deal_id", "phase": "stage"}).ready
        True
        >>> Mapping(columns={"phase": "stage"}).ready
        False
        """
        return not self.needs

    @classmethod
    def read_with(cls, result: LoadResult, *, dayfirst: bool | None = None, currency: str | None = None) -> Mapping:
        """The mapping a load used: its preset and the header that fed each column (with the
        date order and currency it was given), to save and reuse for the next export.

        >>> from channelkpi.ingest import load_crm
        >>> result = load_crm(b"Id,StageName,IsWon,IsClosed,Amount\\n006A,Closed Won,TRUE,TRUE,10\\n")
        >>> m = Mapping.read_with(result)
        >>> m.source, m.columns
        ('salesforce_api', {'Id': 'deal_id', 'StageName': 'stage', 'Amount': 'amount', 'IsWon': 'won_flag', 'IsClosed': 'closed_flag'})
        """
        columns = {header: role for role, header in result.source.columns.items()}
        return cls(columns=columns, dayfirst=dayfirst, currency=currency, source=result.source.preset, file=result.file)

    def describe(self) -> str:
        """The mapping in words for a person to check: each header and the column it feeds,
        with the certainty and reason; each stage value and its reading; what is still needed.

        >>> print(Mapping(columns={"ref": "deal_id", "phase": "stage"}, stages=(StageReading("Won", "won", 3, "a known stage"),)).describe())
        columns:
          'ref'    -> deal_id  sure
          'phase'  -> stage    sure
        stage values:
          'Won'  -> won  (3 rows)  a known stage
        """
        seen = {g.header for g in self.guesses}
        added = [ColumnGuess(h, r, 1.0, "sure", "") for h, r in self.columns.items() if h not in seen]
        rows = []
        for g in [*self.guesses, *added]:
            role = self.columns.get(g.header, None)
            proposed = g.role == role and g.certainty != "weak" and g not in added
            if g.header in self.columns:
                target, how = role or "(ignored)", self.certainty(g.header)
                why = g.reason if proposed else "as given" if self.guesses else ""
                if g.role == role and g.certainty == "weak":
                    why = f"confirmed (proposed as a weak guess: {g.reason})"
            else:
                target = "(not used)" if g.role is None else f"(not used; maybe {g.role})"
                how, why, proposed = g.certainty, g.reason, True
            detail = f"{how} {g.confidence:.2f}" if proposed else how
            rows.append((repr(g.header), target, detail, why))
        lines = ["columns:", *_aligned(rows, "-> ")]
        if self.stages:
            stage_rows = [
                (
                    repr(s.value),
                    self.reading(s.value) or "? (no reading)",
                    f"({s.rows} row{'s' if s.rows != 1 else ''})",
                    s.reason if self.reading(s.value) == s.reading else "as given in stage_map",
                )
                for s in self.stages
            ]
            lines += ["stage values:", *_aligned(stage_rows, "-> ")]
        needs = self.needs
        if needs:
            lines += ["still needed:", *(f"  - {n}" for n in needs)]
        return "\n".join(lines)

    # ------------------------------------------------------------------ as code to paste

    def code(self, *, path: str | None = None, width: int | None = 88) -> str:
        """The mapping as keyword arguments of :func:`channelkpi.load_crm`, ready to paste;
        with ``path``, the whole call. A dict longer than ``width`` characters gets a line per
        entry (``width=None``: every dict on one line, for messages that must stay short).

        >>> m = Mapping(columns={"ref": "deal_id"}, stage_map={"Won": "won"}, dayfirst=True, decimal=",")
        >>> print(m.code(path="deals.csv"))
        ck.load_crm(
            'deals.csv',
            columns={'ref': 'deal_id'},
            stage_map={'Won': 'won'},
            dayfirst=True,
            decimal=',',
        )
        """
        arguments = self.arguments()
        unsure = self.unconfirmed()
        if unsure and "columns" not in arguments:
            arguments = {"columns": {}, **arguments}
        lines = []
        for name, value in arguments.items():
            if name == "columns" and unsure:
                lines.append(f"columns={_literal(value, width, pending=unsure)},")
            else:
                lines.append(f"{name}={_literal(value, width)},")
        if unsure and (width is None or not lines[0].startswith("columns={\n")):
            lines[:0] = [
                _comment(f"to confirm, then add to columns=: {g.header!r}: {g.role!r} ({g.reason})") for g in unsure
            ]
        if path is None:
            return "\n".join(lines)
        body = "\n".join("    " + line.replace("\n", "\n    ") for line in [f"{str(path)!r},", *lines])
        return f"ck.load_crm(\n{body}\n)"

    def unconfirmed(self) -> list[ColumnGuess]:
        """The weak guesses :attr:`needs` asks to confirm (an id or outcome column the proposal
        could not be sure of), which :meth:`code` and :meth:`to_toml` show commented out.

        >>> g = ColumnGuess("Nr", "deal_id", 0.5, "weak", "header 'Nr' may mean deal_id")
        >>> m = Mapping(columns={"Phase": "stage"}, guesses=(g,))
        >>> [u.header for u in m.unconfirmed()]
        ['Nr']
        >>> print(m.code())
        columns={
            'Phase': 'stage',
            # 'Nr': 'deal_id',  # to confirm: header 'Nr' may mean deal_id
        },
        >>> m.columns["Nr"] = "deal_id"
        >>> m.unconfirmed(), m.ready
        ([], True)
        """
        out = []
        for roles in (IDENTITY_ROLES, OUTCOME_ROLES):
            mapped = [h for h, r in self.columns.items() if r in roles]
            if any(self.certainty(h) in ("sure", "likely") for h in mapped):
                continue
            weak = [
                g for g in self.guesses if g.role in roles and g.certainty == "weak" and g.header not in self.columns
            ]
            out.extend(weak[:1])
        return out

    def arguments(self) -> dict[str, Any]:
        """The arguments of :func:`channelkpi.load_crm` this mapping stands for (those that
        differ from the defaults).

        >>> Mapping(columns={"ref": "deal_id"}, currency="EUR").arguments()
        {'columns': {'ref': 'deal_id'}, 'currency': 'EUR'}
        """
        out: dict[str, Any] = {}
        if self.source != "generic":
            out["source"] = self.source
        for name in ("columns", "stage_map", "channel_map"):
            if getattr(self, name):
                out[name] = dict(getattr(self, name))
        for name in ("dayfirst", "decimal", "currency"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out

    def load_arguments(self, **given: Any) -> dict[str, Any]:
        """The arguments of ``load_crm`` when this mapping is passed with explicit ones:
        ``given`` wins. ``columns``, ``stage_map`` and ``channel_map`` merge key by key (a
        canonical column ``columns=`` gives a header to is taken from the mapping's header);
        ``source="auto"`` and None leave the mapping's value.

        >>> m = Mapping(columns={"ref": "deal_id", "phase": "stage"}, stage_map={"Won": "won"}, dayfirst=True)
        >>> m.load_arguments(columns={"Opp": "deal_id"}, stage_map={"Lost": "lost"}, dayfirst=None, source="auto")
        {'source': 'generic', 'columns': {'phase': 'stage', 'Opp': 'deal_id'}, 'stage_map': {'Won': 'won', 'Lost': 'lost'}, 'channel_map': {}, 'dayfirst': True, 'decimal': None, 'currency': None}
        """
        source = given.get("source")
        columns = dict(given.get("columns") or {})
        taken = {role for role in columns.values() if role is not None}
        theirs = {h: r for h, r in self.columns.items() if h not in columns and (r is None or r not in taken)}
        # a mapping that names no column (only options) leaves the columns to recognition
        keeps = self.source if self.columns or self.source != "generic" else "auto"
        out: dict[str, Any] = {"source": source if source not in (None, "auto") else keeps}
        out["columns"] = {**theirs, **columns}
        out["stage_map"] = {**self.stage_map, **(given.get("stage_map") or {})}
        out["channel_map"] = {**self.channel_map, **(given.get("channel_map") or {})}
        for name in ("dayfirst", "decimal", "currency"):
            value = given.get(name)
            out[name] = value if value is not None else getattr(self, name)
        return out

    # ------------------------------------------------------------------ as a file

    def to_toml(self) -> str:
        """The mapping as a TOML file a person can read and edit (format version 1).

        The proposal's certainty and reason follow each column as a comment; headers it did
        not map and stage values without a reading are listed as comments to fill in.
        """
        guesses = {g.header: g for g in self.guesses}
        rows = {s.value: s for s in self.stages}
        unsure = {g.header for g in self.unconfirmed()}
        needs = self.needs
        out = [
            "# How channelkpi reads one kind of export (mapping file format version 1; see docs/mappings.md).",
            *([_comment(f"Written for {self.file!r}.")] if self.file != "<buffer>" else []),
            *(
                ["# NOT READY: answer these questions below before loading with it:"]
                + [line for n in needs for line in _wrapped(f"- {n}")]
                if needs
                else []
            ),
            '# Use it with ck.load_crm(export, mapping="this.toml") or channelkpi report export --mapping this.toml',
            f"version = {FORMAT_VERSION}",
            "",
            "[options]",
            f"# source: the CRM preset the columns apply to, one of {', '.join(sorted(BY_NAME))}",
            _entry("source", self.source),
            _entry("dayfirst", self.dayfirst, "true: 01/02/2024 is 1 February; false: 2 January")
            if self.dayfirst is not None
            else "# dayfirst = true   # 01/02/2024 is 1 February (default: decided per date column)",
            _entry("decimal", self.decimal, "the decimal separator of amounts")
            if self.decimal is not None
            else '# decimal = ","   # the decimal separator of amounts (default: decided per column)',
            _entry("currency", self.currency, "ISO code of amounts written without one")
            if self.currency is not None
            else '# currency = "EUR"   # ISO code of amounts written without one',
            "",
            "[columns]",
            *_wrapped(
                f'"header in the export" = "canonical column", or "" to ignore the header. Columns: {", ".join(ROLES)}'
            ),
        ]
        for header, role in self.columns.items():
            g = guesses.get(header)
            note = f"{g.certainty} ({g.confidence:.2f}): {g.reason}" if g and role and g.role == role else ""
            out.append(_entry(header, role or "", note))
        for g in self.guesses:
            if g.header in unsure:
                out.append(
                    _comment(
                        f"{_entry(g.header, g.role)}   # TO CONFIRM (weak: {g.reason}); remove the first # if right"
                    )
                )
            elif g.header not in self.columns:
                proposal = f"{g.role!r}, {g.certainty} ({g.confidence:.2f}): " if g.role else ""
                out.append(_comment(f"{_key(g.header)} = ?   not mapped: {proposal}{g.reason}"))
        out += ["", "[stages]", '# "stage or status value" = "won", "lost" or "open"']
        for value, reading in self.stage_map.items():
            s = rows.get(value)
            out.append(_entry(value, reading, f"{_rows(s.rows)}; {s.reason}" if s else ""))
        for s in self.stages:
            if s.value not in self.stage_map:
                out.append(
                    _comment(f'{_key(s.value)} = ?   {_rows(s.rows)}, no reading yet: write "won", "lost" or "open"')
                )
        out += ["", "[channels]", _comment('"lead source value" = ' + " | ".join(f'"{c}"' for c in CHANNELS))]
        out += [_entry(value, channel) for value, channel in self.channel_map.items()]
        return "\n".join(out) + "\n"

    @classmethod
    def from_toml(cls, text: str | bytes, *, file: str = "<buffer>") -> Mapping:
        """Read a mapping file's text, checking every key and value.

        Raises
        ------
        ChannelKPIError
            (``FileFormatError``, ``ColumnError`` or ``ValueParseError``) naming the file, the
            key, the value and the fix: text that is not TOML, a format version this channelkpi
            does not read, an unknown key, an unknown canonical column, stage reading, channel,
            source, decimal separator or currency.

        Examples
        --------
        >>> m = Mapping.from_toml('''
        ... version = 1
        ... [options]
        ... dayfirst = true
        ... [columns]
        ... ref = "deal_id"
        ... "deal value" = "amount"
        ... [stages]
        ... Negotiating = "open"
        ... ''', file="crm.toml")
        >>> m.columns, m.stage_map, m.dayfirst
        ({'ref': 'deal_id', 'deal value': 'amount'}, {'Negotiating': 'open'}, True)
        """
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise FileFormatError(
                    MAPPING_NOT_UTF8.format(reason=exc.reason, start=exc.start),
                    file=file,
                    fix=SAVE_AS_UTF8,
                ) from None
        try:
            data = tomllib.loads(text.lstrip("\ufeff"))
        except tomllib.TOMLDecodeError as exc:
            raise FileFormatError(
                MAPPING_NOT_TOML.format(error=exc),
                file=file,
                fix=WRITE_AS_IN_DOCS,
            ) from None
        return _from_data(data, file)

    def save(self, path: str | os.PathLike) -> Path:
        """Write :meth:`to_toml` to ``path`` (checked first, so a saved file always loads);
        returns the path.

        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "crm.toml"
        >>> m = Mapping(columns={"ref": "deal_id", "phase": "stage"})
        >>> Mapping.load(m.save(path)) == m
        True
        """
        path = Path(path)
        text = self.to_toml()
        Mapping.from_toml(text, file=str(path))
        path.write_text(text, encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Mapping:
        """Read a mapping file (see :meth:`from_toml`)."""
        path = Path(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise FileFormatError(
                NO_MAPPING_FILE,
                file=str(path),
                fix=CHECK_MAPPING_PATH,
            ) from None
        except IsADirectoryError:
            raise FileFormatError(MAPPING_IS_FOLDER, file=str(path), fix=NAME_THE_TOML) from None
        mapping = cls.from_toml(data, file=str(path))
        mapping.origin = str(path)
        return mapping


def load_mapping(path_or_mapping: Mapping | str | os.PathLike | bytes) -> Mapping:
    """A :class:`Mapping` from a mapping file's path, its content (bytes, as an upload gives
    it), or a mapping (returned as it is).

    Parameters
    ----------
    path_or_mapping : Mapping, str, path or bytes
        What ``load_crm(mapping=)`` was given.

    Returns
    -------
    Mapping

    Raises
    ------
    ChannelKPIError
        For a file that is missing or does not pass the checks of :meth:`Mapping.from_toml`.

    Examples
    --------
    >>> load_mapping(b'version = 1\\n[columns]\\nref = "deal_id"\\n').columns
    {'ref': 'deal_id'}
    """
    if isinstance(path_or_mapping, Mapping):
        return path_or_mapping
    if isinstance(path_or_mapping, bytes):
        return Mapping.from_toml(path_or_mapping)
    if isinstance(path_or_mapping, (str, os.PathLike)):
        return Mapping.load(path_or_mapping)
    raise ChannelKPIError(
        MAPPING_ARGUMENT.format(kind=type(path_or_mapping).__name__),
        fix=PASS_MAPPING,
    )


# ---------------------------------------------------------------------- reading, checked


def _iso_currencies() -> frozenset[str]:
    """The ISO 4217 codes CLDR knows (current and historic), from Babel."""
    from babel.numbers import list_currencies

    return frozenset(list_currencies())


def _close(word: str, choices) -> str | None:
    """The choice closest to ``word`` as a message names it (None: none is close)."""
    near = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return repr(near[0]) if near else None


def _table(data: dict, name: str, file: str) -> dict:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise FileFormatError(
            NOT_A_TABLE.format(name=repr(name), value=_toml(table)),
            file=file,
            value=table,
            fix=WRITE_AS_SECTION.format(section=name),
        )
    return table


def _text(value: object, where: str, file: str, error=ValueParseError, *, example: str = '"won"') -> str:
    if not isinstance(value, str):
        raise error(
            NOT_IN_QUOTES.format(where=where, value=_toml(value)),
            file=file,
            value=value,
            fix=WRITE_IN_QUOTES.format(example=example),
        )
    return value


def _from_data(data: dict, file: str) -> Mapping:
    for key in data:
        if key not in _SECTIONS:
            raise FileFormatError(
                UNKNOWN_TOP_KEY.format(key=repr(key)),
                file=file,
                fix=guessed(KEYS_ARE, GUESS_KEYS_ARE, _close(key, _SECTIONS), keys=", ".join(_SECTIONS)),
            )
    version = data.get("version")
    if version is None:
        raise FileFormatError(
            NO_VERSION,
            file=file,
            fix=ADD_VERSION.format(version=FORMAT_VERSION),
        )
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise FileFormatError(
            NOT_A_VERSION.format(value=_toml(version)),
            file=file,
            value=version,
            fix=WRITE_VERSION.format(version=FORMAT_VERSION),
        )
    if version > FORMAT_VERSION:
        raise FileFormatError(
            NEWER_VERSION.format(version=version, supported=FORMAT_VERSION),
            file=file,
            value=version,
            fix=UPGRADE,
        )
    options = _options(_table(data, "options", file), file)
    return Mapping(
        columns=_columns(_table(data, "columns", file), file),
        stage_map=_stages(_table(data, "stages", file), file),
        channel_map=_channels(_table(data, "channels", file), file),
        **options,
    )


def _options(table: dict, file: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key not in _OPTIONS:
            raise FileFormatError(
                UNKNOWN_OPTION.format(key=repr(key)),
                file=file,
                fix=guessed(OPTIONS_ARE, GUESS_OPTIONS_ARE, _close(key, _OPTIONS), options=", ".join(_OPTIONS)),
            )
        where = f"[options] {key}"
        if key == "dayfirst":
            if not isinstance(value, bool):
                raise ValueParseError(
                    NOT_TRUE_FALSE.format(where=where, value=_toml(value)),
                    file=file,
                    value=value,
                    fix=WRITE_DAYFIRST,
                )
            out[key] = value
        elif key == "decimal":
            if value not in _DECIMALS:
                raise ValueParseError(
                    NOT_A_DECIMAL.format(where=where, value=_toml(value)),
                    file=file,
                    value=value,
                    fix=WRITE_DECIMAL,
                )
            out[key] = value
        elif key == "currency":
            code = normalize_currency(_text(value, where, file, example='"EUR"'))
            if not isinstance(code, str) or not ISO_CODE.match(code) or code not in _iso_currencies():
                raise ValueParseError(
                    NOT_A_CURRENCY.format(where=where, value=_toml(value)),
                    file=file,
                    value=value,
                    fix=guessed(
                        WRITE_ISO_CODE, GUESS_WRITE_ISO_CODE, _close(str(code).upper(), sorted(_iso_currencies()))
                    ),
                )
            out[key] = code
        else:  # source
            if _text(value, where, file, example='"generic"') not in BY_NAME:
                raise ValueParseError(
                    NOT_A_PRESET.format(where=where, value=_toml(value)),
                    file=file,
                    value=value,
                    fix=guessed(
                        USE_ONE_OF, GUESS_USE_ONE_OF, _close(value, BY_NAME), choices=", ".join(sorted(BY_NAME))
                    ),
                )
            out[key] = value
    return out


def _columns(table: dict, file: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    owner: dict[str, str] = {}
    for header, role in table.items():
        role = _text(
            role, f"[columns] {header!r}", file, ColumnError, example='"deal_id" or "amount" (a canonical column)'
        )
        if role == "":
            out[header] = None
            continue
        if role not in ROLES:
            raise ColumnError(
                NOT_A_ROLE.format(header=repr(header), role=repr(role)),
                file=file,
                fix=guessed(USE_ROLE_OR_IGNORE, GUESS_USE_ROLE_OR_IGNORE, _close(role, ROLES), roles=", ".join(ROLES)),
            )
        if role in owner:
            raise ColumnError(
                ROLE_TWICE.format(first=repr(owner[role]), second=repr(header), role=repr(role)),
                file=file,
                fix=KEEP_ONE_OF_TWO,
            )
        owner[role] = header
        out[header] = role
    return out


def _stages(table: dict, file: str) -> dict[str, str]:
    out: dict[str, str] = {}
    seen: dict[str, tuple[str, str]] = {}
    for value, reading in table.items():
        text = _text(reading, f"[stages] {value!r}", file)
        key = text.strip().lower()
        if key not in STATUSES:
            raise ValueParseError(
                NOT_AN_OUTCOME.format(value=repr(value), reading=repr(text)),
                file=file,
                fix=guessed(WRITE_OUTCOME, GUESS_WRITE_OUTCOME, _close(key, STATUSES)),
            )
        first = seen.setdefault(norm(value), (value, key))
        if first[1] != key:
            raise ValueParseError(
                TWO_READINGS.format(
                    first=repr(first[0]), first_reading=repr(first[1]), second=repr(value), second_reading=repr(key)
                ),
                file=file,
                fix=KEEP_ONE_READING,
            )
        out[value] = key
    return out


def _channels(table: dict, file: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for value, channel in table.items():
        key = _text(channel, f"[channels] {value!r}", file, example='"partner"').strip().lower()
        if key not in CHANNELS:
            raise ValueParseError(
                NOT_A_CHANNEL.format(value=repr(value), channel=repr(channel)),
                file=file,
                fix=guessed(
                    USE_ONE_OF, GUESS_USE_ONE_OF, _close(key, CHANNELS), choices=", ".join(repr(c) for c in CHANNELS)
                ),
            )
        out[value] = key
    return out


# ---------------------------------------------------------------------- writing


def _rows(n: int) -> str:
    return f"{n:,} row" + "s" * (n != 1)


def _toml(value: object) -> str:
    """A value as TOML writes it, for messages (``true``, ``"x"``, ``12``)."""
    if isinstance(value, dict):
        return "a table"
    try:
        return tomli_w.dumps({"v": value})[4:].strip()
    except TypeError:  # pragma: no cover - tomllib gives only TOML values
        return repr(value)


def _key(key: str) -> str:
    """A key as TOML writes it: bare when it can be, quoted and escaped otherwise."""
    return tomli_w.dumps({key: 0}).rsplit(" = ", 1)[0]


_UNPRINTABLE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _comment(text: str) -> str:
    # a comment ends at the line's end, and TOML allows no control characters in it
    return "# " + _UNPRINTABLE.sub(" ", text)


def _wrapped(text: str) -> list[str]:
    return [_comment(line) for line in textwrap.wrap(text, 98)]


def _entry(key: str, value: object, note: str = "") -> str:
    line = tomli_w.dumps({key: value}).rstrip("\n")
    return line + ("  " + _comment(note) if note else "")


def _aligned(rows: list[tuple[str, ...]], arrow: str) -> list[str]:
    """Rows of cells as aligned text lines (the second cell after ``arrow``)."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        cells = [c.ljust(w) for c, w in zip(r, widths)]
        out.append(("  " + cells[0] + "  " + arrow + "  ".join(cells[1:])).rstrip())
    return out


def _literal(value: object, width: int | None = 88, *, pending: list[ColumnGuess] = ()) -> str:
    """Python source for an argument value; a dict longer than ``width`` gets one entry per line,
    and so does one with ``pending`` guesses, written as commented entries to confirm."""
    if not isinstance(value, dict):
        return repr(value)
    one_line = repr(value)
    if width is None or (len(one_line) <= width and not pending):
        return one_line
    confirm = [_comment(f"{g.header!r}: {g.role!r},  # to confirm: {g.reason}") for g in pending]
    return (
        "{\n" + "".join(f"    {k!r}: {v!r},\n" for k, v in value.items()) + "".join(f"    {c}\n" for c in confirm) + "}"
    )
