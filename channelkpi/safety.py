"""Keeping user data inert where it leaves channelkpi: HTML, spreadsheets, uploads.

Partner names, owners, stages and file names come from CRM exports that anyone may have
typed into. Wherever channelkpi turns them into HTML they go through :func:`html_text`;
wherever it writes CSV or Excel, text cells go through :func:`neutralize_formula` so a
spreadsheet program shows them instead of running them.

Examples
--------
>>> html_text('<img src=x onerror=alert(1)>')
'&lt;img src=x onerror=alert(1)&gt;'
>>> neutralize_formula('=HYPERLINK("http://evil", "click")')
'\\'=HYPERLINK("http://evil", "click")'
>>> neutralize_formula("-5"), neutralize_formula(-5), neutralize_formula("Acme")
("'-5", -5, 'Acme')
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable, Collection
from pathlib import Path

import pandas as pd

from .errors import FileFormatError
from .headings import kpi_headings
from .i18n import current_locale, resolve_locale, using

__all__ = [
    "FORMULA_PREFIXES",
    "UPLOAD_SUFFIXES",
    "DEFAULT_UPLOAD_LIMIT",
    "html_text",
    "neutralize_formula",
    "neutralize_frame",
    "SEMICOLON_LANGUAGES",
    "to_csv",
    "to_excel",
    "check_upload",
]

#: A text cell starting with one of these is read as a formula by Excel, LibreOffice, Sheets.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: File types an upload may have.
UPLOAD_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx")
#: 50 MB: about 250,000 CRM rows.
DEFAULT_UPLOAD_LIMIT = 50 * 1024 * 1024


def html_text(value: object) -> str:
    """Text for HTML: ``<``, ``>``, ``&`` and quotes escaped; missing values as an em dash."""
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    return html.escape(str(value), quote=True)


def neutralize_formula(value: object) -> object:
    """Prefix a text cell that a spreadsheet would run as a formula with ``'``; others unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralize_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and column names) cannot run as formulas."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or isinstance(out[col].dtype, pd.StringDtype):
            out[col] = out[col].map(neutralize_formula).astype(object)
    out.columns = [neutralize_formula(str(c)) for c in out.columns]
    return out


#: Languages whose spreadsheet programs read ``;`` between cells and ``,`` before decimals: Excel
#: in a Dutch, German or French region opens such a file as columns of numbers.
SEMICOLON_LANGUAGES = ("nl", "de", "fr")


def to_csv(
    frame: pd.DataFrame, path_or_buffer=None, *, locale: str | None = None, headings: bool = True, **kwargs
) -> str | None:
    """``DataFrame.to_csv`` with formula-like text cells neutralised (UTF-8 with BOM for Excel).

    ``locale`` (the locale in force by default, see :func:`channelkpi.i18n.using`) chooses the
    separators Excel expects there: ``;`` between cells and a decimal comma for Dutch, German and
    French, ``,`` and a decimal point otherwise. ``sep=`` and ``decimal=`` still win. With
    ``headings`` a KPI table's columns are headed in the locale's words
    (:func:`channelkpi.headings.kpi_headings`: "Winratio" for ``win_rate`` in Dutch; English keeps
    the names of code, and so does every column that is not one of channelkpi's). A file written
    to a path starts with a byte order mark; text returned is encoded by the caller.

    >>> frame = pd.DataFrame({"partner": ["Acme"], "won_amount": [1234.5]})
    >>> to_csv(frame)
    'partner,won_amount\\nAcme,1234.5\\n'
    >>> to_csv(frame, locale="nl-NL")
    'Partner;Gewonnen bedrag\\nAcme;1234,5\\n'
    >>> to_csv(frame, locale="nl-NL", headings=False)
    'partner;won_amount\\nAcme;1234,5\\n'
    """
    tag = resolve_locale(locale) if locale else current_locale()
    if tag.split("-")[0] in SEMICOLON_LANGUAGES:
        kwargs.setdefault("sep", ";")
        kwargs.setdefault("decimal", ",")
    kwargs.setdefault("index", False)
    if headings:
        with using(tag):
            frame = frame.rename(columns=kpi_headings(frame.columns))
    if path_or_buffer is None:
        return neutralize_frame(frame).to_csv(None, **kwargs)
    kwargs.setdefault("encoding", "utf-8-sig")
    neutralize_frame(frame).to_csv(path_or_buffer, **kwargs)
    return None


def to_excel(
    sheets: dict[str, pd.DataFrame] | pd.DataFrame,
    path_or_buffer=None,
    *,
    number_formats: Callable[[str], str | None] | None = None,
    headings: bool | Collection[str] = False,
) -> bytes | None:
    """Write one or several tables to ``.xlsx`` with text cells neutralised and headers frozen.

    ``number_formats`` maps a column name to an Excel number format (``"0.0%"``,
    ``'"$"#,##0.00'``) or None for the default. Columns are sized to their contents (within
    limits). ``headings`` (True: every sheet; or the names of the sheets holding KPI tables)
    heads a KPI table's columns in the words of the locale in force
    (:func:`channelkpi.headings.kpi_headings`); ``number_formats`` still reads the names of code.
    Returns the bytes when ``path_or_buffer`` is None.
    """
    from openpyxl.utils import get_column_letter

    if isinstance(sheets, pd.DataFrame):
        sheets = {"KPIs": sheets}
    target = io.BytesIO() if path_or_buffer is None else path_or_buffer
    with pd.ExcelWriter(target, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            headed = headings is True or (not isinstance(headings, bool) and name in headings)
            shown = frame.rename(columns=kpi_headings(frame.columns)) if headed else frame
            safe = neutralize_frame(shown)
            for col in safe.columns:  # Excel has no time zones and no pandas string dtype
                if isinstance(safe[col].dtype, pd.DatetimeTZDtype):
                    safe[col] = safe[col].dt.tz_localize(None)
            sheet = str(neutralize_formula(name))[:31]
            safe.to_excel(writer, sheet_name=sheet, index=False, freeze_panes=(1, 0))
            ws = writer.sheets[sheet]
            for j, col in enumerate(frame.columns, start=1):
                letter = get_column_letter(j)
                fmt = number_formats(str(col)) if number_formats else None
                if fmt:
                    for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                        cell.number_format = fmt
                sample = safe[safe.columns[j - 1]].head(200)
                longest = max(
                    [
                        len(str(safe.columns[j - 1])),
                        *(len(f"{v:,.2f}") if isinstance(v, float) else len(str(v)) for v in sample),
                    ]
                )
                ws.column_dimensions[letter].width = min(max(longest + 2, 8), 60)
    if path_or_buffer is None:
        return target.getvalue()
    return None


def check_upload(name: str, size: int, *, max_bytes: int = DEFAULT_UPLOAD_LIMIT) -> None:
    """Refuse an upload by type (file name suffix) or size, with a message for the person uploading."""
    shown = repr(str(name)) if name else "the file"  # plain text: whoever shows it as HTML escapes it
    suffix = Path(str(name)).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise FileFormatError(
            f"{shown} is not a CRM export this dashboard reads ({suffix or 'no file type'})",
            fix=f"upload a {', '.join(UPLOAD_SUFFIXES)} file exported from your CRM",
        )
    if size > max_bytes:
        raise FileFormatError(
            f"{shown} is {size / 2**20:.1f} MB, more than the {max_bytes / 2**20:.0f} MB this dashboard accepts",
            fix="export fewer rows or columns (a date range or one pipeline), or analyse it in a notebook",
        )
