"""A mapping you keep: which header feeds each canonical column, how each stage reads, and
the file's conventions, proposed from an export (:mod:`.meaning`), edited, saved as TOML and
passed back to ``load_crm(mapping=...)`` next month.

Examples
--------
>>> m = Mapping(columns={"ref": "deal_id", "phase": "stage"}, stage_map={"Won": "won"})
>>> m.columns["phase"], m.stage_map["Won"]
('stage', 'won')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["ColumnGuess", "Mapping", "StageReading"]

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
