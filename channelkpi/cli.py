"""The ``channelkpi`` command line.

``channelkpi inspect FILE`` shows how an export is read: the preset chosen and why, the
reconciliation of its rows, warnings, the ledger and a preview of the canonical table. For an
export no preset recognises it shows the proposed mapping (each header's column, certainty and
reason; each stage value's reading) and the code to paste; ``--save-mapping crm.toml`` writes
the mapping to a file that ``--mapping crm.toml`` (and ``load_crm(mapping=)``) reads back.

``channelkpi report FILE -o review.html -o review.xlsx`` writes the KPI review of an export as an
offline HTML page and an Excel workbook (and ``--png DIR`` / ``--svg DIR`` its charts as images),
printing each step on stderr. Bad input ends with exit code 1 and one readable line.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import pandas as pd

from .errors import ChannelKPIError
from .types import REPORT_FREQS

__all__ = ["main"]

_SOURCES = ["auto", "salesforce_report", "salesforce_api", "hubspot", "pipedrive", "dynamics365", "zoho", "generic"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="channelkpi", description="Channel-partner KPIs from CRM exports.")
    sub = parser.add_subparsers(dest="command", required=True)
    ins = sub.add_parser("inspect", help="show how an export is read: preset, ledger, warnings, preview")
    ins.add_argument("file", help="the CRM export (CSV, TSV or .xlsx)")
    _reading_options(ins)
    ins.add_argument("--rows", type=int, default=10, help="rows of the canonical table to preview (default 10)")
    ins.add_argument("--ledger", type=int, default=20, help="ledger rows to show (default 20)")
    ins.add_argument(
        "--save-mapping",
        metavar="FILE",
        help="write the mapping the export is read with (or, when it cannot be read yet, the proposed one) "
        "to FILE (.toml), to edit and pass back with --mapping FILE",
    )

    rep = sub.add_parser("report", help="write the KPI review as offline HTML and/or Excel, charts as images")
    rep.add_argument("file", help="the CRM export (CSV, TSV or .xlsx)")
    rep.add_argument(
        "-o",
        "--output",
        action="append",
        default=[],
        metavar="OUT",
        help="report file, .html or .xlsx (repeat for both)",
    )
    rep.add_argument("--targets", metavar="FILE", help="targets file (CSV or .xlsx; see channelkpi.read_targets)")
    rep.add_argument(
        "--by",
        default="partner",
        metavar="LEVEL",
        help="what the scorecard and the KPI table are grouped by: partner (default), owner, department, "
        "unit, channel, source, a column kept with --keep (e.g. region) or of --partners/--owners (e.g. tier)",
    )
    rep.add_argument("--freq", choices=REPORT_FREQS, default="Q", help="periods: month, quarter, year (default Q)")
    rep.add_argument(
        "--from", dest="start", metavar="DATE", help="first month or day, e.g. 2025-01 (default: the data's first)"
    )
    rep.add_argument(
        "--to", dest="end", metavar="DATE", help="last month or day, e.g. 2025-12 (default: the data's last)"
    )
    rep.add_argument(
        "--partner",
        dest="partners",
        action="append",
        default=[],
        metavar="NAME",
        help="only this partner (repeat for several)",
    )
    rep.add_argument(
        "--partners",
        dest="partner_table",
        metavar="PATH",
        help="partner table (CSV or .xlsx: a partner column plus e.g. tier, region, signed); its columns "
        "become levels for --by and its partners without deals are listed as 'no deals yet'",
    )
    rep.add_argument(
        "--owners",
        dest="owner_table",
        metavar="PATH",
        help="owner table (CSV or .xlsx: an owner column plus e.g. department, unit, manager)",
    )
    rep.add_argument(
        "--keep",
        action="append",
        default=[],
        metavar="COLUMN",
        help="keep this export column as a level, named in snake case ('Product Family' -> product_family); "
        "repeat for several, or 'all' for every column channelkpi does not read",
    )
    rep.add_argument(
        "--fiscal-year-start", type=int, default=1, metavar="MONTH", help="first month of the fiscal year (1-12)"
    )
    rep.add_argument(
        "--history",
        nargs="+",
        metavar="PATH",
        help="the deals' history, as channelkpi.load_history reads it (a CRM history file, or earlier exports "
        "of the same report with the date in their names, this one among them): adds the pipeline movement "
        "section and sheet",
    )
    rep.add_argument(
        "--title", help="the report's heading (default: 'Channel partner review' in the report's language)"
    )
    rep.add_argument(
        "--locale",
        metavar="TAG",
        help="language and region of the report, e.g. nl-NL, de-DE, de-AT, fr-FR, fr-CH: headings, amounts "
        "(€ 1.234,56), percentages and dates as they are written there (default: en-US)",
    )
    rep.add_argument("--png", metavar="DIR", help="also write every chart as PNG into DIR")
    rep.add_argument("--svg", metavar="DIR", help="also write every chart as SVG into DIR")
    _reading_options(rep)
    rep.add_argument("--quiet", action="store_true", help="no progress messages")
    return parser


def _reading_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source", choices=_SOURCES, default="auto", help="CRM preset (default: decide from the headers)"
    )
    parser.add_argument(
        "--mapping",
        metavar="FILE",
        help="a mapping file (.toml, see docs/mappings.md; written by inspect --save-mapping): which header "
        "feeds each column, how stages read; options given here win over the file's",
    )
    order = parser.add_mutually_exclusive_group()
    order.add_argument("--dayfirst", action="store_true", default=None, help="read 01/02/2024 as 1 February")
    order.add_argument("--monthfirst", dest="dayfirst", action="store_false", help="read 01/02/2024 as 2 January")
    parser.add_argument("--currency", help="reporting currency (ISO code)")
    parser.add_argument("--sheet", help="sheet of an .xlsx workbook (name or number; default: the first)")
    parser.add_argument(
        "--grain",
        choices=["auto", "line_items", "stage_history"],
        default="auto",
        help="rows repeating a deal id: parts of one deal, or its stage history (default: decide)",
    )


def _sheet(value: str | None) -> str | int | None:
    if value is None:
        return None
    return int(value) if value.isdigit() else value


def _inspect(args: argparse.Namespace, out) -> int:
    from .errors import DetectionError

    if args.save_mapping:
        _check_mapping_path(args.save_mapping)
    try:
        result = _load(args)
    except DetectionError as exc:
        if args.mapping or args.source != "auto":
            raise
        return _proposal(args, exc, out)
    _print_result(args, result, out)
    if args.save_mapping:
        _save_mapping(args, _mapping_read_with(args, result), out)
    return 0


def _check_mapping_path(path: str) -> None:
    """A mapping file's name, checked before the (possibly long) read of the export."""
    from pathlib import Path

    if Path(path).suffix.lower() != ".toml":
        raise ChannelKPIError(
            f"--save-mapping {path}: a mapping file is TOML", fix=f"name it {Path(path).stem or 'crm'}.toml"
        )


