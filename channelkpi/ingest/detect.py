"""Step 2, detect: which CRM an export comes from, read from its headers.

Each preset (:mod:`.presets`) lists headers only its CRM writes; the preset with the most of
them wins, a tie is an error that lists the candidates, and a table with none of them is read
by canonical and common header names when it has a status or stage column.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from ..errors import DetectionError
from .presets import BY_NAME, GENERIC, PRESETS, Preset, norm

__all__ = ["SourceName", "detect_preset"]

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
