"""Columns recognised by meaning: a proposed :class:`~.mapfile.Mapping` for an export no
preset knows, from its headers and its values, with a confidence and a reason per column.

Examples
--------
>>> m = propose_mapping(b"id,stage,amount\\nD1,Closed Won,5\\nD2,Prospecting,7\\n")
>>> m.columns
{'id': 'deal_id', 'stage': 'stage', 'amount': 'amount'}
>>> [(s.value, s.reading) for s in m.stages]
[('Closed Won', 'won'), ('Prospecting', 'open')]
"""

from __future__ import annotations

from .mapfile import ColumnGuess, Mapping, StageReading
from .presets import DEFAULT_STAGE_MAP, GENERIC, ROLES, STATUS_WORDS, norm
from .reader import RawTable, Source, read_raw

__all__ = ["propose", "propose_mapping"]


def propose_mapping(src: Source, *, sheet: str | int | None = None, max_bytes: int | None = None) -> Mapping:
    """Read an export and propose how to map it (see :func:`propose`)."""
    return propose(read_raw(src, sheet=sheet, max_bytes=max_bytes))


def propose(raw: RawTable) -> Mapping:
    """A mapping for the raw table from its headers (canonical and common names only)."""
    by_norm = {norm(h): h for h in raw.headers}
    columns: dict[str, str | None] = {}
    for role in ROLES:
        for cand in GENERIC.candidates(role):
            header = by_norm.get(cand)
            if header is not None and header not in columns:
                columns[header] = role
                break
    guesses = tuple(
        ColumnGuess(
            h,
            columns.get(h),
            1.0 if h in columns else 0.0,
            "sure" if h in columns else "weak",
            f"header {h!r} is the common name of {columns[h]}" if h in columns else "not recognised",
        )
        for h in raw.headers
    )
    stages: list[StageReading] = []
    stage_header = next((h for h, r in columns.items() if r in ("stage", "status")), None)
    if stage_header is not None:
        counts = raw.cells[stage_header].value_counts(sort=False)
        for value, n in counts.items():
            key = norm(value)
            reading = DEFAULT_STAGE_MAP.get(key) or STATUS_WORDS.get(key)
            stages.append(StageReading(str(value), reading, int(n), "a known stage" if reading else "unknown"))
    stage_map = {s.value: s.reading for s in stages if s.reading}
    return Mapping(columns=columns, stage_map=stage_map, guesses=guesses, stages=tuple(stages), file=raw.file)