def _mapping_read_with(args: argparse.Namespace, result):
    """The mapping the export was read with: the file given, or the preset's columns, or (for
    a table read by common names) the proposal with the columns the load used."""
    from .ingest.mapfile import Mapping, load_mapping
    from .ingest.meaning import propose_mapping

    if args.mapping:
        given = dict(dayfirst=args.dayfirst, currency=args.currency)
        return Mapping(**load_mapping(args.mapping).load_arguments(source=args.source, **given), file=result.file)
    used = Mapping.read_with(result, dayfirst=args.dayfirst, currency=args.currency)
    if used.source != "generic":
        return used
    proposal = propose_mapping(args.file, sheet=_sheet(args.sheet))
    proposal.columns = {**{h: r for h, r in proposal.columns.items() if r not in used.columns.values()}, **used.columns}
    proposal.dayfirst = args.dayfirst if args.dayfirst is not None else proposal.dayfirst
    proposal.currency = args.currency or proposal.currency
    return proposal


def _proposal(args: argparse.Namespace, exc, out) -> int:
    """An export no preset recognises: the proposed mapping, the code to paste, and the file
    to save it to, instead of an error (the user is one confirmation away)."""
    from pathlib import Path

    from .ingest.meaning import propose_mapping

    mapping = getattr(exc, "mapping", None) or propose_mapping(args.file, sheet=_sheet(args.sheet))
    if args.dayfirst is not None:
        mapping.dayfirst = args.dayfirst
    if args.currency:
        mapping.currency = args.currency
    print(f"file:    {Path(args.file).name}", file=out)
    print(f"not read yet: {exc.problem}", file=out)
    print(f"\nproposed mapping{' (ready to load)' if mapping.ready else ''}:", file=out)
    print(mapping.describe(), file=out)
    if mapping.arguments() or mapping.unconfirmed():
        print("\nto load it in Python (edit what is wrong first):", file=out)
        print(mapping.code(path=args.file), file=out)
    else:
        print(
            "\nnothing is recognised surely enough to write code for: name the columns yourself, e.g.\n"
            f"  ck.load_crm({args.file!r}, columns={{'<id header>': 'deal_id', '<stage header>': 'stage'}})",
            file=out,
        )
    if args.save_mapping:
        _save_mapping(args, mapping, out)
    else:
        print(
            f"\nor save it, edit the file and pass it back:\n  channelkpi inspect {args.file} --save-mapping crm.toml"
            f"\n  channelkpi inspect {args.file} --mapping crm.toml",
            file=out,
        )
    return 0


