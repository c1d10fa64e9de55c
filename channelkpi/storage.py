"""Canonical deals in Parquet: load an export once, keep a history that any engine can read.

A dataset is a folder of Parquet files with the canonical columns (``status`` as text, dates
as timestamps), readable by channelkpi (:func:`read_parquet`), DuckDB
(``duckdb.read_parquet("deals/*.parquet")``), polars (``pl.scan_parquet``) and Spark
(``spark.read.parquet``), and every KPI function accepts what those return.

Examples
--------
>>> import tempfile, channelkpi as ck
>>> from channelkpi.datasets import make_deals
>>> folder = tempfile.mkdtemp()
>>> _ = to_parquet(make_deals(100, seed=1), folder)
>>> _ = to_parquet(make_deals(50, seed=2).assign(deal_id=lambda d: "B" + d["deal_id"]), folder)
>>> len(read_parquet(folder))
150
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pandas as pd

from .errors import ChannelKPIError
from .schema import validate_deals

__all__ = ["to_parquet", "read_parquet"]


def _files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.parquet"))


def _portable(deals: pd.DataFrame) -> pd.DataFrame:
    # text status (a dictionary-encoded categorical is read differently by each engine) and
    # microsecond timestamps (Spark cannot read nanosecond ones; the dates are whole days)
    return deals.assign(status=deals["status"].astype(str)).astype(
        {c: "datetime64[us]" for c in ("created", "closed", "expected_close")}
    )


def to_parquet(deals: pd.DataFrame, path, *, replace: bool = False) -> Path:
    """Write canonical deals to a Parquet file (``path`` ends in ``.parquet``) or add them to a
    dataset folder (any other ``path``).

    Adding deals whose ids are already in the folder is an error, so no deal is counted twice;
    ``replace=True`` replaces the stored copies with the new ones (a newer export of the same
    deals).

    Parameters
    ----------
    deals : pandas.DataFrame
        Deals in the canonical schema (they are validated first).
    path : str or Path
        A ``.parquet`` file, or a dataset folder to add a file to.
    replace : bool
        Replace stored deals with the same ids instead of refusing them.

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from channelkpi.datasets import toy_deals
    >>> to_parquet(toy_deals(), pathlib.Path(tempfile.mkdtemp()) / "deals.parquet").name
    'deals.parquet'
    """
    deals = validate_deals(deals)
    path = Path(path)
    if path.suffix == ".parquet":
        path.parent.mkdir(parents=True, exist_ok=True)
        _portable(deals).to_parquet(path, index=False)
        return path
    path.mkdir(parents=True, exist_ok=True)
    existing = _files(path)
    if existing:
        stored = pd.read_parquet(path, columns=["deal_id"])["deal_id"]
        overlap = stored[stored.isin(deals["deal_id"])]
        if len(overlap) and not replace:
            raise ChannelKPIError(
                f"{overlap.nunique()} of these deals are already in {str(path)!r} "
                f"(e.g. {overlap.iloc[0]!r}); adding them again would count them twice",
                fix="pass replace=True to replace the stored copies with these, or write to another folder",
            )
        if len(overlap):
            kept = pd.read_parquet(path)
            kept = kept[~kept["deal_id"].isin(deals["deal_id"])]
            merged = path / f"deals-{uuid.uuid4().hex[:12]}.parquet"
            _portable(validate_deals(kept)).to_parquet(merged, index=False)
            for f in existing:
                f.unlink()
    target = path / f"deals-{pd.Timestamp.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}.parquet"
    _portable(deals).to_parquet(target, index=False)
    return target


def read_parquet(path) -> pd.DataFrame:
    """Read a Parquet file or dataset folder written by :func:`to_parquet` as canonical deals.

    Parameters
    ----------
    path : str or Path
        A ``.parquet`` file or a folder of them.

    Returns
    -------
    pandas.DataFrame
        The canonical deals table.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from channelkpi.datasets import toy_deals
    >>> file = to_parquet(toy_deals(), pathlib.Path(tempfile.mkdtemp()) / "deals.parquet")
    >>> read_parquet(file)["amount"].sum()
    np.float64(1600.0)
    """
    path = Path(path)
    if not path.exists():
        raise ChannelKPIError(f"no Parquet file or folder at {str(path)!r}", fix="check the path")
    if path.is_dir() and not _files(path):
        raise ChannelKPIError(
            f"{str(path)!r} holds no .parquet files", fix="write deals there with channelkpi.to_parquet"
        )
    return validate_deals(pd.read_parquet(path), name=path.name)
