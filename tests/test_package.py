"""The public surface, the schema validator, and the layer rule."""

import subprocess
import sys

import pandas as pd
import pytest

import channelkpi as ck


def test_public_surface_is_curated():
    assert sorted(ck.__all__) == sorted(
        [
            "COLUMNS",
            "DEFAULT_CHANNEL_MAP",
            "DEFAULT_QUALITY_WEIGHTS",
            "ChannelKPIError",
            "ColumnError",
            "CurrencyError",
            "DetectionError",
            "FileFormatError",
            "History",
            "LoadResult",
            "Mapping",
            "SchemaError",
            "SourceInfo",
            "PreparedDeals",
            "ValueParseError",
            "average_deal_size",
            "channel_map_table",
            "channel_performance",
            "cycle_distribution",
            "deal_count",
            "deal_success",
            "deal_velocity",
            "deals_behind",
            "empty_deals",
            "explain",
            "funnel_deals",
            "kpi_table",
            "load_crm",
            "load_history",
            "load_mapping",
            "movement_deals",
            "partner_activation",
            "pipeline",
            "pipeline_movement",
            "pipeline_waterfall",
            "prepare",
            "quality_score",
            "read_crm",
            "read_parquet",
            "read_targets",
            "report",
            "seasonality",
            "slip_deals",
            "slipped_deals",
            "stage_funnel",
            "stage_visits",
            "time_in_stage",
            "to_parquet",
            "validate_deals",
            "win_rate",
        ]
    )
    for name in ck.__all__:
        assert hasattr(ck, name)


def test_error_family():
    for cls in (
        ck.FileFormatError,
        ck.DetectionError,
        ck.ColumnError,
        ck.SchemaError,
        ck.ValueParseError,
        ck.CurrencyError,
    ):
        assert issubclass(cls, ck.ChannelKPIError) and issubclass(cls, ValueError)


@pytest.mark.slow
def test_importing_loading_and_computing_never_import_ipywidgets():
    code = (
        "import sys, channelkpi as ck;"
        "from channelkpi.datasets import sample_path;"
        "deals = ck.read_crm(sample_path('salesforce'));"
        "ck.kpi_table(deals, by='partner', freq='Q'); ck.quality_score(deals);"
        "bad = [m for m in ('ipywidgets', 'IPython', 'anywidget', 'voila') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_validator_lists_what_is_missing_and_what_is_there():
    with pytest.raises(ck.SchemaError) as info:
        ck.validate_deals(pd.DataFrame({"Id": [1], "Stage": ["x"]}))
    text = str(info.value)
    assert "['deal_id', 'status']" in text and "['Id', 'Stage']" in text and "Fix:" in text


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"deal_id": ["a"], "status": ["pending"]}), "status must be one of"),
        (pd.DataFrame({"deal_id": ["a", "a"], "status": ["won", "lost"]}), "sharing 1 deal_id"),
        (pd.DataFrame({"deal_id": [None], "status": ["won"]}), "without a deal_id"),
        (pd.DataFrame({"deal_id": ["a"], "status": ["won"], "probability": [40]}), "between 0 and 1"),
        (pd.DataFrame({"deal_id": ["a"], "status": ["won"], "amount": ["lots"]}), "cannot be read as float64"),
        ([1, 2], "must be a pandas DataFrame"),
    ],
)
def test_validator_errors(frame, message):
    with pytest.raises(ck.SchemaError, match=message):
        ck.validate_deals(frame)


def test_validator_never_mutates_input():
    frame = pd.DataFrame({"deal_id": ["a"], "status": ["WON"], "created": ["2024-01-05 13:00"]})
    before = frame.copy()
    out = ck.validate_deals(frame)
    pd.testing.assert_frame_equal(frame, before)
    assert out["status"].tolist() == ["won"] and str(out["created"].iloc[0]) == "2024-01-05 00:00:00"
    assert out.columns.tolist() == list(ck.COLUMNS)
