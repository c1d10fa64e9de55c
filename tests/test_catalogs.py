"""The translation catalogs: complete, current with the code, and faithful to each message's
placeholders, so no Dutch, German or French page shows an English or broken string."""

from __future__ import annotations

import ast
import csv
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from channelkpi import i18n

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "channelkpi"
LOCALES = PACKAGE / "locale"
TEMPLATE = LOCALES / "channelkpi.pot"
LANGUAGES = [lang for lang in i18n.LANGUAGES if lang != "en"]
KEYWORDS = {"_": None, "gettext": None, "N_": None}  # as `make messages` extracts them
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def _read(path: Path):
    with path.open("rb") as f:
        return read_po(f)


def _ids(catalog) -> set[str]:
    return {m.id for m in catalog if m.id}


def _placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


@pytest.fixture(scope="module")
def template():
    return _read(TEMPLATE)


@pytest.fixture(scope="module", params=LANGUAGES)
def catalog(request):
    return request.param, _read(LOCALES / request.param / "LC_MESSAGES" / "channelkpi.po")


@pytest.mark.slow
def test_the_template_is_current_with_the_code(template):
    # extracted again, as `make messages` does: a string wrapped (or changed) in the code and not
    # in the template would never reach a translator
    extracted = {message for _f, _l, message, _c, _ctx in extract_from_dir(str(PACKAGE), keywords=KEYWORDS)}
    missing, stale = extracted - _ids(template), _ids(template) - extracted
    assert not missing, f"run `make messages`: not in channelkpi.pot: {sorted(missing)[:10]}"
    assert not stale, f"run `make messages`: no longer in the code: {sorted(stale)[:10]}"
    assert len(extracted) > 100  # the dashboard's strings at least


def test_every_catalog_translates_every_message(template, catalog):
    language, po = catalog
    messages = {m.id: m for m in po if m.id}
    missing = sorted(_ids(template) - messages.keys())
    assert not missing, f"{language}: run `make messages` and translate {missing[:10]}"
    untranslated = sorted(i for i, m in messages.items() if not m.string)
    assert not untranslated, f"{language}: empty translations: {untranslated[:10]}"
    fuzzy = sorted(i for i, m in messages.items() if m.fuzzy)
    assert not fuzzy, f"{language}: fuzzy (unchecked) translations: {fuzzy[:10]}"
    obsolete = sorted(messages.keys() - _ids(template))
    assert not obsolete, f"{language}: translations of messages the code no longer has: {obsolete[:10]}"


def test_translations_keep_every_placeholder(catalog):
    language, po = catalog
    changed = [
        (m.id, m.string)
        for m in po
        if m.id and m.string and _placeholders(m.id) != _placeholders(m.string)  # {partner} stays {partner}
    ]
    assert not changed, f"{language}: placeholders changed in translation: {changed[:5]}"


def test_placeholders_are_named(template):
    # a translation may need the values in another order: "{}" cannot be moved, "{partner}" can
    unnamed = [m.id for m in template if m.id and any(p == "" or p.isdigit() for p in PLACEHOLDER.findall(m.id))]
    assert not unnamed, unnamed


@pytest.mark.slow
def test_no_message_is_built_before_it_is_translated():
    # `_(f"Deals of {name}")` would look up a text no catalog has: messages are literal strings,
    # values go in afterwards with .format
    built = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in KEYWORDS
                and node.args
                and isinstance(node.args[0], ast.JoinedStr | ast.BinOp)
            ):
                built.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not built, built


@pytest.mark.slow
def test_every_literal_message_in_the_code_is_in_the_template(template):
    # the extractor does not look inside f-strings (before Python 3.12): `f"<b>{_('Showing:')}</b>"`
    # would never be translated
    literal = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in KEYWORDS
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                literal.add(node.args[0].value)
    assert len(literal) > 100
    assert not literal - _ids(template), sorted(literal - _ids(template))[:10]


def test_the_glossary_names_each_kpi_as_the_catalogs_do():
    with (LOCALES / "glossary.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {"en", "nl", "de", "fr"} <= set(rows[0])
    assert len(rows) >= 8  # the eight KPIs, at least
    for row in rows:
        for language in LANGUAGES:
            with i18n.using(language):
                assert i18n.gettext(row["en"]) == row[language], (row["en"], language)


def test_dutch_kpi_names_are_the_ones_dutch_sales_teams_use():
    with i18n.using("nl-NL"):
        names = [
            i18n.gettext(n)
            for n in ("Average deal size", "Deal count", "Win rate", "Deal velocity", "Deal success", "Quality score")
        ]
    assert names == [
        "Gemiddelde dealgrootte",
        "Aantal deals",
        "Winratio",
        "Dealsnelheid",
        "Dealsucces",
        "Kwaliteitsscore",
    ]
