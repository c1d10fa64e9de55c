"""Columns recognised by meaning: a proposed :class:`~.mapfile.Mapping` for an export no
preset knows, from its headers and its values, with a confidence and a reason per column.

Each header is read for what it says (:mod:`.meaning_headers`, with the words of
:mod:`.vocabulary`) and each column for what its values look like (:mod:`.meaning_values`).
The two combine into a confidence per column: a header that names a column and values that
fit it are *sure*; a weaker header, or values alone that can only be one thing (won and lost
words, a unique code per row), are *likely*; anything else is *weak* and stays out of
``columns``. Two columns that compete for one canonical column without a clear winner are
both weak, so a lookalike (two date columns, ``amount`` and ``price``, an ``id`` that repeats)
is never taken silently; a winner with a plausible rival names it in its reason.

Examples
--------
>>> csv = b"ref,reseller,rep,customer,phase,opened_on,closed_on,deal_value\\n" \\
...       b"Q1,Acme,Ann,Initech,Won,2024-01-05,2024-02-01,1200\\n" \\
...       b"Q2,Acme,Bob,Globex,Lost,2024-01-09,2024-03-01,800\\n" \\
...       b"Q3,Umbrella,Ann,Hooli,Negotiating,2024-02-11,,500\\n"
>>> m = propose_mapping(csv)
>>> m.columns
{'ref': 'deal_id', 'reseller': 'partner', 'rep': 'owner', 'customer': 'account', 'phase': 'stage', 'opened_on': 'created', 'closed_on': 'closed', 'deal_value': 'amount'}
>>> [(s.value, s.reading) for s in m.stages]
[('Won', 'won'), ('Lost', 'lost'), ('Negotiating', 'open')]
>>> m.guesses[0].certainty, m.guesses[0].reason
('sure', "header 'ref' means deal_id (English); every row has its own value")
"""

from __future__ import annotations

from dataclasses import dataclass

from .mapfile import ColumnGuess, Mapping, StageReading
from .meaning_headers import header_hints, header_senses
from .meaning_values import Profile, profile_columns, read_stage, stage_counts
from .reader import RawTable, Source, read_raw

__all__ = ["CLOSE", "LIKELY", "SURE", "confirm", "propose", "propose_mapping"]

#: confidence from which a guess is "sure" and "likely"; below, "weak"
SURE, LIKELY = 0.85, 0.6
#: two candidates closer than this are not told apart
CLOSE = 0.15

_DATES = ("created", "closed", "expected_close", "close_date")
_TEXT = ("partner", "owner", "account", "name", "product", "department", "unit", "channel", "source")
_OUTCOME = ("stage", "status")


@dataclass(frozen=True)
class _Candidate:
    header: str
    role: str | None
    confidence: float
    reason: str


def propose_mapping(src: Source, *, sheet: str | int | None = None, max_bytes: int | None = None) -> Mapping:
    """Read an export and propose how to map it (see :func:`propose`).

    Parameters
    ----------
    src : path, bytes or binary file
        The export, as :func:`channelkpi.load_crm` takes it.
    sheet : str or int, optional
        The sheet of a workbook.
    max_bytes : int, optional
        Refuse larger inputs.

    Returns
    -------
    Mapping
        ``columns`` and ``stage_map`` to pass to :func:`channelkpi.load_crm`, with a
        :class:`~.mapfile.ColumnGuess` per header and a :class:`~.mapfile.StageReading` per
        stage value saying how sure each is and why.

    Examples
    --------
    >>> m = propose_mapping(b"Kansnummer;Wederverkoper;Fase;Bedrag\\nK1;Acme;Gewonnen;1.200,50\\nK2;Acme;Verloren;80\\n")
    >>> m.columns, m.stage_map, m.decimal
    ({'Kansnummer': 'deal_id', 'Wederverkoper': 'partner', 'Fase': 'stage', 'Bedrag': 'amount'}, {'Gewonnen': 'won', 'Verloren': 'lost'}, ',')
    """
    return propose(read_raw(src, sheet=sheet, max_bytes=max_bytes))