def _save_mapping(args: argparse.Namespace, mapping, out) -> None:
    path = mapping.save(args.save_mapping)
    needs = mapping.needs
    if needs:
        print(
            f"\nmapping saved to {path}, but it is NOT READY: answer the questions at the top of the file "
            "(and uncomment the lines marked TO CONFIRM that are right) before loading with it. Still needed:",
            file=out,
        )
        for need in needs:
            print(f"  - {need}", file=out)
        print(f"then check it with: channelkpi inspect {args.file} --mapping {path}", file=out)
        return
    print(
        f"\nmapping saved to {path}: edit it if needed, then pass it back with "
        f"--mapping {path} (or ck.load_crm(export, mapping={str(path)!r}))",
        file=out,
    )


def _load(args: argparse.Namespace, **more):
    """``load_crm`` of the command's file with the reading options both commands take."""
    from .ingest import load_crm

    return load_crm(
        args.file,
        source=args.source,
        mapping=args.mapping,
        dayfirst=args.dayfirst,
        currency=args.currency,
        sheet=_sheet(args.sheet),
        grain=args.grain,
        **more,
    )


def _rows(n: int) -> str:
    return f"{n:,} row" + "s" * (n != 1)


def _print_result(args: argparse.Namespace, result, out) -> None:
    s = result.summary()
    print(
        f"file:    {result.file} ({result.source.kind}"
        + (f", {result.source.encoding}" if result.source.encoding else "")
        + ")",
        file=out,
    )
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
        shown = "" if len(result.ledger) <= args.ledger else f"; first {args.ledger}"
        print(f"\nledger ({_rows(len(result.ledger))} not kept one-to-one{shown}):", file=out)
        print(result.ledger.head(args.ledger).to_string(index=False), file=out)
    if args.rows:
        n = len(result.deals)
        print(f"\ncanonical deals ({f'first {args.rows} of {n}' if n > args.rows else f'all {n}'}):", file=out)
        with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_colwidth", 24):
            print(result.deals.head(args.rows).to_string(index=False), file=out)


def _keep(values: list[str]) -> str | list[str] | None:
    """``--keep`` as load_crm takes it: the columns named, or "all"."""
    if not values:
        return None
    if any(v.strip().lower() == "all" for v in values):
        if len(values) > 1:
            raise ChannelKPIError(
                f"--keep all was given with --keep {' '.join(v for v in values if v.strip().lower() != 'all')}",
                fix="give either --keep all or the columns to keep",
            )
        return "all"
    return values


def _elapsed_printer(stream):
    """A progress callback that prints each step with the seconds since the first, in the
    language in force (a step the load reports is said from its template when it has one)."""
    from .formats import number
    from .ingest.wording import said

    t0 = time.perf_counter()

    def say(message: str) -> None:
        seconds = number(time.perf_counter() - t0, digits=1)
        print(f"channelkpi: [{seconds:>5} s] {said(message)}", file=stream, flush=True)

    return say


