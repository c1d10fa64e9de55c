"""A corpus of odd and hostile inputs, generated here. Each one either loads into a correct
canonical table with a balanced ledger, or raises a channelkpi error that names the file and
the fix (and the row, column and value where there is one). Never a bare pandas/numpy error."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook

import channelkpi as ck

HEAD = "Deal ID,Partner,Status,Amount,Created,Close Date\n"


def csv(*rows: str, head: str = HEAD) -> bytes:
    return (head + "\n".join(rows) + "\n").encode("utf-8")


def xlsx(rows, *, title_rows=(), ghost=0) -> bytes:
    wb = Workbook()
    ws = wb.active
    for t in title_rows:
        ws.append([t])
    for r in rows:
        ws.append(list(r))
    for c in range(len(rows[0]) + 1, len(rows[0]) + 1 + ghost):
        ws.cell(row=len(title_rows) + 1, column=c).number_format = "0.00"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@dataclass
class Case:
    name: str
    data: Callable[[], bytes]
    kept: int | None = None  # expected deals kept; None when an error is expected
    error: str | None = None  # regex the error message must match
    check: Callable[[ck.LoadResult], None] | None = None
    options: dict | None = None
    suffix: str = ".csv"


def warns(text):
    def check(r):
        assert any(text in w for w in r.warnings), r.warnings

    return check


def partner_is(value):
    def check(r):
        assert r.deals["partner"].iloc[0] == value, r.deals["partner"].iloc[0]

    return check


BASIC = ["D1,Café,Won,200,2024-01-05,2024-03-01", "D2,Acme,Lost,400,2024-01-06,2024-03-09"]
LONG = "x" * 10_000


CASES = [
    # ---- encodings
    Case("utf8_bom", lambda: b"\xef\xbb\xbf" + csv(*BASIC), 2, check=partner_is("Café")),
    Case(
        "utf16_le_bom_tab",
        lambda: b"\xff\xfe" + csv(*BASIC).decode().replace(",", "\t").encode("utf-16-le"),
        2,
        check=partner_is("Café"),
    ),
    Case("utf16_be_bom", lambda: b"\xfe\xff" + csv(*BASIC).decode().encode("utf-16-be"), 2, check=partner_is("Café")),
    Case("utf16_no_bom", lambda: csv(*BASIC).decode().encode("utf-16-le"), 2, check=partner_is("Café")),
    Case("cp1252", lambda: csv(*BASIC).decode().encode("cp1252"), 2, check=partner_is("Café")),
    Case(
        "double_encoded_utf8",
        lambda: csv(*BASIC).decode().encode("utf-8").decode("latin-1").encode("utf-8"),
        2,
        check=partner_is("Café"),
    ),
    Case(
        "latin1_undefined_cp1252_byte",
        lambda: csv("D1,Caf\x81,Won,1,2024-01-01,2024-02-01").decode().encode("latin-1"),
        1,
        check=warns("not UTF-8"),
    ),
    Case("nul_bytes_inside_text", lambda: csv(*BASIC).replace(b"Acme", b"Ac\x00me"), error="binary"),
    # ---- delimiters and locales
    Case(
        "semicolon_decimal_comma",
        lambda: csv("D1;A;Won;1.200,50;2024-01-01;2024-02-01", head=HEAD.replace(",", ";")),
        1,
        check=lambda r: r.deals["amount"].tolist() == [1200.5] or pytest.fail(str(r.deals["amount"])),
    ),
    Case(
        "nbsp_thousands_euro",
        lambda: csv('D1,A,Won,"1\u00a0200,50 €",2024-01-01,2024-02-01', 'D2,A,Won,"300,00 €",2024-01-01,2024-02-01'),
        2,
        check=lambda r: r.deals["amount"].tolist() == [1200.5, 300.0] or pytest.fail(str(r.deals["amount"])),
    ),
    Case("pipe_delimited", lambda: csv(*BASIC).replace(b",", b"|"), 2),
    Case("excel_sep_hint", lambda: b"sep=;\n" + csv(*BASIC).replace(b",", b";"), 2),
    Case(
        "mixed_decimal_styles",
        lambda: csv('D1,A,Won,"1,200.50",2024-01-01,2024-02-01', 'D2,A,Won,"12,5",2024-01-01,2024-02-01'),
        error="mix a decimal point and a decimal comma",
    ),
    Case("old_mac_cr_line_endings", lambda: csv(*BASIC).replace(b"\n", b"\r"), 2),
    # ---- vendor footers and title rows
    Case(
        "salesforce_footer",
        lambda: (
            csv(*BASIC) + b'\n"Grand Totals (2 records)"\n\n"Confidential Information - Do Not Distribute"\n'
            b'"Copyright (c) 2000-2025 salesforce.com, inc. All rights reserved."\n'
        ),
        2,
    ),
    Case("title_rows", lambda: b"Pipeline report\nRun by: ops\n\n" + csv(*BASIC), 2, check=warns("title row")),
    Case("subtotal_rows", lambda: csv(BASIC[0], ",Acme Subtotal,,200,,", BASIC[1]), 2),
    # ---- Excel
    Case(
        "xlsx_ghost_columns",
        lambda: xlsx([HEAD.strip().split(","), *[b.split(",") for b in BASIC]], ghost=4),
        2,
        suffix=".xlsx",
    ),
    Case(
        "xlsx_title_rows",
        lambda: xlsx([HEAD.strip().split(","), *[b.split(",") for b in BASIC]], title_rows=["Deals", "2026"]),
        2,
        suffix=".xlsx",
    ),
    Case("xls_97_2003", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), error=r"\.xls\)", suffix=".xls"),
    Case(
        "docx_renamed_xlsx", lambda: _zip({"word/document.xml": "<w/>"}), error="not an Excel workbook", suffix=".xlsx"
    ),
    # ---- structure
    Case("header_only", lambda: HEAD.encode(), 0),
    Case("empty_file", lambda: b"", error="empty"),
    Case("whitespace_only", lambda: b" \r\n\t\n", error="empty"),
    Case(
        "duplicated_headers",
        lambda: csv("D1,A,Won,200,2024-01-01,2024-02-01,9", head=HEAD.strip() + ",Amount\n"),
        1,
        check=warns("appears more than once"),
    ),
    Case(
        "duplicate_ids_conflicting_status",
        lambda: csv("D1,A,Won,200,2024-01-01,2024-02-01", "D1,A,Lost,100,2024-01-01,2024-02-01"),
        1,
        check=warns("conflicting statuses"),
    ),
    Case("exact_duplicate_rows", lambda: csv(BASIC[0], BASIC[0], BASIC[1]), 2, check=warns("exact repeats")),
    Case(
        "too_many_fields",
        lambda: csv(BASIC[0], "D2,A,Lost,1,200,2024-01-01,2024-02-01"),
        1,
        check=lambda r: r.ledger["reason"].tolist() == ["too_many_fields"] or pytest.fail(str(r.ledger)),
    ),
    Case(
        "quoted_newlines", lambda: csv('D1,"Acme\nEast",Won,1,2024-01-01,2024-02-01'), 1, check=partner_is("Acme East")
    ),
    Case(
        "no_id_and_no_status",
        lambda: csv(BASIC[0], ",,,,,", ",Acme,,5,,"),
        1,
        check=lambda r: r.ledger["reason"].tolist() == ["not_a_deal"] or pytest.fail(str(r.ledger)),
    ),
    # ---- dates
    Case("closed_before_created", lambda: csv("D1,A,Won,1,2024-05-01,2024-02-01"), 1, check=warns("closed before")),
    Case(
        "far_future_dates", lambda: csv("D1,A,Open,1,2024-05-01,2090-02-01"), 1, check=warns("more than 10 years ahead")
    ),
    Case("pre_1990_dates", lambda: csv("D1,A,Won,1,1985-05-01,1986-02-01"), 1, check=warns("before 1990")),
    Case(
        "placeholder_9999",
        lambda: csv("D1,A,Won,1,2024-05-01,9999-12-31", "D2,A,Won,1,2024-05-01,2024-06-01"),
        2,
        check=warns("outside 1678-2261"),
    ),
    Case(
        "ambiguous_day_month",
        lambda: csv("D1,A,Won,1,01/02/2024,03/04/2024"),
        1,
        check=warns("fits both day-first and month-first"),
    ),
    Case(
        "day_and_month_first_mixed",
        lambda: csv("D1,A,Won,1,13/01/2024,2024-02-01", "D2,A,Won,1,01/13/2024,2024-02-01"),
        error="mix day-first and month-first",
    ),
    # ---- amounts
    Case("negative_amounts", lambda: csv("D1,A,Won,-500,2024-01-01,2024-02-01"), 1, check=warns("negative amount")),
    Case("absurd_amounts", lambda: csv("D1,A,Won,1e13,2024-01-01,2024-02-01"), 1, check=warns("above 100 billion")),
    Case(
        "several_currencies",
        lambda: csv("D1,A,Won,$5,2024-01-01,2024-02-01", "D2,A,Won,€5,2024-01-01,2024-02-01"),
        error=r"several currencies \(USD: 1 rows, EUR: 1 rows\)",
    ),
    Case(
        "several_currencies_with_fx",
        lambda: csv("D1,A,Won,$5,2024-01-01,2024-02-01", "D2,A,Won,€5,2024-01-01,2024-02-01"),
        2,
        options={"currency": "USD", "fx": {"EUR": 2.0}},
        check=lambda r: r.deals["amount"].tolist() == [5.0, 10.0] or pytest.fail(str(r.deals["amount"])),
    ),
    Case(
        "text_in_amount_column",
        lambda: csv("D1,A,Won,TBD,2024-01-01,2024-02-01", "D2,A,Won,5,2024-01-01,2024-02-01"),
        2,
        check=warns("not amounts"),
    ),
    Case(
        "only_text_in_amount_column",
        lambda: csv("D1,A,Won,TBD,2024-01-01,2024-02-01"),
        error="no value in this amount column",
    ),
    Case(
        "text_in_date_column",
        lambda: csv("D1,A,Won,5,soon,2024-02-01", "D2,A,Won,5,2024-01-01,2024-02-01"),
        2,
        check=warns("not dates"),
    ),
    # ---- outcomes
    Case(
        "unknown_open_stage",
        lambda: csv("D1,A,Verbal Commit,5,2024-01-01,2024-02-01", head=HEAD.replace("Status", "Stage")),
        1,
        check=warns("taken as open"),
    ),
    Case(
        "unknown_closed_stage",
        lambda: csv("D1,A,Closed - Budget,5,2024-01-01,2024-02-01", head=HEAD.replace("Status", "Stage")),
        error="look closed",
    ),
    Case("unknown_status_value", lambda: csv("D1,A,Maybe,5,2024-01-01,2024-02-01"), error="not open/won/lost"),
    # ---- cells
    Case(
        "ten_thousand_character_cell", lambda: csv(f"D1,{LONG},Won,5,2024-01-01,2024-02-01"), 1, check=partner_is(LONG)
    ),
    Case(
        "formula_strings",
        lambda: csv('D1,"=HYPERLINK(""http://x"",""y"")",Won,5,2024-01-01,2024-02-01'),
        1,
        check=partner_is('=HYPERLINK("http://x","y")'),
    ),
    Case(
        "html_in_names",
        lambda: csv("D1,<img src=x onerror=alert(1)>,Won,5,2024-01-01,2024-02-01"),
        1,
        check=partner_is("<img src=x onerror=alert(1)>"),
    ),
    Case(
        "scientific_notation_ids",
        lambda: csv("4.87688E+18,A,Won,5,2024-01-01,2024-02-01"),
        1,
        check=warns("scientific notation"),
    ),
    # ---- not CRM exports at all
    Case(
        "random_binary_renamed_csv",
        lambda: bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8)),
        error="binary",
    ),
    Case("png_renamed_csv", lambda: b"\x89PNG\r\n\x1a\n" + bytes(100), error="PNG image"),
    Case("pdf_renamed_csv", lambda: b"%PDF-1.7\n" + bytes(100), error="PDF document"),
    Case("gzip_renamed_csv", lambda: b"\x1f\x8b\x08\x00" + bytes(100), error="gzip archive"),
    Case("people_list_not_deals", lambda: b"Name,Email\nA,a@example.com\n", error="cannot tell which CRM"),
]


def _zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()


def test_the_corpus_is_large():
    assert len(CASES) >= 40
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input(case: Case, tmp_path):
    path = tmp_path / f"{case.name}{case.suffix}"
    path.write_bytes(case.data())
    if case.error:
        with pytest.raises(ck.ChannelKPIError, match=case.error) as info:
            ck.load_crm(path, **(case.options or {}))
        message = str(info.value)
        assert path.name in message, message
        assert "Fix:" in message, message
        assert "Traceback" not in message
        if info.value.row is not None:
            assert f"row {info.value.row}" in message
        return
    result = ck.load_crm(path, **(case.options or {}))
    s = result.summary()
    assert s["rows_read"] == s["kept"] + s["merged"] + s["rejected"], s
    assert s["kept"] == case.kept == len(result.deals), s
    assert list(result.deals.columns) == list(ck.COLUMNS)
    assert result.deals.dtypes.to_dict() == ck.empty_deals().dtypes.to_dict()
    assert set(result.deals["status"].dropna()) <= {"open", "won", "lost"}
    if case.check:
        case.check(result)


@pytest.mark.slow
def test_a_million_row_export_loads_and_balances(tmp_path):
    n = 1_000_000
    rng = np.random.default_rng(0)
    status = rng.choice(np.array(["Won", "Lost", "Open"]), n)
    amount = rng.integers(100, 100_000, n)
    day = rng.integers(1, 28, n)
    lines = "\n".join(f"D{i},P{i % 500},{s},{a},2024-03-{d:02d}" for i, s, a, d in zip(range(n), status, amount, day))
    path = tmp_path / "big.csv"
    path.write_text("Deal ID,Partner,Status,Amount,Close Date\n" + lines + "\n")
    result = ck.load_crm(path)
    s = result.summary()
    assert (s["rows_read"], s["kept"], s["merged"], s["rejected"]) == (n, n, 0, 0)
    assert s["won"] == int((status == "Won").sum())
    assert result.deals["amount"].sum() == pytest.approx(float(amount.sum()))


def test_nothing_evaluates_unpickles_or_imports_user_input():
    import pathlib
    import re

    package = pathlib.Path(ck.__file__).parent
    pattern = re.compile(
        r"\b(eval|exec|compile)\(|pickle|marshal|__import__|importlib\.import_module|shell=True|os\.system"
    )
    offenders = [
        f"{p.relative_to(package)}:{i}"
        for p in package.rglob("*.py")
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if pattern.search(line) and "re.compile(" not in line
    ]
    assert offenders == []


def test_exports_neutralise_formulas(tmp_path):
    frame = pd.DataFrame(
        {"partner": ["=1+1", "+SUM(A1)", "-2", "@x", "\tcmd", "Acme"], "won_amount": [1.0, -2.0, 3.0, 4.0, 5.0, 6.0]}
    )
    from channelkpi import safety

    text = safety.to_csv(frame)
    lines = text.splitlines()
    assert lines[1].startswith("'=1+1") and lines[2].startswith("'+SUM") and lines[3].startswith("'-2")
    assert lines[4].startswith("'@x") and lines[5].startswith("'\tcmd") and lines[6].startswith("Acme")
    assert lines[2].endswith(",-2.0")  # numbers stay numbers
    data = safety.to_excel({"KPIs": frame})
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(data))["KPIs"]
    values = [ws.cell(row=r, column=1).value for r in range(2, 8)]
    assert values == ["'=1+1", "'+SUM(A1)", "'-2", "'@x", "'\tcmd", "Acme"]
    assert all(ws.cell(row=r, column=1).data_type == "s" for r in range(2, 8))
    assert ws.cell(row=3, column=2).value == -2.0 and ws.freeze_panes == "A2"


def test_uploads_are_bounded_and_typed():
    from channelkpi import safety

    safety.check_upload("deals.csv", 1000)
    with pytest.raises(ck.FileFormatError, match="not a CRM export this dashboard reads") as info:
        safety.check_upload("<b>evil</b>.exe", 10)
    assert "'<b>evil</b>.exe'" in str(info.value)  # plain text; HTML views escape it
    with pytest.raises(ck.FileFormatError, match="more than the 50 MB"):
        safety.check_upload("deals.xlsx", 60 * 1024 * 1024)
    with pytest.raises(ck.FileFormatError, match="over the limit"):
        ck.load_crm(io.BytesIO(b"x" * 100), max_bytes=10)
