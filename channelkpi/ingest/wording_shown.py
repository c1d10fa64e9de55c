"""The load's notes as a screen shows them: in the viewer's language, the pieces inside them
said too, and, in the mapping form, with the form's advice instead of Python's.

:func:`~channelkpi.ingest.wording.said` says a sentence made from one template;
:func:`said_note` also says each line of a note of several lines (the columns recognised by
meaning, one per line), a note another names its file before (``deals.csv: ...``), and the
pieces inside a note (:data:`~channelkpi.ingest.wording_notes.REASONS`, how sure a guess is,
``and 3 more``).

Examples
--------
>>> from channelkpi.ingest.wording_notes import TITLE_ROWS
>>> from channelkpi.i18n import using
>>> with using("nl-NL"):
...     said_note(TITLE_ROWS.format(count=2, last=2))
'2 titelrij(en) boven de kop overgeslagen (rijen 1-2)'
>>> with using("de-DE"):
...     said_note("header 'Fase' means stage (Dutch)")
"Spaltenkopf 'Fase' bedeutet stage (Niederländisch)"
>>> from channelkpi.ingest.wording import DAY_FIRST
>>> in_form(DAY_FIRST.format(header="'Datum'"))
"'Datum': every date fits both day-first and month-first; read as day-first (if that is wrong, choose the order under Dates)"
"""

from __future__ import annotations

import functools
import re

from ..i18n import current_language
from ..i18n import gettext as _
from . import wording
from .wording_notes import (
    CERTAINTIES,
    FORM_DAY_FIRST,
    FORM_MONTH_FIRST,
    FORM_NO_ID_COLUMN,
    FORM_SHEETS,
    FORM_SOURCES_AS_OTHER,
    FORM_STAGE_HISTORY,
    FORM_STAGES_AS_OPEN,
    FORM_STAGES_BY_WORDING,
    NO_ID_COLUMN,
    REASONS,
    SHEETS,
)

__all__ = ["in_form", "said_certainty", "said_note"]


@functools.cache
def _form_notes() -> dict[str, str]:
    """Each template whose advice is written for Python, with the form's version of it."""
    return {
        wording.DAY_FIRST: FORM_DAY_FIRST,
        wording.MONTH_FIRST: FORM_MONTH_FIRST,
        wording.SOURCES_AS_OTHER: FORM_SOURCES_AS_OTHER,
        wording.STAGES_BY_WORDING: FORM_STAGES_BY_WORDING,
        wording.STAGES_AS_OPEN: FORM_STAGES_AS_OPEN,
        wording.STAGE_HISTORY: FORM_STAGE_HISTORY,
        NO_ID_COLUMN: FORM_NO_ID_COLUMN,
        SHEETS: FORM_SHEETS,
    }


_FIELD = re.compile(r"\{(\w+)\}")
_QUOTED = r"(?:'[^'\n]*'|\"[^\"\n]*\")"
_LANGUAGE = "(?:English|Dutch|German|French)"
#: What a value of a piece looks like, by the name of its field (a quoted text otherwise).
_SHAPES = {
    "role": r"[a-z_]+",
    "reading": r"[a-z_]+",
    "languages": rf"{_LANGUAGE}(?:, {_LANGUAGE})*",
    "share": r"\d+%",
    "count": r"\d[\d,]*",
    "number": r"\d[\d,]*",
    "values": rf"{_QUOTED}(?:, {_QUOTED})*",
}


@functools.cache
def _piece(template: str) -> re.Pattern[str]:
    """A piece as a pattern found inside a text: each ``{value}`` of the shape its name says."""
    parts, at = [], 0
    for m in _FIELD.finditer(template):
        parts.append(re.escape(template[at : m.start()]))
        parts.append(f"(?P<{m.group(1)}>{_SHAPES.get(m.group(1), _QUOTED)})")
        at = m.end()
    parts.append(re.escape(template[at:]))
    return re.compile("".join(parts))


def in_form(text: str) -> str:
    """A note as the mapping form says it in English: its advice for Python (``pass
    dayfirst=False``) as the form's own, or left out when the form has no such choice; other
    notes as they are.

    >>> in_form(SHEETS.format(count=3, sheet="'Deals'"))
    "the workbook has 3 sheets; read the first, 'Deals'"
    """
    for template, form in _form_notes().items():
        found = wording.template_pattern(template).fullmatch(str(text))
        if found:
            return form.format(**found.groupdict())
    return text


def said_certainty(certainty: str) -> str:
    """How sure a guess is (``sure``, ``likely``, ``weak``) in the language in force."""
    return _(certainty) if certainty in CERTAINTIES else certainty


def _said_value(name: str, value: str) -> str:
    if name == "languages":
        return ", ".join(_(v) for v in value.split(", "))
    return value


def _pieces(text: str) -> str:
    """The pieces (:data:`REASONS`, certainties, ``and 3 more``) inside ``text`` in the language."""
    for template in REASONS:
        said = _(template)
        if said == template:
            continue
        text = _piece(template).sub(
            lambda m, said=said: _FIELD.sub(lambda f: _said_value(f.group(1), m.group(f.group(1))), said), text
        )
    text = re.sub(r"\((sure|likely|weak): ", lambda m: f"({_(m.group(1))}: ", text)
    return re.sub(r" and (\d+) more\b", lambda m: _(" and {count} more").format(count=m.group(1)), text)


def said_note(text: str) -> str:
    """A note of a load (a warning, a reason, how an export was read) in the language in force:
    :func:`~channelkpi.ingest.wording.said`, each line of a note of several lines said too, a
    note another names its file or column before (``deals.csv: ...``) said after that name, and
    the pieces inside (why a column was recognised, how sure, ``and 3 more``) said as well.

    >>> said_note("a sentence no template makes")
    'a sentence no template makes'
    """
    if current_language() == "en" or not isinstance(text, str):
        return text
    out = wording.said(text)
    if out == text and ": " in text:
        head, rest = text.split(": ", 1)
        inner = wording.said(rest)
        if inner != rest:
            out = f"{head}: {inner}"
    if "\n" in out:
        out = "\n".join(wording.said(line) for line in out.split("\n"))
    return _pieces(out)