def propose(raw: RawTable) -> Mapping:
    """A mapping for the raw table from its headers and a bounded sample of its values.

    Parameters
    ----------
    raw : RawTable
        The export as read by :func:`~channelkpi.ingest.reader.read_raw`.

    Returns
    -------
    Mapping
        ``columns`` holds the sure and likely columns only; ``guesses`` has one
        :class:`~.mapfile.ColumnGuess` per header in the file's order (weak ones included),
        ``stages`` every distinct value of the stage and status columns with its reading.
    """
    profiles = profile_columns(raw)
    ranked = {h: _candidates(h, profiles[h]) for h in raw.headers}
    chosen = _assign(raw.headers, ranked)
    guesses = tuple(chosen[h] for h in raw.headers)
    columns = {g.header: g.role for g in guesses if g.role and g.certainty != "weak"}
    stages = _stages(raw, [h for h, r in columns.items() if r in _OUTCOME])
    dated = [p for p in profiles.values() if p.dates >= 0.9]  # the order holds for any date column
    orders = {p.dayfirst for p in dated if p.dayfirst is not None}
    amount = next((profiles[h] for h, r in columns.items() if r == "amount"), None)
    return Mapping(
        columns=columns,
        stage_map={s.value: s.reading for s in stages if s.reading},
        dayfirst=orders.pop() if len(orders) == 1 else None,
        decimal=amount.decimal if amount else None,  # type: ignore[arg-type]
        currency=(amount.currency or header_hints(amount.header)[0]) if amount else None,
        guesses=guesses,
        stages=tuple(stages),
        file=raw.file,
    )


def _fit(role: str, p: Profile) -> tuple[float, str]:
    """How well the values fit a canonical column: 1 fit, 0.5 cannot tell, 0 do not fit."""
    if not p.filled:
        return 0.5, "the sampled cells are empty"
    if role == "deal_id":
        if p.unique:
            return 1.0, "every row has its own value"
        if p.unique is False:
            rows = f"{p.repeats:,} row repeats" if p.repeats == 1 else f"{p.repeats:,} rows repeat"
            return 0.0, f"{rows} another row's value, so it is not one id per deal"
        if p.dates > 0.5:
            return 0.0, "the values are dates"
        if p.distinct < p.filled:
            return 0.0, "values repeat in the sample, so it is not one id per deal"
        return 0.0, "the values are not codes (they hold spaces or blanks)"
    if role in _DATES:
        if p.dates >= 0.9:
            return 1.0, f"{p.dates:.0%} of the values are dates"
        return (0.5, f"only {p.dates:.0%} of the values are dates") if p.dates >= 0.6 else (0.0, "values are not dates")
    if role in ("amount", "won_amount"):
        if p.numbers >= 0.9:
            return 1.0, f"{p.numbers:.0%} of the values are amounts"
        return (
            (0.5, f"only {p.numbers:.0%} of the values are amounts")
            if p.numbers >= 0.6
            else (0.0, "values are not amounts")
        )
    if role == "probability":
        if p.numbers >= 0.9 and p.percent:
            return 1.0, "the values are numbers from 0 to 100"
        return 0.0, "values are not numbers from 0 to 100"
    if role == "currency":
        return (1.0, "the values are currency codes") if p.iso >= 0.9 else (0.0, "values are not currency codes")
    if role in _OUTCOME:
        if p.numbers >= 0.9 or p.dates >= 0.9:
            return 0.0, "values are numbers or dates, not stages"
        if p.known:
            return 1.0, f"values such as {', '.join(repr(v) for v, _ in p.known[:3])} read as stages"
        if p.distinct <= 40:
            return 0.5, f"{p.distinct} distinct values, none a known stage word"
        return 0.0, f"{p.distinct} distinct values in the sample: free text, not stages"
    if role in ("won_flag", "closed_flag"):
        return 0.5, "values to read as yes/no"
    if p.text >= 0.8:
        return 1.0, "the values are text"
    if p.numbers >= 0.9 or p.dates >= 0.9:
        return 0.0, "values are numbers or dates, not names"
    return 0.5, "values are partly text"


