"""`channelkpi inspect` as a user runs it."""

import io
import subprocess
import sys

import pytest

from channelkpi.cli import main
from channelkpi.datasets import sample_path

# every test here takes a quarter second or more: none belongs in the quick run
pytestmark = pytest.mark.slow


def test_inspect_sample():
    out = io.StringIO()
    assert main(["inspect", str(sample_path("salesforce")), "--rows", "3"], out=out) == 0
    text = out.getvalue()
    assert "salesforce_report" in text
    assert "rows:    3126 read = 3123 kept + 0 merged + 3 rejected" in text
    assert "Grand Totals (3123 records)" in text
    assert "canonical deals (first 3 of 3123)" in text


def test_inspect_bad_file_is_one_readable_line(tmp_path):
    bad = tmp_path / "deals.csv"
    bad.write_bytes(b"%PDF-1.4 not a csv")
    proc = subprocess.run([sys.executable, "-m", "channelkpi.cli", "inspect", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("channelkpi: error: deals.csv: this is a PDF document")


def test_report_help_documents_the_tables_and_levels():
    proc = subprocess.run(
        [sys.executable, "-m", "channelkpi.cli", "report", "--help"], capture_output=True, text=True, check=True
    )
    text = " ".join(proc.stdout.split())
    for option in ("--partners PATH", "--owners PATH", "--keep COLUMN", "--by LEVEL"):
        assert option in text, option
    assert "'all'" in text and "tier" in text


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--by", "teir", "--partners", str(sample_path("partners"))], "did you mean 'tier'"),
        (["--partners", "no-such-table.csv"], "no-such-table.csv"),
        (["--keep", "Regoin"], "Regoin"),
        (["--keep", "all", "--keep", "Type"], "either --keep all or the columns"),
    ],
)
def test_report_level_and_table_errors_are_one_line(args, needle, tmp_path):
    cmd = [sys.executable, "-m", "channelkpi.cli", "report", str(sample_path("salesforce")), "--quiet"]
    proc = subprocess.run([*cmd, *args, "-o", str(tmp_path / "r.xlsx")], capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.startswith("channelkpi: error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert needle in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "r.xlsx").exists()
