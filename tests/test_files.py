"""File-level traps: encodings, delimiters, title and footer rows, ghost columns, bad files."""

import io
import zipfile

import pandas as pd
import pytest
from openpyxl import Workbook

import channelkpi as ck
from channelkpi.errors import ChannelKPIError, ColumnError, FileFormatError

GENERIC = (
    "Deal ID,Partner,Status,Amount,Close Date\nD1,Café Düsseldorf,Won,200,2024-03-01\nD2,Acme,Lost,400,2024-03-09\n"
)


def balanced(result):
    s = result.summary()
    assert s["rows_read"] == s["kept"] + s["merged"] + s["rejected"]
    return s


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [
        ("utf-8", b""),
        ("utf-8", b"\xef\xbb\xbf"),
        ("utf-16-le", b"\xff\xfe"),
        ("utf-16-be", b"\xfe\xff"),
        ("cp1252", b""),
    ],
)
def test_encodings(write, encoding, prefix):
    path = write("deals.csv", prefix + GENERIC.encode(encoding))
    result = ck.load_crm(path)
    assert result.deals["partner"].tolist() == ["Café Düsseldorf", "Acme"]
    assert result.deals.columns.tolist() == list(ck.COLUMNS)
    balanced(result)
    if encoding == "cp1252":
        assert any("not UTF-8" in w for w in result.warnings)


def test_utf16_without_bom_tab_separated_unicode_text(write):
    path = write("deals.txt", GENERIC.replace(",", "\t").encode("utf-16-le"))
    result = ck.load_crm(path)
    assert result.source.kind == "UTF-16 tab-separated text"
    assert result.deals["amount"].tolist() == [200.0, 400.0]


def test_mojibake_is_repaired_and_reported(write):
    garbled = GENERIC.replace("Café Düsseldorf", "CafÃ© DÃ¼sseldorf")
    result = ck.load_crm(write("deals.csv", garbled))
    assert result.deals["partner"].iloc[0] == "Café Düsseldorf"
    assert any("garbled" in w and "CafÃ©" in w for w in result.warnings)


@pytest.mark.parametrize("delim", [",", ";", "\t", "|"])
def test_delimiters(write, delim):
    text = GENERIC.replace(",", delim)
    result = ck.load_crm(write("deals.csv", text))
    assert len(result.deals) == 2 and result.deals["status"].tolist() == ["won", "lost"]


def test_excel_sep_hint_and_semicolon_with_decimal_comma(write):
    text = "sep=;\nDeal ID;Status;Amount\nD1;Won;1.200,50\nD2;Lost;350,00\n"
    result = ck.load_crm(write("deals.csv", text))
    assert result.deals["amount"].tolist() == [1200.5, 350.0]


def test_crlf_and_quoted_newlines(write):
    text = 'Deal ID,Status,Partner\r\nD1,Won,"Acme\r\nEast"\r\nD2,Lost,B\r\n'
    result = ck.load_crm(write("deals.csv", text))
    assert result.deals["partner"].tolist() == ["Acme East", "B"]
    assert result.deals["deal_id"].tolist() == ["D1", "D2"]


def test_title_rows_footers_and_blank_lines(write):
    text = (
        '"Opportunities by Stage"\n"Filtered By: Close Date = Current FY"\n\n'
        '"Opportunity ID","Stage","Amount"\n"006A","Closed Won","1,000"\n\n"006B","Closed Lost","50"\n'
        '\n"Grand Totals (2 records)"\n\n"Confidential Information - Do Not Distribute"\n'
        '"Copyright (c) 2000-2025 salesforce.com, inc. All rights reserved."\n'
    )
    result = ck.load_crm(write("report1642777476321.csv", text))
    s = balanced(result)
    assert (s["kept"], s["rejected"]) == (2, 3)
    assert result.ledger["reason"].tolist() == ["footer"] * 3
    assert result.ledger["row"].tolist() == [9, 11, 12]
    assert not any("footer says" in w for w in result.warnings)
    assert any("title row" in w for w in result.warnings)


def test_footer_count_that_disagrees_is_reported(write):
    text = '"Opportunity ID","Stage"\n"006A","Closed Won"\n\n"Grand Totals (5 records)"\n'
    result = ck.load_crm(write("r.csv", text))
    assert any("footer says 5 records but 1" in w for w in result.warnings)


def test_grouped_report_total_rows_are_rejected_with_reason(write):
    text = (
        "Opportunity ID,Partner Account,Stage,Amount\n006A,Acme,Closed Won,10\n,Acme Total,,10\n006B,B,Closed Lost,5\n"
    )
    result = ck.load_crm(write("r.csv", text))
    s = balanced(result)
    assert (s["kept"], s["rejected"]) == (2, 1)
    assert result.ledger.iloc[0][["row", "reason"]].tolist() == [3, "not_a_deal"]


def test_rows_with_too_many_fields_are_rejected_not_shifted(write):
    text = "Deal ID,Status,Amount\nD1,Won,100\nD2,Lost,1,200\nD3,Open,5\n"
    result = ck.load_crm(write("deals.csv", text))
    s = balanced(result)
    assert result.deals["deal_id"].tolist() == ["D1", "D3"]
    assert result.ledger.iloc[0][["row", "reason"]].tolist() == [3, "too_many_fields"]
    assert s["rejected"] == 1