def _from_values(p: Profile) -> list[tuple[str, float, str]]:
    """What values alone suggest for a column whose header says nothing known."""
    out: list[tuple[str, float, str]] = []
    readings = {r for _, r in p.known}
    if p.known and {"won", "lost"} <= readings and p.distinct <= 40 and p.numbers < 0.5:
        role = "status" if p.statuses else "stage"
        words = ", ".join(repr(v) for v, _ in p.known[:4])
        out.append((role, 0.8, f"the values read as outcomes ({words})"))
    elif p.known and readings - {"open"} and len(p.known) * 2 >= p.distinct:
        out.append(("stage", 0.55, "some values read as stages; confirm it is the stage"))
    if p.unique and p.codes >= 0.9:
        out.append(("deal_id", 0.65, "every row has its own code"))
    if p.dates >= 0.9:
        for role in _DATES:
            out.append((role, 0.4, f"{p.dates:.0%} of the values are dates; which date is it?"))
    if p.numbers >= 0.9 and p.money >= 0.5 and not p.unique:
        out.append(("amount", 0.45, "the values are written like money; is it the deal's amount?"))
    if p.percent_sign:
        out.append(("probability", 0.5, "the values are percentages"))
    if p.iso >= 0.95:
        out.append(("currency", 0.7, "the values are currency codes"))
    return out


def _candidates(header: str, p: Profile) -> list[_Candidate]:
    """Every canonical column the header and values suggest, most confident first."""
    senses = header_senses(header)
    if any(s.role is None for s in senses):  # a lookalike: says what it is not
        return [_Candidate(header, None, senses[0].strength, senses[0].reason)]
    out: list[_Candidate] = []
    for s in senses:
        role = s.role
        if role == "closed" and p.dates < 0.6 and not p.numbers and p.distinct <= 4:
            role = "closed_flag"  # a yes/no "Closed" column
        if role == "status" and p.known and not p.statuses:
            # "Pipeline Status: Proposal, Negotiation, Won": stages, which give the outcome
            # through the stage map and keep the stage itself
            role = "stage"
        fit, why = _fit(role, p)
        confidence = s.strength * (0.55 + 0.45 * fit) if fit > 0 else 0.3 * s.strength
        out.append(_Candidate(header, role, round(confidence, 3), f"{s.reason}; {why}"))
    if not out:
        out = [_Candidate(header, r, c, f"no known header word; {why}") for r, c, why in _from_values(p)]
    return sorted(out, key=lambda c: -c.confidence)


def _certainty(confidence: float) -> str:
    return "sure" if confidence >= SURE else "likely" if confidence >= LIKELY else "weak"


def _assign(headers: list[str], ranked: dict[str, list[_Candidate]]) -> dict[str, ColumnGuess]:
    """One guess per header: the most confident column not taken by a more confident header,
    weak where two headers compete without a clear winner."""
    out: dict[str, ColumnGuess] = {}
    taken: dict[str, _Candidate] = {}
    pending = {h: list(c) for h, c in ranked.items()}
    order = sorted(headers, key=lambda h: -(pending[h][0].confidence if pending[h] else 0))
    for header in order:
        cands = pending[header]
        if not cands:
            out[header] = ColumnGuess(header, None, 0.0, "weak", "not recognised by its header or its values")
            continue
        if cands[0].role is None:
            c = cands[0]
            out[header] = ColumnGuess(header, None, c.confidence, "sure", c.reason)
            continue
        free = [c for c in cands if c.role not in taken]
        if not free:
            first = cands[0]
            holder = taken[first.role].header
            out[header] = ColumnGuess(
                header,
                None,
                first.confidence,
                "weak",
                f"{first.reason}; but {holder!r} is taken for {first.role}",
            )
            continue
        best = free[0]
        taken[best.role] = best
        out[header] = ColumnGuess(header, best.role, best.confidence, _certainty(best.confidence), best.reason)
    return _contest(headers, ranked, out)