def _report(args: argparse.Namespace, err) -> int:
    from .i18n import using

    # the progress and the summary lines speak the report's language, with its number formats
    with using(args.locale) as locale:  # resolved once: an unknown language warns once
        return _report_in_locale(argparse.Namespace(**{**vars(args), "locale": locale}), err)


def _report_in_locale(args: argparse.Namespace, err) -> int:
    from pathlib import Path

    from .formats import number
    from .i18n import gettext as _
    from .ingest import read_targets
    from .reports import REPORT_FORMATS, output_paths, report

    if not (args.output or args.png or args.svg):
        raise ChannelKPIError(
            "nothing to write", fix="name an output with -o review.html and/or -o review.xlsx, or --png/--svg DIR"
        )
    output_paths(args.output)  # before the (possibly long) load: a typo should not cost a minute
    say = (lambda _m: None) if args.quiet else _elapsed_printer(err)
    size = Path(args.file).stat().st_size if Path(args.file).is_file() else 0
    if size:
        say(_("reading {file} ({size} MB)").format(file=args.file, size=number(size / 2**20, digits=1)))
    else:
        say(_("reading {file}").format(file=args.file))
    result = _load(
        args,
        keep=_keep(args.keep),
        partners=args.partner_table,
        owners=args.owner_table,
        progress=say,
    )
    s = result.summary()
    say(
        _("{rows} rows read: {kept} deals kept, {merged} merged, {rejected} rejected").format(
            rows=number(s["rows_read"]),
            kept=number(s["kept"]),
            merged=number(s["merged"]),
            rejected=number(s["rejected"]),
        )
    )
    targets = read_targets(args.targets, fiscal_year_start=args.fiscal_year_start) if args.targets else None
    history = None
    if args.history:
        from .ingest.history import load_history

        say(_("reading the history: {files}").format(files=", ".join(args.history)))
        paths = args.history if len(args.history) > 1 else args.history[0]
        history = load_history(paths, dayfirst=args.dayfirst, currency=args.currency)
    options = dict(
        targets=targets,
        by=args.by,
        freq=args.freq,
        start=args.start,
        end=args.end,
        where={"partner": args.partners} if args.partners else None,
        currency=args.currency,  # the ISO code amounts were converted into; None: the export's own
        fiscal_year_start=args.fiscal_year_start,
        progress=say,
        history=history,
        locale=args.locale,
        **({"title": args.title} if args.title is not None else {}),
    )
    written = report(result, path=args.output or None, png_dir=args.png, svg_dir=args.svg, **options)
    for path in written:
        if path.suffix.lower() in REPORT_FORMATS:
            say(_("wrote {file} ({size} kB)").format(file=path, size=number(path.stat().st_size / 1024)))
    if args.png or args.svg:
        images = sum(p.suffix.lower() in (".png", ".svg") for p in written)
        say(_("wrote {count} images").format(count=number(images)))
    return 0


def _error_line(exc: ChannelKPIError, locale: str | None) -> str:
    """The one line bad input ends with: in the language of ``--locale`` when it is given (the
    report's reader reads it too), else exactly as the load wrote it."""
    if not locale:
        return f"channelkpi: error: {exc}"
    from .i18n import gettext as _
    from .i18n import using
    from .ingest.errors_said import error_said

    with using(locale):
        return _("channelkpi: error: {message}").format(message=error_said(exc))


def main(argv: Sequence[str] | None = None, *, out=None) -> int:
    """Run the command line; returns the exit code (1 with a one-line message on bad input)."""
    out = out or sys.stdout
    args = _parser().parse_args(argv)
    try:
        if args.command == "inspect":
            return _inspect(args, out)
        if args.command == "report":
            return _report(args, sys.stderr)
    except ChannelKPIError as exc:
        print(_error_line(exc, getattr(args, "locale", None)), file=sys.stderr)
        return 1
    except OSError as exc:  # a folder that cannot be written, a disk that is full
        print(f"channelkpi: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 1
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