def test_duplicated_headers_are_renamed_and_reported(write):
    text = "Deal ID,Status,Amount,Amount\nD1,Won,100,7\n"
    result = ck.load_crm(write("deals.csv", text))
    assert result.deals["amount"].tolist() == [100.0]
    assert any("appears more than once" in w for w in result.warnings)


def xlsx(rows, *, title_rows=(), ghost=0, sheets=("Deals",)):
    wb = Workbook()
    ws = wb.active
    ws.title = sheets[0]
    for t in title_rows:
        ws.append([t])
    for r in rows:
        ws.append(list(r) + [None] * ghost)
    if ghost:  # formatted but empty columns to the right
        for c in range(len(rows[0]) + 1, len(rows[0]) + ghost + 1):
            ws.cell(row=1 + len(title_rows), column=c).number_format = "0.00"
            ws.cell(row=2 + len(title_rows), column=c).value = ""
    for extra in sheets[1:]:
        wb.create_sheet(extra).append(["x"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_xlsx_title_rows_ghost_columns_and_date_cells(write):
    import datetime as dt

    data = xlsx(
        [
            ("Deal ID", "Status", "Amount", "Close Date"),
            ("D1", "Won", 1200.5, dt.datetime(2024, 3, 31)),
            ("D2", "Open", None, dt.date(2024, 5, 1)),
        ],
        title_rows=["Kestrel deals", "Exported 2026-01-05"],
        ghost=3,
    )
    result = ck.load_crm(write("deals.xlsx", data))
    d = result.deals
    assert d["amount"].tolist()[0] == 1200.5
    assert d["closed"].iloc[0] == pd.Timestamp("2024-03-31")
    assert d["expected_close"].iloc[1] == pd.Timestamp("2024-05-01")
    assert result.source.kind == "Excel workbook (sheet 'Deals')"
    balanced(result)


def test_xlsx_sheet_choice(write):
    data = xlsx([("Deal ID", "Status"), ("D1", "Won")], sheets=("Deals", "Notes"))
    path = write("deals.xlsx", data)
    assert ck.load_crm(path, sheet="deals").deals["deal_id"].tolist() == ["D1"]
    with pytest.raises(FileFormatError, match=r"no sheet 'Summary'.*\['Deals', 'Notes'\]"):
        ck.load_crm(path, sheet="Summary")
    with pytest.raises(FileFormatError, match="no sheet number 5"):
        ck.load_crm(path, sheet=5)


def test_buffers_and_upload_limits():
    assert len(ck.read_crm(io.BytesIO(GENERIC.encode()))) == 2
    assert len(ck.read_crm(GENERIC.encode())) == 2
    with pytest.raises(FileFormatError, match="over the limit of 10 bytes"):
        ck.load_crm(GENERIC.encode(), max_bytes=10)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"   \n\n", "the file is empty"),
        (b"%PDF-1.7 binary", "PDF document"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "PNG image"),
        (bytes(range(256)) * 4, "binary file"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, r"old Excel 97-2003 \(.xls\)"),
        (b"PK\x03\x04garbage", "damaged"),
    ],
)
def test_unreadable_files_get_a_clear_error(write, content, message):
    path = write("export.csv", content)
    with pytest.raises(FileFormatError, match=message) as info:
        ck.load_crm(path)
    assert "export.csv" in str(info.value) and "Fix:" in str(info.value)


def test_a_zip_that_is_not_a_workbook(write):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("word/document.xml", "<x/>")
    with pytest.raises(FileFormatError, match="not an Excel workbook"):
        ck.load_crm(write("export.xlsx", buf.getvalue()))


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(FileFormatError, match="no such file"):
        ck.load_crm(tmp_path / "nope.csv")
    with pytest.raises(FileFormatError, match="folder"):
        ck.load_crm(tmp_path)


def test_header_only_file_gives_an_empty_typed_table(write):
    result = ck.load_crm(write("deals.csv", "Deal ID,Status,Amount\n"))
    assert len(result.deals) == 0
    assert result.deals.dtypes.to_dict() == ck.empty_deals().dtypes.to_dict()
    assert balanced(result)["rows_read"] == 0


def test_errors_are_value_errors_with_file_and_fix(write):
    with pytest.raises(ValueError) as info:
        ck.load_crm(write("people.csv", "Name,Email\nA,a@example.com\n"))
    assert isinstance(info.value, ChannelKPIError)
    text = str(info.value)
    assert "people.csv" in text and "['Name', 'Email']" in text and "Fix:" in text


def test_columns_naming_an_absent_header(write):
    with pytest.raises(ColumnError, match=r"'Stage Name' that is not in the file.*\['Deal ID'"):
        ck.load_crm(write("d.csv", GENERIC), columns={"Stage Name": "stage"})
    with pytest.raises(ColumnError, match="not a column channelkpi knows"):
        ck.load_crm(write("d.csv", GENERIC), columns={"Partner": "reseller"})
