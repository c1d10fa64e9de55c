"""Shared test helpers: the real exports beside the checkout, and small file builders."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from browsing import browser  # noqa: F401 (the Playwright browser fixture of the browser tests)

ROOT = Path(__file__).resolve().parents[1]
REALDATA = Path(os.environ.get("CHANNELKPI_REALDATA", ROOT.parent / "shared" / "realdata"))
SAMPLE = ROOT / "data" / "sample"


def _realdata(relative: str) -> Path:
    """Path of a real export; skips (or fails in CI) when the folder is absent."""
    path = REALDATA / relative
    if not path.exists():
        message = (
            f"real export {path} is absent: these tests read ../shared/realdata beside the "
            "checkout (set CHANNELKPI_REALDATA to its folder)"
        )
        if os.environ.get("CHANNELKPI_REQUIRE_REALDATA"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def write(tmp_path):
    """Write text (or bytes) to a file in a temporary folder and return its path."""

    def _write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_bytes(content.encode(encoding))
        return path

    return _write


@pytest.fixture
def realdata():
    """``realdata("d365-contoso-coffee/data/Opportunity.csv")`` -> path, or skip/fail if absent."""
    return _realdata


def _needs_spark(item) -> bool:
    callspec = getattr(item, "callspec", None)
    return "spark" in getattr(item, "fixturenames", ()) or (
        callspec is not None and "spark" in [str(v) for v in callspec.params.values()]
    )


# Examples that load the sample export, compute KPIs or draw charts take a quarter second or more
# each; test functions that do carry ``@pytest.mark.slow`` themselves, doctests cannot.
SLOW_DOCTESTS = (
    "README.md",
    "channelkpi.charts",
    "channelkpi.datasets",
    "channelkpi.dealspanel",
    "channelkpi.drill",
    "channelkpi.history_sample",
    "channelkpi.metrics.activation",
    "channelkpi.metrics.behind",
    "channelkpi.metrics.kpis",
    "channelkpi.metrics.prepared",
    "channelkpi.reports",
    "channelkpi.tiles",
    "channelkpi.views",
)


def _slow_doctest(item) -> bool:
    return isinstance(item, pytest.DoctestItem) and any(
        item.name == name or item.name.startswith(name + ".") for name in SLOW_DOCTESTS
    )


def pytest_collection_modifyitems(config, items):
    """A browser test and a Spark session take seconds each: both are ``slow`` wherever they are,
    as are the examples above, so ``pytest -m "not slow"`` is the quick run (``make test`` runs
    everything)."""
    for item in items:
        if item.get_closest_marker("browser") or _needs_spark(item) or _slow_doctest(item):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def spark():
    """One local Spark session for every test that runs an engine on Spark (starting one
    takes seconds; each module stopping and starting its own cost minutes in CI)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        message = "PySpark is not installed (pip install channelkpi[spark]; CI runs these tests)"
        if os.environ.get("CHANNELKPI_REQUIRE_SPARK"):
            pytest.fail(message)
        pytest.skip(message)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("channelkpi-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
