"""Reports: offline HTML, Excel workbooks and chart images, from Python and the command line.

Expected numbers are counted from the sample export with the csv module, not with channelkpi.
"""

import csv
import datetime
import html as html_lib
import re
import subprocess
import sys
import unicodedata
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
    """The rows of every <table> in a page, by the table's class, as lists of cell texts.

    A table inside a table (a scorecard row's deals) is kept apart: ``deals[name]`` holds the
    rows of the deals table that follows the scorecard row of ``name``, and the scorecard's
    rows that hold them are left out of its rows.
    """

    def __init__(self):
        super().__init__()
        self.tables, self.deals, self.summaries = {}, {}, {}
        self._stack = []  # per open table: its class, rows, the open row (or None), the open cell
        self._summary = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            cls = a.get("class", "")
            rows = []
            if self._stack and "ck-deals" in cls.split():
                owner = self.tables[self._stack[-1]["cls"]][-1][0]  # the scorecard row just above
                self.deals[owner] = rows
                self.summaries[owner] = self._last_summary
            else:
                self.tables.setdefault(cls, rows)
            self._stack.append({"cls": cls, "rows": rows, "row": None, "cell": None, "skip": False})
        elif not self._stack:
            return
        elif tag == "tr":
            top = self._stack[-1]
            top["row"], top["skip"] = [], a.get("class") == "ck-deals-row"
        elif tag in ("td", "th") and self._stack[-1]["row"] is not None:
            self._stack[-1]["cell"] = ""
        elif tag == "summary":
            self._summary = ""

    def handle_data(self, data):
        if self._summary is not None:
            self._summary += data
        elif self._stack and self._stack[-1]["cell"] is not None:
            self._stack[-1]["cell"] += data

    def handle_endtag(self, tag):
        if not self._stack:
            return
        top = self._stack[-1]
        if tag == "summary":
            self._last_summary, self._summary = self._summary, None
        elif tag in ("td", "th") and top["cell"] is not None:
            top["row"].append(top["cell"])
            top["cell"] = None
        elif tag == "tr" and top["row"] is not None:
            if not top["skip"]:
                top["rows"].append(top["row"])
            top["row"] = None
        elif tag == "table":
            self._stack.pop()


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


