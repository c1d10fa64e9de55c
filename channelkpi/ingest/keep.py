"""Export columns kept beside the canonical ones (``load_crm(keep=...)``), and their names.

A kept column becomes a text column of the deals table named by :func:`field_name`: the
header in snake case (accents dropped, lower case, every run of other characters one ``_``).
A name that is already a canonical column, or that an earlier kept header took, gets the
first free suffix ``_2``, ``_3`` ... and the load says so in a warning.

Examples
--------
>>> field_name("Product Family"), field_name("Région (EMEA)"), field_name("Deal - Label")
('product_family', 'region_emea', 'deal_label')
>>> notes = []
>>> kept_fields(["Id", "Stage", "Region", "Product Family"], ["Region", "Product Family"], {}, "x.csv", notes)
{'region': 'Region', 'product_family': 'Product Family'}
>>> kept_fields(["Id", "Stage", "Type", "type"], "all", {"deal_id": "Id", "stage": "Stage"}, "x.csv", notes)
{'type': 'Type', 'type_2': 'type'}
>>> notes[-1]
"kept column(s) renamed where their name was taken: 'type' as 'type_2' ('type' is taken)"
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Mapping, Sequence

from ..errors import ColumnError
from ..schema import COLUMNS
from .wording_errors import (
    GUESS_KEEP_UNKNOWN,
    KEEP_TAKES,
    KEEP_THAT_COLUMN,
    KEEP_UNKNOWN,
    NAME_HEADER_AS_IN_FIRST_ROW,
    guessed,
)
from .wording_notes import KEPT_RENAMED

__all__ = ["field_name", "kept_fields"]


def field_name(header: object) -> str:
    """The name a kept header gets: snake case, ASCII letters and digits only.

    >>> field_name("  Lead Score (%) "), field_name("2nd Owner"), field_name("%%")
    ('lead_score', '2nd_owner', 'column')
    """
    text = unicodedata.normalize("NFKD", str(header).replace("\ufeff", ""))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_") or "column"


def kept_fields(
    headers: Sequence[str],
    keep: str | Sequence[str] | None,
    roles: Mapping[str, str],
    file: str,
    warnings: list[str],
    *,
    skip: Sequence[str] = (),
) -> dict[str, str]:
    """``{field name: header}`` of the columns ``keep=`` asks for, in the file's order.

    ``keep="all"`` keeps every header that feeds no canonical column (``roles``) and is not in
    ``skip`` (headers ignored or dropped); a list keeps those headers (matched exactly, else
    ignoring case and spacing), mapped or not.

    Raises
    ------
    ColumnError
        When a kept header is not in the file (with the closest headers), or ``keep`` is
        neither ``"all"`` nor a list of headers.
    """
    if keep is None:
        return {}
    headers = [str(h) for h in headers]
    if isinstance(keep, str):
        if keep != "all":
            raise ColumnError(
                KEEP_TAKES.format(value=repr(keep)),
                file=file,
                fix=KEEP_THAT_COLUMN.format(code=f"keep=[{keep!r}]"),
            )
        used = set(roles.values()) | set(skip)
        chosen = [h for h in headers if h not in used]
    else:
        loose = {_loose(h): h for h in reversed(headers)}
        chosen = []
        for asked in keep:
            header = asked if asked in headers else loose.get(_loose(asked))
            if header is None:
                close = difflib.get_close_matches(str(asked), headers, n=3, cutoff=0.6)
                raise ColumnError(
                    guessed(
                        KEEP_UNKNOWN,
                        GUESS_KEEP_UNKNOWN,
                        " or ".join(map(repr, close)),
                        header=repr(asked),
                        headers=headers[:40],
                    ),
                    file=file,
                    column=str(asked),
                    fix=NAME_HEADER_AS_IN_FIRST_ROW,
                )
            if header not in chosen:
                chosen.append(header)
        order = {h: i for i, h in enumerate(headers)}
        chosen.sort(key=order.__getitem__)
    out: dict[str, str] = {}
    renamed = []
    for header in chosen:
        base = field_name(header)
        name, n = base, 1
        while name in COLUMNS or name in out:
            n += 1
            name = f"{base}_{n}"
        if name != base:
            renamed.append(f"{header!r} as {name!r} ({base!r} is taken)")
        out[name] = header
    if renamed:
        warnings.append(KEPT_RENAMED.format(columns=", ".join(renamed)))
    return out


def _loose(header: object) -> str:
    return re.sub(r"\s+", " ", str(header).replace("\ufeff", "")).strip().lower()
