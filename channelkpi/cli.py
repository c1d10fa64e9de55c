"""The ``channelkpi`` command line.

``channelkpi inspect FILE`` shows how an export is read: the preset chosen and why, the
reconciliation of its rows, warnings, the ledger and a preview of the canonical table.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import pandas as pd

from .errors import ChannelKPIError

__all__ = ["main"]

_SOURCES = ["auto", "salesforce_report", "salesforce_api", "hubspot", "pipedrive", "dynamics365", "zoho", "generic"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="channelkpi", description="Channel-partner KPIs from CRM exports.")
    sub = parser.add_subparsers(dest="command", required=True)
    ins = sub.add_parser("inspect", help="show how an export is read: preset, ledger, warnings, preview")
    ins.add_argument("file", help="the CRM export (CSV, TSV or .xlsx)")
    ins.add_argument("--source", choices=_SOURCES, default="auto", help="CRM preset (default: decide from the headers)")
    order = ins.add_mutually_exclusive_group()
    order.add_argument("--dayfirst", action="store_true", default=None, help="read 01/02/2024 as 1 February")
    order.add_argument("--monthfirst", dest="dayfirst", action="store_false", help="read 01/02/2024 as 2 January")
    ins.add_argument("--currency", help="reporting currency (ISO code)")
    ins.add_argument("--sheet", help="sheet of an .xlsx workbook (name or number; default: the first)")
    ins.add_argument("--rows", type=int, default=10, help="rows of the canonical table to preview (default 10)")
    ins.add_argument("--ledger", type=int, default=20, help="ledger rows to show (default 20)")
    return parser


def _sheet(value: str | None) -> str | int | None:
    if value is None:
        return None
    return int(value) if value.isdigit() else value


def _inspect(args: argparse.Namespace, out) -> int:
    from .ingest import load_crm

    result = load_crm(
        args.file, source=args.source, dayfirst=args.dayfirst, currency=args.currency, sheet=_sheet(args.sheet)
    )
    s = result.summary()
    print(f"file:    {result.file} ({result.source.kind}"
          + (f", {result.source.encoding}" if result.source.encoding else "") + ")", file=out)
    print(f"preset:  {result.source}", file=out)
    print("columns: " + ", ".join(f"{role} <- {head!r}" for role, head in result.source.columns.items()), file=out)
    print(
        f"rows:    {s['rows_read']} read = {s['kept']} kept + {s['merged']} merged + {s['rejected']} rejected"
        + (f"  ({s['blank_rows_skipped']} blank rows skipped)" if s["blank_rows_skipped"] else ""),
        file=out,
    )
    print(f"deals:   {s['deals']} ({s['won']} won, {s['lost']} lost, {s['open']} open)", file=out)
    if result.warnings:
        print(f"\nwarnings ({len(result.warnings)}):", file=out)
        for w in result.warnings:
            print(f"  - {w}", file=out)
    if len(result.ledger):
        print(f"\nledger ({len(result.ledger)} rows not kept one-to-one; first {args.ledger}):", file=out)
        print(result.ledger.head(args.ledger).to_string(index=False), file=out)
    if args.rows:
        print(f"\ncanonical deals (first {args.rows} of {len(result.deals)}):", file=out)
        with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_colwidth", 24):
            print(result.deals.head(args.rows).to_string(index=False), file=out)
    return 0


def main(argv: Sequence[str] | None = None, *, out=None) -> int:
    """Run the command line; returns the exit code (1 with a one-line message on bad input)."""
    out = out or sys.stdout
    args = _parser().parse_args(argv)
    try:
        if args.command == "inspect":
            return _inspect(args, out)
    except ChannelKPIError as exc:
        print(f"channelkpi: error: {exc}", file=sys.stderr)
        return 1
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
