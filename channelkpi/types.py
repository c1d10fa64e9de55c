"""The enumerated options of channelkpi's functions, as ``Literal`` types.

The KPI functions, the charts, :func:`channelkpi.report` and the dashboard are annotated with
these aliases, so an editor completes ``freq="Q"`` and a type checker flags ``freq="quarter"``.
The tuples beside them are the same values at run time (what an option is checked against).

Examples
--------
>>> import typing
>>> typing.get_args(Level)[:4]
('partner', 'owner', 'department', 'unit')
>>> REPORT_FREQS
('M', 'Q', 'Y')
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Literal, get_args

__all__ = [
    "Basis",
    "By",
    "Compare",
    "DateLike",
    "Denominator",
    "Engine",
    "ENGINES",
    "Freq",
    "FREQS",
    "Level",
    "LEVELS",
    "ReportFreq",
    "REPORT_FREQS",
    "ReportLevel",
    "REPORT_LEVELS",
    "Weight",
    "Where",
]

#: A column deals can be grouped by (the ``by=`` of every KPI).
Level = Literal["partner", "owner", "department", "unit", "channel", "source", "stage"]
#: Every :data:`Level`, in this order.
LEVELS: tuple[Level, ...] = get_args(Level)
#: The ``by=`` of a KPI: no grouping, one level, or several (groups are their combinations). Any
#: other text column of the deals is a level too (a field kept from an export, a partner table's
#: ``tier``): ``str`` beside :data:`Level` keeps the editor's completion of the canonical ones.
By = Level | str | Sequence[Level | str] | None

#: A period grain: ISO weeks, months, (fiscal) quarters, (fiscal) years, or ``None`` for the
#: whole range as one period.
Freq = Literal["W", "M", "Q", "Y"] | None
#: Every :data:`Freq`, the whole range first.
FREQS: tuple[Freq, ...] = (None, *get_args(get_args(Freq)[0]))

#: The levels a report or the dashboard ranks: people and partners, not channels or stages.
ReportLevel = Literal["partner", "owner", "department", "unit"]
REPORT_LEVELS: tuple[ReportLevel, ...] = get_args(ReportLevel)
#: The period grains a report or the dashboard shows (weeks are too many to read).
ReportFreq = Literal["M", "Q", "Y"]
REPORT_FREQS: tuple[ReportFreq, ...] = get_args(ReportFreq)

#: A date as the options take it: ``"2025-03-31"``, ``"2025-12"`` (a month: its first or last
#: day, by the option), a ``datetime.date`` or a ``pandas.Timestamp``; ``None`` for no bound.
DateLike = str | datetime.date | None
#: The deal filter (``where=``): column -> the values kept, e.g. ``{"partner": ["Acme"]}``.
Where = Mapping[str, Sequence[str]] | None

#: What a period is compared with: the one before it, or the same period a year before.
Compare = Literal["previous", "year"]

#: Which engine aggregates a pandas table: ``"auto"`` (DuckDB when installed, else pandas),
#: ``"duckdb"`` or ``"pandas"``; other tables run on their own engine.
Engine = Literal["auto", "duckdb", "pandas"]
ENGINES: tuple[Engine, ...] = get_args(Engine)

#: :func:`~channelkpi.average_deal_size` over won deals, or over open deals expected to close.
Basis = Literal["won", "open"]
#: :func:`~channelkpi.win_rate` counting deals, or weighting them by amount.
Weight = Literal["count", "value"]
#: :func:`~channelkpi.win_rate` of deals closed in a period, or of deals created in it.
Denominator = Literal["closed", "created"]