def _contest(headers, ranked, out: dict[str, ColumnGuess]) -> dict[str, ColumnGuess]:
    """Weaken a winner its rival comes close to, and name a plausible rival in its reason."""
    for header, guess in list(out.items()):
        if guess.role is None:
            continue
        rivals = [
            (c, h)
            for h in headers
            if h != header and out[h].role != guess.role
            for c in ranked[h]
            if c.role == guess.role
            and (out[h].role is None or out[h].certainty == "weak" or c.confidence >= out[h].confidence)
        ]
        if not rivals:
            continue
        rival, name = max(rivals, key=lambda t: t[0].confidence)
        if rival.confidence >= LIKELY - CLOSE and guess.confidence - rival.confidence < CLOSE:
            out[header] = ColumnGuess(
                header,
                guess.role,
                guess.confidence,
                "weak",
                f"{guess.reason}; but {name!r} could be the {guess.role} as well: say which",
            )
            if out[name].role in (None, guess.role):  # the rival, named as the other possibility
                out[name] = ColumnGuess(
                    name,
                    guess.role,
                    rival.confidence,
                    "weak",
                    f"{rival.reason}; but {header!r} could be the {guess.role} as well: say which",
                )
        elif rival.confidence >= LIKELY - CLOSE:
            certainty = "likely" if guess.certainty == "sure" else guess.certainty
            out[header] = ColumnGuess(
                header,
                guess.role,
                guess.confidence,
                certainty,
                f"{guess.reason}; {name!r} could also be the {guess.role}",
            )
    return out


def _stages(raw: RawTable, headers: list[str]) -> list[StageReading]:
    """Every distinct value of the stage and status columns, with its reading and why."""
    seen: dict[str, StageReading] = {}
    for header in headers:
        for value, rows in stage_counts(raw, header):
            if value in seen:
                old = seen[value]
                seen[value] = StageReading(value, old.reading, old.rows + rows, old.reason)
                continue
            reading, why = read_stage(value)
            seen[value] = StageReading(value, reading, rows, f"{why} ({header!r})")  # type: ignore[arg-type]
    return list(seen.values())


def confirm(
    raw: RawTable,
    proposal: Mapping,
    *,
    columns: dict[str, str | None] | None = None,
    stage_map: dict[str, str] | None = None,
) -> Mapping:
    """The proposal with the caller's own ``columns=`` and ``stage_map=`` applied: they win,
    count as sure, and the stage values are those of the stage and status columns that result.

    Examples
    --------
    >>> raw = read_raw(b"code,step\\nA,Won\\nB,Parked\\nC,Closed\\n")
    >>> m = confirm(raw, propose(raw), columns={"step": "stage"}, stage_map={"Closed": "lost"})
    >>> m.columns, [(s.value, s.reading) for s in m.stages]
    ({'code': 'deal_id', 'step': 'stage'}, [('Won', 'won'), ('Parked', 'open'), ('Closed', 'lost')])
    """
    given = {}
    by_key = {h.casefold().strip(): h for h in raw.headers}
    for their, role in (columns or {}).items():
        header = their if their in raw.headers else by_key.get(str(their).casefold().strip(), str(their))
        given[header] = role
    taken = {r for r in given.values() if r}
    guesses = []
    for g in proposal.guesses:
        if g.header in given:
            role = given[g.header]
            guesses.append(ColumnGuess(g.header, role, 1.0, "sure", "given in columns="))
        elif g.role in taken:
            guesses.append(
                ColumnGuess(g.header, None, g.confidence, g.certainty, f"{g.reason}; columns= names another")
            )
        else:
            guesses.append(g)
    mapped = {g.header: g.role for g in guesses if g.role and g.certainty != "weak"}
    outcome_headers = [h for h, r in mapped.items() if r in _OUTCOME]
    own = {str(k).casefold().strip(): v for k, v in (stage_map or {}).items()}
    stages = []
    for s in _stages(raw, outcome_headers):
        mine = own.get(s.value.casefold().strip())
        stages.append(StageReading(s.value, mine, s.rows, "given in stage_map=") if mine else s)  # type: ignore[arg-type]
    return Mapping(
        columns=mapped,
        stage_map={s.value: s.reading for s in stages if s.reading},
        channel_map=dict(proposal.channel_map),
        dayfirst=proposal.dayfirst,
        decimal=proposal.decimal,
        currency=proposal.currency,
        source=proposal.source,
        guesses=tuple(guesses),
        stages=tuple(stages),
        file=proposal.file,
    )
