"""The bundled sample: seeded, realistic, and read back through load_crm like user data."""

import filecmp

import numpy as np
import pandas as pd
import pytest

import channelkpi as ck
from channelkpi.datasets import make_deals, make_sample_deals, sample_path, write_sample

COMPARED = [
    "partner",
    "owner",
    "department",
    "unit",
    "channel",
    "source",
    "status",
    "created",
    "closed",
    "expected_close",
    "amount",
    "probability",
]


@pytest.fixture(scope="module")
def truth():
    return make_sample_deals()


def assert_same_deals(loaded: pd.DataFrame, truth: pd.DataFrame):
    assert len(loaded) == len(truth)
    a = loaded.reset_index(drop=True)
    b = truth.reset_index(drop=True)
    for col in COMPARED:
        pd.testing.assert_series_equal(a[col], b[col], check_names=False, obj=col)


@pytest.mark.slow
def test_salesforce_sample_reads_back_to_the_truth(truth):
    result = ck.load_crm(sample_path("salesforce"))
    assert result.source.preset == "salesforce_report"
    assert_same_deals(result.deals, truth)
    assert result.deals["deal_id"].tolist() == truth["deal_id"].tolist()
    s = result.summary()
    assert (s["kept"], s["merged"], s["rejected"]) == (len(truth), 0, 3)  # three footer lines
    assert result.warnings == []


@pytest.mark.slow
def test_hubspot_sample_reads_back_to_the_truth(truth):
    result = ck.load_crm(sample_path("hubspot"))
    assert result.source.preset == "hubspot"
    assert_same_deals(result.deals, truth)
    assert result.warnings == []


@pytest.mark.slow
def test_committed_sample_is_what_the_seeded_generator_writes(tmp_path, truth):
    paths = write_sample(tmp_path)
    for name in ("salesforce", "targets"):
        assert filecmp.cmp(paths[name], sample_path(name), shallow=False), f"{name} differs: run `make sample`"
    fresh = ck.read_crm(paths["hubspot"])
    committed = ck.read_crm(sample_path("hubspot"))
    pd.testing.assert_frame_equal(fresh, committed)


def test_sample_is_realistic(truth):
    partners = truth.loc[truth["partner"] != "(direct)", "partner"]
    sizes = partners.value_counts()
    assert len(sizes) >= 20
    assert sizes.max() / sizes.min() > 10  # very different sizes
    assert truth["department"].nunique() == 3 and truth["unit"].nunique() == 4
    assert set(truth["channel"]) >= {"paid", "earned", "owned", "partner"}
    assert set(truth["status"]) == {"open", "won", "lost"}
    years = truth["created"].dt.year.value_counts()
    assert set(years.index) == {2023, 2024, 2025}
    # summer peak: June-August creations per month beat the rest of the year's average
    by_month = truth["created"].dt.month.value_counts().sort_index()
    assert by_month.loc[[6, 7, 8]].mean() > 1.2 * by_month.drop([6, 7, 8]).mean()
    open_ = truth[truth["status"] == "open"]
    assert open_["probability"].between(0.05, 0.95).all() and open_["closed"].isna().all()


def test_targets_file(truth):
    targets = pd.read_csv(sample_path("targets"))
    assert targets.columns.tolist() == ["partner", "quarter", "target"]
    assert set(targets["partner"]) == set(truth["partner"]) - {"(direct)"}
    assert targets["quarter"].str.fullmatch(r"\d{4}-Q[1-4]").all()
    assert (targets["target"] > 0).all()


def test_make_deals_is_seeded_and_canonical():
    a, b = make_deals(2_000, seed=3), make_deals(2_000, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert not make_deals(2_000, seed=4).equals(a)
    assert a.dtypes.to_dict() == ck.empty_deals().dtypes.to_dict()
    assert (a.loc[a["status"] == "open", "closed"].isna()).all()
    assert np.isin(a["status"].unique(), ["open", "won", "lost"]).all()


def test_unknown_sample_name():
    with pytest.raises(ck.ChannelKPIError, match="no sample called 'pipedrive'"):
        sample_path("pipedrive")