@pytest.mark.slow
def test_command_reports_progress_and_writes_everything(made):
    out, proc = made
    assert proc.stdout == ""
    for step in (
        "reading",
        "rows split into 18 columns",  # the Salesforce sample's header, Product included
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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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
        "Deals",
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_hostile_names_stay_text_in_html(hostile):
    html = (hostile / "r.html").read_text(encoding="utf-8")
    assert "<img" not in html and "onerror=alert(1)>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    parser = Tables()
    parser.feed(html)
    assert HOSTILE[0] in [r[0] for r in parser.tables["ck-table ck-scorecard"]]  # shown, as text


@pytest.mark.slow
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


@pytest.mark.slow
def test_partner_filter(tmp_path):
    won, _ = plain_2025()
    chosen = ["Brightline IT", "Cobalt Integrations"]
    deals = ck.load_crm(sample_path("salesforce"))
    ck.report(deals, path=tmp_path / "two.xlsx", where={"partner": chosen}, start="2025-01", end="2025-12")
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
@pytest.mark.slow
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


@pytest.mark.slow
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


# --------------------------------------------------------------------------- the handout
@pytest.fixture(scope="module")
def handout(tmp_path_factory):
    """The report as most people make it: the whole export, no range given."""
    out = tmp_path_factory.mktemp("handout") / "review.html"
    assert main(["report", str(sample_path("salesforce")), "--quiet", "-o", str(out)]) == 0
    return out


def last_dates():
    """The export's last created or close date, from the csv module."""
    last = datetime.date(1900, 1, 1)
    with open(sample_path("salesforce"), newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if not row.get("Created Date"):
                continue  # the footer lines
            fields = ["Created Date"] + (["Close Date"] if row["Stage"] in ("Closed Won", "Closed Lost") else [])
            for field in fields:
                month, day, year = map(int, row[field].split("/"))
                last = max(last, datetime.date(year, month, day))
    return last


@pytest.mark.slow
def test_the_default_report_ends_with_the_last_whole_quarter(handout):
    html = handout.read_text(encoding="utf-8")
    last = last_dates()
    assert last == datetime.date(2026, 1, 5)
    assert f"data to {last.day} {last:%b %Y}" in html
    assert "Jan 2023 – Dec 2025" in html  # 2026-Q1 has 5 days of data: not drawn as a collapse
    assert "2026-Q1" not in html


@pytest.mark.slow
def test_every_chart_says_what_it_shows(handout):
    html = handout.read_text(encoding="utf-8")
    for name in CHARTS:
        figure = re.search(rf"<figure id='chart-{name}'.*?</figure>", html, re.S).group(0)
        assert "All partners · by partner, quarterly" in figure and "Jan 2023 – Dec 2025" in figure, name
        assert "DejaVu Sans" in figure, name  # a font measured and drawn alike


def median(values):
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def won_cycles(year):
    days = []
    with open(sample_path("salesforce"), newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row.get("Stage") != "Closed Won":
                continue
            m1, d1, y1 = map(int, row["Close Date"].split("/"))
            m0, d0, y0 = map(int, row["Created Date"].split("/"))
            if y1 == year:
                days.append((datetime.date(y1, m1, d1) - datetime.date(y0, m0, d0)).days)
    return days


@pytest.mark.slow
def test_changes_are_coloured_by_what_is_good_for_the_kpi(made):
    html = (made[0] / "review.html").read_text(encoding="utf-8")
    now, before = median(won_cycles(2025)), median(won_cycles(2024))
    assert now != before
    verdict = ("ck-good", "better") if now < before else ("ck-bad", "worse")  # a shorter cycle is good
    tile = re.search(r"Median cycle \(won\)</div>.*?</div><div class='ck-change'>(.*?)</div>", html).group(1)
    assert f"<span class='{verdict[0]}'>{now - before:+,.1f} days ({verdict[1]})</span>" in tile


@pytest.mark.slow
def test_a_past_stage_chart_lists_the_stages_open_then(tmp_path):
    out = tmp_path / "past.html"
    assert main(["report", str(sample_path("salesforce")), "--quiet", "--to", "2024-12", "-o", str(out)]) == 0
    figure = re.search(r"<figure id='chart-pipeline_stage'.*?</figure>", out.read_text(encoding="utf-8"), re.S)
    labels = set(re.findall(r"<text[^>]*>([^<]+)</text>", figure.group(0)))
    assert {"Won from 1 Jan 2025", "Lost from 1 Jan 2025"} <= labels
    assert not {"Closed Won", "Closed Lost"} & labels


# the texts of each chart, their boxes, and the role of the group they belong to
_TEXTS_JS = """
() => [...document.querySelectorAll('figure')].map(fig => {
  const svg = fig.querySelector('svg');
  const box = r => ({left: r.left, right: r.right, top: r.top, bottom: r.bottom});
  return {id: fig.id, svg: box(svg.getBoundingClientRect()), figure: box(fig.getBoundingClientRect()),
          texts: [...svg.querySelectorAll('text')].filter(t => t.textContent.trim()).map(t => {
            const g = t.closest('g[class*="role-"]');
            const role = g ? [...g.classList].find(c => c.startsWith('role-')) : '';
            return {text: t.textContent, role, box: box(t.getBoundingClientRect())};
          })};
})
"""


def overlaps(a, b, slack=0.5):
    return (
        min(a["right"], b["right"]) - max(a["left"], b["left"]) > slack
        and min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > slack
    )


@pytest.mark.browser
def test_the_handout_prints_on_a4_with_every_label_whole(browser, handout, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(handout.as_uri())
    # on screen: every label inside its chart, no two labels of different kinds on each other
    for media, width in (("screen", 1280), ("print", 718)):  # 718 px: A4's width within 12 mm margins
        page.emulate_media(media=media)
        page.set_viewport_size({"width": width, "height": 1000})
        page.wait_for_timeout(200)
        for fig in page.evaluate(_TEXTS_JS):
            svg = fig["svg"]
            assert svg["left"] >= -0.5 and svg["right"] <= width + 0.5, (media, fig["id"], svg)
            for t in fig["texts"]:
                b = t["box"]
                inside = b["left"] >= svg["left"] - 0.5 and b["right"] <= svg["right"] + 0.5
                assert inside and b["top"] >= svg["top"] - 0.5 and b["bottom"] <= svg["bottom"] + 0.5, (
                    media,
                    fig["id"],
                    t["text"],
                    b,
                    svg,
                )
            texts = fig["texts"]
            for i, a in enumerate(texts):
                for b in texts[i + 1 :]:
                    if a["role"] != b["role"]:
                        assert not overlaps(a["box"], b["box"]), (media, fig["id"], a, b)
    pdf = page.pdf(path=str(tmp_path / "review.pdf"), format="A4", prefer_css_page_size=True)
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 4
    page.close()


@pytest.mark.slow
def test_a_long_name_is_elided_with_the_whole_name_as_its_title(tmp_path):
    deals = make_sample_deals().copy()
    long_name = "Northgate Data & Cloud Infrastructure Services International Holdings"
    deals["partner"] = deals["partner"].replace("Northgate Data", long_name)
    ck.report(deals, path=tmp_path / "r.html")
    figure = re.search(
        r"<figure id='chart-ranking'.*?</figure>", (tmp_path / "r.html").read_text(encoding="utf-8"), re.S
    ).group(0)
    elided = re.search(r"<text[^>]*><title>([^<]+)</title>([^<]+…)</text>", figure)
    assert elided, "the long name is not elided with a title"
    assert html_lib.unescape(elided.group(1)) == long_name
    assert long_name.startswith(html_lib.unescape(elided.group(2))[:-1])


# --------------------------------------------------------------------------- levels and deals
def _key(name):
    """A partner name as a hand-kept table and an export both mean it: trimmed, case-folded,
    accents dropped."""
    folded = unicodedata.normalize("NFKD", " ".join(name.split())).casefold()
    return "".join(c for c in folded if not unicodedata.combining(c))


def _us_date(text):
    month, day, year = map(int, text.split("/"))
    return datetime.date(year, month, day)


def plain_deals():
    """The Salesforce sample read with the csv module, each deal with its partner table tier."""
    with open(sample_path("partners"), newline="", encoding="utf-8") as fh:
        tiers = {_key(r["partner"]): r["tier"] for r in csv.DictReader(fh)}
    deals = []
    with open(sample_path("salesforce"), newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if not row.get("Opportunity ID") or not row.get("Created Date"):
                continue  # the footer lines
            stage = row["Stage"]
            deals.append(
                {
                    "id": row["Opportunity ID"],
                    "name": row["Opportunity Name"],
                    "partner": row["Partner Account"],
                    "tier": tiers.get(_key(row["Partner Account"])) if row["Partner Account"] else None,
                    "status": {"Closed Won": "won", "Closed Lost": "lost"}.get(stage, "open"),
                    "created": _us_date(row["Created Date"]),
                    "closed": _us_date(row["Close Date"]) if row["Close Date"] else None,
                    "amount": float(row["Amount"].replace(",", "")) if row["Amount"] else None,
                }
            )
    return deals


FIRST, LAST = datetime.date(2025, 1, 1), datetime.date(2025, 12, 31)


def closed_in_2025(d):
    return d["status"] != "open" and FIRST <= d["closed"] <= LAST


def money(value):
    return f"${value:,.0f}"


@pytest.fixture(scope="module")
def by_tier(tmp_path_factory):
    """The command of the issue: a partner table, a kept field and the scorecard by tier."""
    out = tmp_path_factory.mktemp("tier")
    args = ["report", str(sample_path("salesforce")), "--partners", str(sample_path("partners"))]
    args += ["--keep", "Territory Region", "--by", "tier", "--from", "2025-01", "--to", "2025-12"]
    args += ["-o", str(out / "tier.html"), "-o", str(out / "tier.xlsx"), "--quiet"]
    proc = subprocess.run([sys.executable, "-m", "channelkpi.cli", *args], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    parser = Tables()
    parser.feed((out / "tier.html").read_text(encoding="utf-8"))
    return out, parser


@pytest.mark.slow
def test_the_scorecard_by_tier_has_the_plain_numbers(by_tier):
    out, parser = by_tier
    deals = [d for d in plain_deals() if d["partner"]]  # direct deals have no tier and are not ranked
    assert all(d["tier"] for d in deals)  # every partner of the export is in the table (three after folding)
    won = defaultdict(lambda: [0, 0.0])
    closed = defaultdict(int)
    for d in deals:
        if closed_in_2025(d):
            closed[d["tier"]] += 1
            if d["status"] == "won":
                won[d["tier"]][0] += 1
                won[d["tier"]][1] += d["amount"]
    rows = parser.tables["ck-table ck-scorecard"]
    assert rows[0][:5] == ["Tier", "Rank", "Quality score", "Won amount", "Won deals"]
    got = {r[0]: r for r in rows[1:]}
    assert set(got) == {"Platinum", "Gold", "Silver", "Registered"}
    for tier, (count, amount) in won.items():
        assert (got[tier][3], got[tier][4]) == (money(amount), f"{count:,}"), tier
        assert got[tier][6] == f"{count / closed[tier]:.1%}", tier  # win rate
    sheet = pd.read_excel(out / "tier.xlsx", sheet_name="Scorecard").set_index("tier")
    for tier, (count, amount) in won.items():
        assert sheet.loc[tier, "won_count"] == count and sheet.loc[tier, "won_amount"] == pytest.approx(amount)


@pytest.mark.slow
def test_each_scorecard_row_opens_its_ten_largest_deals(by_tier):
    _, parser = by_tier
    counted = defaultdict(list)
    for d in plain_deals():
        if d["partner"] and closed_in_2025(d):
            counted[d["tier"]].append(d)
    assert set(parser.deals) == set(counted)
    for tier, deals in counted.items():
        deals.sort(key=lambda d: -d["amount"])
        shown = parser.deals[tier]
        assert shown[0] == ["Deal", "Account", "Stage", "Amount", "Closed", "How it counts"]
        body = shown[1:]
        assert len(body) == 10
        assert [r[3] for r in body] == [money(d["amount"]) for d in deals[:10]], tier
        tenth = deals[9]["amount"]  # above the tenth amount the deals are the same, whatever the ties
        assert {r[0] for r in body if float(r[3].strip("$").replace(",", "")) > tenth} == {
            html_lib.unescape(d["name"]) for d in deals[:10] if d["amount"] > tenth
        }
        by_name = {d["name"]: d for d in deals}
        for r in body:
            d = by_name[r[0]]
            assert r[4] == d["closed"].isoformat() and r[5] == d["status"]
        assert f"the 10 largest of {len(deals):,} deals" in parser.summaries[tier]


@pytest.mark.slow
def test_the_deals_sheet_lists_every_deal_of_the_selection(by_tier):
    out, _ = by_tier
    end = LAST
    expected = {}
    for d in plain_deals():
        won_or_lost = closed_in_2025(d)
        created = FIRST <= d["created"] <= end
        open_at_end = d["created"] <= end and (d["status"] == "open" or d["closed"] > end)
        if won_or_lost or created or open_at_end:
            expected[d["id"]] = (d, won_or_lost, created, open_at_end)
    sheet = pd.read_excel(out / "tier.xlsx", sheet_name="Deals", dtype={"Deal ID": str})
    assert len(sheet) == len(expected) and set(sheet["Deal ID"]) == set(expected)
    assert sheet["Amount"].sum() == pytest.approx(sum(d["amount"] or 0 for d, *_ in expected.values()))
    how = sheet.set_index("Deal ID")
    score, pipeline, cohort = (c for c in sheet.columns if c.startswith(("Won or lost", "Open at", "Created in")))
    for deal_id, (d, won_or_lost, created, open_at_end) in expected.items():
        row = how.loc[deal_id]
        assert (row[score] == d["status"]) if won_or_lost else pd.isna(row[score])
        assert (row[pipeline] == "open at the range end") if open_at_end else pd.isna(row[pipeline])
        assert str(row[cohort]).startswith("created in the range") if created else pd.isna(row[cohort])
        assert row["Tier"] == d["tier"] or (pd.isna(row["Tier"]) and d["tier"] is None)
    assert list(sheet["Amount"].fillna(-1)) == sorted(sheet["Amount"].fillna(-1), reverse=True)
    # numbers stay numbers, dates dates, each with its format
    ws = load_workbook(out / "tier.xlsx")["Deals"]
    heads = [c.value for c in ws[1]]
    amount, closed = ws.cell(2, heads.index("Amount") + 1), ws.cell(2, heads.index("Created") + 1)
    assert amount.data_type == "n" and "#,##0.00" in amount.number_format
    assert isinstance(closed.value, datetime.datetime) and closed.number_format == "yyyy-mm-dd"


@pytest.mark.slow
def test_partners_without_deals_are_shown_as_such(tmp_path):
    with open(sample_path("partners"), newline="", encoding="utf-8") as fh:
        listed = [r["partner"] for r in csv.DictReader(fh)]
    sold = {_key(d["partner"]) for d in plain_deals() if d["partner"]}
    idle = sorted(p for p in listed if _key(p) not in sold)
    assert len(idle) == 2
    result = ck.load_crm(sample_path("salesforce"), partners=sample_path("partners"))
    ck.report(result, path=[tmp_path / "p.html", tmp_path / "p.xlsx"], start="2025-01", end="2025-12")
    parser = Tables()
    parser.feed((tmp_path / "p.html").read_text(encoding="utf-8"))
    rows = {r[0]: r[1:] for r in parser.tables["ck-table ck-scorecard"][1:]}
    assert {p for p, r in rows.items() if r == ["no deals yet"]} == set(idle)
    assert len(rows) == len(listed)
    sheet = pd.read_excel(tmp_path / "p.xlsx", sheet_name="Scorecard")
    quiet = sheet[sheet["note"] == "no deals yet"]
    assert sorted(quiet["partner"]) == idle and quiet[["rank", "won_count", "win_rate"]].isna().all().all()
    # they take no rank: the others are ranked as without the table
    plain = ck.load_crm(sample_path("salesforce"))
    ck.report(plain, path=tmp_path / "q.xlsx", start="2025-01", end="2025-12")
    before = pd.read_excel(tmp_path / "q.xlsx", sheet_name="Scorecard")
    ranked = sheet.dropna(subset=["rank"])
    assert list(ranked["rank"]) == list(before["rank"])
    assert [_key(p) for p in ranked["partner"]] == [_key(p) for p in before["partner"]]


@pytest.mark.slow
def test_a_level_that_is_no_column_is_an_error_with_the_closest(tmp_path):
    result = ck.load_crm(sample_path("salesforce"), partners=sample_path("partners"))
    with pytest.raises(ck.ChannelKPIError, match="did you mean 'tier'"):
        ck.report(result, path=tmp_path / "r.xlsx", by="teir")
    with pytest.raises(ck.ChannelKPIError, match="pass partners= to channelkpi.load_crm"):
        ck.report(result, path=tmp_path / "r.xlsx", partners=sample_path("partners"))


@pytest.mark.slow
def test_a_path_is_loaded_with_its_tables(tmp_path):
    ck.report(
        sample_path("hubspot"),
        path=tmp_path / "h.xlsx",
        partners=sample_path("partners"),
        keep=["Region"],
        by="region",
        selection=["EMEA"],
        start="2025-01",
        end="2025-12",
    )
    sheet = pd.read_excel(tmp_path / "h.xlsx", sheet_name="Scorecard")
    assert list(sheet["region"]) == ["EMEA"]
    deals = pd.read_excel(tmp_path / "h.xlsx", sheet_name="Deals")
    assert set(deals["Region"]) == {"EMEA"}


@pytest.mark.slow
def test_the_old_partner_list_still_selects_with_a_warning(tmp_path):
    with pytest.warns(DeprecationWarning, match="where="):
        ck.report(ck.load_crm(sample_path("salesforce")), path=tmp_path / "a.xlsx", partners=["Brightline IT"])
    assert list(pd.read_excel(tmp_path / "a.xlsx", sheet_name="Scorecard")["partner"]) == ["Brightline IT"]


@pytest.fixture(scope="module")
def hostile_deals(tmp_path_factory):
    deals = make_sample_deals().copy()
    deals["name"] = deals["deal_id"].astype(str)
    deals["account"] = "Plain Co."
    won = deals.index[(deals["status"] == "won") & (deals["closed"].dt.year == 2025)]
    top = deals.loc[won].sort_values("amount", ascending=False).index[: len(HOSTILE)]
    for i, name in zip(top, HOSTILE, strict=True):  # the largest wins: every one is in a top ten
        deals.loc[i, ["name", "account"]] = [name, name]
    out = tmp_path_factory.mktemp("hostile_deals")
    ck.report(deals, path=[out / "d.html", out / "d.xlsx"], start="2025-01", end="2025-12")
    return out


@pytest.mark.slow
def test_deal_names_stay_text_in_the_html(hostile_deals):
    html = (hostile_deals / "d.html").read_text(encoding="utf-8")
    assert "<img" not in html and "onerror=alert(1)>" not in html
    parser = Tables()
    parser.feed(html)
    shown = [r[0] for rows in parser.deals.values() for r in rows[1:]]
    accounts = [r[1] for rows in parser.deals.values() for r in rows[1:]]
    for name in HOSTILE:
        assert name in shown and name in accounts  # shown as the text it is


@pytest.mark.slow
def test_deal_names_are_inert_in_the_deals_sheet(hostile_deals):
    ws = load_workbook(hostile_deals / "d.xlsx")["Deals"]
    heads = [c.value for c in ws[1]]
    names = [row[heads.index("Deal name")] for row in ws.iter_rows(min_row=2, values_only=True)]
    for row in ws.iter_rows():
        for cell in row:
            assert cell.data_type != "f", (cell.coordinate, cell.value)
    for name in HOSTILE[1:]:
        assert name not in names and "'" + name in names
    assert HOSTILE[0] in names
