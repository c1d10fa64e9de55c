"""Reports: offline HTML, Excel workbooks and chart images, from Python and the command line.

Expected numbers are counted from the sample export with the csv module, not with channelkpi.
"""

import csv
import datetime
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from html.parser import HTMLParser

import pandas as pd
import pytest
from openpyxl import load_workbook

import channelkpi as ck
from channelkpi.cli import main
from channelkpi.datasets import make_sample_deals, sample_path

pytest.importorskip("vl_convert")

CHARTS = {
    "trend",
    "ranking",
    "pipeline_stage",
    "waterfall",
    "channel_mix",
    "channel_win_rates",
    "seasonality",
    "seasonality_bands",
    "cycles",
    "cohorts",
}
HOSTILE = [
    "<img src=x onerror=alert(1)>",
    '=HYPERLINK("http://evil.example","x")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-2+3",
]


def plain_2025():
    """Won count and amount per partner, and won/lost totals, for deals closed in 2025."""
    won = defaultdict(lambda: [0, 0.0])
    lost = 0
    with open(sample_path("salesforce"), newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if not row.get("Opportunity ID") or not row.get("Close Date"):
                continue
            month, day, year = map(int, row["Close Date"].split("/"))
            if year != 2025:
                continue
            partner = row["Partner Account"] or "(direct)"
            if row["Stage"] == "Closed Won":
                won[partner][0] += 1
                won[partner][1] += float(row["Amount"].replace(",", ""))
            elif row["Stage"] == "Closed Lost":
                lost += 1
    return dict(won), lost


class Tables(HTMLParser):
    """The rows of every <table> in a page, by the table's class, as lists of cell texts."""

    def __init__(self):
        super().__init__()
        self.tables, self._cls, self._row, self._cell = {}, None, None, None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._cls = dict(attrs).get("class", "")
            self.tables[self._cls] = []
        elif tag == "tr" and self._cls is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell)
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._cls].append(self._row)
            self._row = None
        elif tag == "table":
            self._cls = None


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """The monthly-review command of the README, run once: HTML, Excel, PNG and SVG."""
    out = tmp_path_factory.mktemp("review")
    args = [
        "report",
        str(sample_path("salesforce")),
        "--targets",
        str(sample_path("targets")),
        "--from",
        "2025-01",
        "--to",
        "2025-12",
        "--freq",
        "Q",
        "-o",
        str(out / "review.html"),
        "-o",
        str(out / "review.xlsx"),
        "--png",
        str(out / "png"),
        "--svg",
        str(out / "svg"),
    ]
    proc = subprocess.run([sys.executable, "-m", "channelkpi.cli", *args], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return out, proc


def test_command_reports_progress_and_writes_everything(made):
    out, proc = made
    assert proc.stdout == ""
    for step in (
        "reading",
        "rows split into 17 columns",
        "reconciling",
        "3,126 rows read",
        "computing the KPIs",
        "drawing 10 charts",
        "wrote",
        "wrote 20 images",
    ):
        assert step in proc.stderr
    assert (out / "review.html").stat().st_size > 10_000
    assert (out / "review.xlsx").stat().st_size > 10_000


def test_html_is_self_contained(made):
    html = (made[0] / "review.html").read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>")
    for pattern in (
        r"<script",
        r"<link",
        r"@import",
        r"url\((?!#)",
        r"\bsrc\s*=",
        r"<iframe",
        r"<object",
        r"<img",
        r"href=\"(?!#)",
    ):
        assert not re.search(pattern, html, re.IGNORECASE), pattern
    # clip paths point into their own chart: ids are unique on the page
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert ids and len(ids) == len(set(ids))
    assert set(re.findall(r"url\(#([^)]+)\)", html)) <= set(ids)
    # the only URLs are the XML namespaces inline SVG declares: nothing to fetch
    assert set(re.findall(r"https?://[^\s\"'<>)]+", html)) <= {
        "http://www.w3.org/2000/svg",
        "http://www.w3.org/1999/xlink",
    }
    assert html.count("<svg") == len(CHARTS)


def test_html_has_the_expected_numbers(made):
    html = (made[0] / "review.html").read_text(encoding="utf-8")
    won, lost = plain_2025()
    n_won = sum(c for c, _ in won.values())
    amount = sum(a for _, a in won.values())
    # tiles: deals won, win rate, average deal size
    assert re.search(rf"Deals won</div><div class='ck-value'>{n_won:,}</div>", html)
    assert re.search(rf"Win rate</div><div class='ck-value'>{n_won / (n_won + lost):.1%}</div>", html)
    avg_k = amount / n_won / 1000
    assert f"Average deal size</div><div class='ck-value'>${avg_k:,.1f}k</div>" in html
    # the scorecard: every partner with a 2025 win, its won amount and count
    parser = Tables()
    parser.feed(html)
    rows = parser.tables["ck-table ck-scorecard"]
    head, body = rows[0], rows[1:]
    assert head[:5] == ["Partner", "Rank", "Quality score", "Won amount", "Won deals"]
    got = {r[0]: (r[4], r[3]) for r in body}
    for partner, (count, total) in won.items():
        if partner != "(direct)":  # deals without a partner are not ranked, and the page says so
            assert got[partner] == (f"{count:,}", f"${total:,.0f}"), partner
    assert "(direct)" in won and "(direct)" not in got
    assert "Deals without a partner are not ranked" in html
    ranks = [int(r[1]) for r in body]
    assert ranks == sorted(ranks)
    # definitions of all eight KPIs and the ledger summary
    for title in (
        "Average deal size",
        "Deal count",
        "Opportunity pipeline",
        "Marketing channels",
        "Close rate (win rate)",
        "Deal velocity",
        "Quality score",
        "Deal success",
    ):
        assert f"<dt>{title}" in html
    assert "3,126 rows read = 3,123 kept + 0 merged + 3 rejected" in html
    assert parser.tables["ck-table ck-ledger"][1] == ["rejected", "footer", "3"]


def test_workbook_sheets_formats_and_values(made):
    book = load_workbook(made[0] / "review.xlsx")
    assert book.sheetnames == [
        "Summary",
        "About",
        "Scorecard",
        "KPIs by period",
        "Totals by period",
        "Pipeline by stage",
        "Pipeline waterfall",
        "Targets",
        "Channel mix",
        "Channel win rates",
        "Seasonality by unit",
        "Seasonality",
        "Cycle lengths",
        "Deal success cohorts",
        "Definitions",
        "Ledger",
    ]
    for ws in book.worksheets:
        assert ws.freeze_panes == "A2", ws.title
    sc = book["Scorecard"]
    head = [c.value for c in sc[1]]
    col = {name: i for i, name in enumerate(head)}
    won, _ = plain_2025()
    seen = 0
    for row in sc.iter_rows(min_row=2):
        partner = row[col["partner"]].value
        if partner in won:
            seen += 1
            assert row[col["won_count"]].value == won[partner][0]
            assert row[col["won_amount"]].value == pytest.approx(won[partner][1])
        assert row[col["won_amount"]].number_format == '"$"#,##0.00;-"$"#,##0.00'
        assert row[col["win_rate"]].number_format == "0.0%"
        assert row[col["won_count"]].number_format == "#,##0"
    assert seen == len(won) - 1  # every partner with a win; the deals without one are not ranked
    assert sc.column_dimensions["A"].width >= len("Meridian Systems Group")
    # the summary's values are formatted per KPI: money, count, rate
    summary = {r[0].value: r[1] for r in book["Summary"].iter_rows(min_row=2)}
    assert summary["Average deal size"].number_format.startswith('"$"')
    assert summary["Win rate"].number_format == "0.0%"
    assert summary["Deals won"].value == sum(c for c, _ in won.values())
    targets = book["Targets"]
    head = [c.value for c in targets[1]]
    assert [r[head.index("period")].value for r in targets.iter_rows(min_row=2)] == [
        "2025-Q1",
        "2025-Q2",
        "2025-Q3",
        "2025-Q4",
    ]
    assert targets.cell(2, head.index("period_start") + 1).number_format == "yyyy-mm-dd"
    assert targets.cell(2, head.index("period_start") + 1).value == datetime.datetime(2025, 1, 1)
    defs = [r[0].value for r in book["Definitions"].iter_rows(min_row=2)]
    assert "win_rate" in defs and "deal_success" in defs
    ledger = [[c.value for c in r] for r in book["Ledger"].iter_rows()]
    assert ledger[0][:3] == ["row", "outcome", "reason"] and len(ledger) == 4


def test_images_are_valid(made):
    out = made[0]
    assert {p.stem for p in (out / "png").iterdir()} == CHARTS
    assert {p.stem for p in (out / "svg").iterdir()} == CHARTS
    for p in (out / "png").iterdir():
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for p in (out / "svg").iterdir():
        root = ET.parse(p).getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert float(root.get("width")) > 100


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    deals = make_sample_deals().copy()
    partners = sorted(deals["partner"].unique())[: len(HOSTILE)]
    deals["partner"] = deals["partner"].replace(dict(zip(partners, HOSTILE, strict=True)))
    deals["owner"] = deals["owner"].astype(object)
    for i, name in enumerate(HOSTILE):  # the report is by owner: these names fill its sheets
        deals.loc[deals.index[i * 200 : (i + 1) * 200], "owner"] = name
    out = tmp_path_factory.mktemp("hostile")
    ck.report(deals, path=[out / "r.html", out / "r.xlsx"], by="owner")
    return out


def test_hostile_names_stay_text_in_html(hostile):
    html = (hostile / "r.html").read_text(encoding="utf-8")
    assert "<img" not in html and "onerror=alert(1)>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    parser = Tables()
    parser.feed(html)
    assert HOSTILE[0] in [r[0] for r in parser.tables["ck-table ck-scorecard"]]  # shown, as text


def test_hostile_names_are_inert_in_excel(hostile):
    book = load_workbook(hostile / "r.xlsx")
    texts = []
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts.append(cell.value)
    for name in HOSTILE[1:]:
        assert name not in texts and "'" + name in texts


def test_partner_filter(tmp_path):
    won, _ = plain_2025()
    chosen = ["Brightline IT", "Cobalt Integrations"]
    deals = ck.load_crm(sample_path("salesforce"))
    ck.report(deals, path=tmp_path / "two.xlsx", partners=chosen, start="2025-01", end="2025-12")
    sc = pd.read_excel(tmp_path / "two.xlsx", sheet_name="Scorecard")
    assert sorted(sc["partner"]) == chosen
    partners = deals.deals[deals.deals["partner"] != "(direct)"]
    everyone = ck.quality_score(partners, start="2025-01", end="2025-12").set_index("partner")
    for p in chosen:
        row = sc[sc["partner"] == p].iloc[0]
        assert row["won_amount"] == pytest.approx(won[p][1])
        assert row["rank"] == everyone.loc[p, "rank"]  # ranked among all partners, not the two


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--partner", "Brightline"], "did you mean 'Brightline IT'"),
        (["--from", "2025-13"], "--from 2025-01"),
        (["--from", "2025-12", "--to", "2025-01"], "swap"),
        (["-o", "review.pdf"], ".html"),
        (["-o", "no/such/folder/review.html"], "does not exist"),
        ([], "nothing to write"),
    ],
)
def test_bad_options_fail_with_one_line(args, needle, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if "-o" not in args and args:
        args = [*args, "-o", "r.xlsx"]
    code = main(["report", str(sample_path("salesforce")), "--quiet", *args])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("channelkpi: error: ") and err.count("\n") == 1, err
    assert needle in err


def test_bad_input_fails_with_one_line(tmp_path, capsys):
    fake = tmp_path / "export.csv"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    assert main(["report", str(fake), "-o", str(tmp_path / "r.html")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("channelkpi: error: ") and "export.csv" in err[-1]
    assert not (tmp_path / "r.html").exists()
    assert main(["report", str(tmp_path / "missing.csv"), "-o", str(tmp_path / "r.html")]) == 1
    assert "missing.csv" in capsys.readouterr().err


def test_report_never_loads_the_dashboard(tmp_path):
    # (Altair itself loads anywidget when it is installed; the rule is about channelkpi's layers)
    code = (
        "import sys, channelkpi as ck;"
        "from channelkpi.datasets import make_sample_deals;"
        f"ck.report(make_sample_deals(), path={str(tmp_path / 'r.html')!r});"
        "bad = [m for m in ('channelkpi.widgets', 'voila') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
