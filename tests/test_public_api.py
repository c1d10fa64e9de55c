"""The public API is what ``__all__`` says: every module's list is true, modules use each other
only through those lists, options are typed, and every public function documents itself."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import tomllib
import typing
from pathlib import Path

import pytest
from test_architecture import PACKAGE, imports, modules

import channelkpi as ck
from channelkpi import types

MODULES = modules()


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def defined_names(path: Path) -> set[str]:
    """The public names a module's own top level binds (functions, classes, assignments)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {n for n in names if not n.startswith("_")}


def api_problems(mods: dict[str, Path]) -> set[str]:
    problems: set[str] = set()
    lists: dict[str, list[str]] = {}
    for name, path in mods.items():
        module = importlib.import_module(name)
        listed = getattr(module, "__all__", None)
        if listed is None:
            problems.add(f"no __all__: {name}")
            continue
        lists[name] = list(listed)
        if len(set(listed)) != len(listed):
            problems.add(f"listed twice in {name}.__all__")
        problems |= {f"listed, not there: {name}.{n}" for n in listed if not hasattr(module, n)}
        problems |= {f"listed, private: {name}.{n}" for n in listed if _private(n)}
        problems |= {f"not listed: {name}.{n}" for n in defined_names(path) - set(listed)}
    for name, path in mods.items():
        for target, imported, _line in imports(name, path, set(mods)):
            if imported is None or target == name or target not in lists:
                continue
            if imported not in lists[target]:
                problems.add(f"{name} imports {target}.{imported}, not in its __all__")
    return problems


@pytest.mark.slow
def test_every_module_lists_what_it_defines_and_others_import():
    assert api_problems(MODULES) == set()


def test_the_checker_finds_each_kind_of_problem(tmp_path):
    root = tmp_path / "fakepkg"
    root.mkdir()
    (root / "__init__.py").write_text("__all__ = []\n")
    (root / "a.py").write_text(
        '__all__ = ["f", "gone", "f", "_h"]\n\ndef f(): ...\n\ndef g(): ...\n\ndef _h(): ...\n\nX = 1\n'
    )
    (root / "b.py").write_text('from .a import g\n\n__all__ = ["h"]\n\ndef h(): ...\n')
    (root / "c.py").write_text("def k(): ...\n")
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        found = api_problems(modules(root))
    finally:
        sys.path.remove(str(tmp_path))
        for m in [m for m in sys.modules if m.startswith("fakepkg")]:
            del sys.modules[m]
    assert found == {
        "listed twice in fakepkg.a.__all__",
        "listed, not there: fakepkg.a.gone",
        "listed, private: fakepkg.a._h",
        "not listed: fakepkg.a.g",
        "not listed: fakepkg.a.X",
        "fakepkg.b imports fakepkg.a.g, not in its __all__",
        "no __all__: fakepkg.c",
    }


def test_the_front_door_lists_agree():
    """``channelkpi/__init__.py`` names each public object twice (the lazy ``__getattr__`` and
    the ``TYPE_CHECKING`` imports editors read): both lists are ``__all__``, and each name is the
    object its module defines."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    (block,) = [n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING"]
    typed = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom)
        for alias in node.names:
            typed[alias.asname or alias.name] = "channelkpi" + ("." + node.module if node.module else "")
    assert sorted(typed) == sorted(ck.__all__)
    for name, module in typed.items():
        assert getattr(ck, name) is getattr(importlib.import_module(module), name), name


def test_py_typed_is_in_the_wheel():
    assert (PACKAGE / "py.typed").is_file()
    config = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))
    wheel = config["tool"]["hatch"]["build"]["targets"]["wheel"]
    # hatch ships every file of a listed package that no exclude pattern (or .gitignore) drops
    assert wheel["packages"] == ["channelkpi"]
    excluded = [*wheel.get("exclude", []), *config["tool"]["hatch"]["build"].get("exclude", [])]
    assert not any("typed" in pattern or pattern in ("*", "channelkpi/*") for pattern in excluded)
    ignore = PACKAGE.parent / ".gitignore"
    assert "py.typed" not in (ignore.read_text() if ignore.exists() else "")


KPIS = [
    "average_deal_size",
    "channel_performance",
    "cycle_distribution",
    "deal_count",
    "deal_success",
    "deal_velocity",
    "kpi_table",
    "pipeline",
    "pipeline_waterfall",
    "quality_score",
    "seasonality",
    "win_rate",
]
SHARED = {
    "by": types.By,
    "freq": types.Freq,
    "compare": types.Compare | None,
    "where": types.Where,
    "engine": types.Engine,
    "start": types.DateLike,
    "end": types.DateLike,
}


@pytest.mark.parametrize("name", KPIS)
def test_kpi_options_are_typed_with_the_aliases(name):
    func = getattr(ck, name)
    hints = typing.get_type_hints(func)
    params = inspect.signature(func).parameters
    for option, alias in SHARED.items():
        if option in params:
            assert hints[option] == alias, (name, option)
    # data first, every option keyword-only
    assert [p.name for p in params.values() if p.kind is not inspect.Parameter.KEYWORD_ONLY] == ["deals"]
    assert {"by", "start", "end", "where", "engine"} <= set(params)


def test_the_other_options_are_typed_too():
    from channelkpi import charts

    assert typing.get_type_hints(ck.average_deal_size)["basis"] == types.Basis
    assert typing.get_type_hints(ck.win_rate)["weight"] == types.Weight
    assert typing.get_type_hints(ck.win_rate)["denominator"] == types.Denominator
    # a report ranks the people and partners of ReportLevel, or any other level (a kept field, "tier")
    assert typing.get_type_hints(ck.report)["by"] == types.ReportLevel | str
    assert typing.get_type_hints(ck.report)["freq"] == types.ReportFreq
    for chart in (charts.partner_ranking, charts.win_rate_by_group, charts.seasonality_heatmap):
        assert typing.get_type_hints(chart)["by"] == types.Level
    # the run-time tuples are the aliases' values
    assert types.LEVELS == typing.get_args(types.Level) and set(types.REPORT_LEVELS) < set(types.LEVELS)
    assert set(types.FREQS) == {None, *types.REPORT_FREQS, "W"}


def _section(doc: str, title: str) -> str | None:
    """The text of a numpydoc section of a dedented docstring (None when it has none)."""
    match = re.search(rf"^{title}\n-{{3,}}\n(.*?)(?=^\w[\w ]*\n-{{3,}}\n|\Z)", doc, re.M | re.S)
    return match.group(1) if match else None


def _documented_parameters(section: str) -> set[str]:
    """The names a Parameters section documents (``a, b : int`` documents a and b)."""
    names = set()
    for line in section.splitlines():
        if line and not line[0].isspace():
            names |= {n.strip().lstrip("*") for n in line.split(" : ")[0].split(",")}
    return names


PUBLIC_FUNCTIONS = sorted(n for n in ck.__all__ if inspect.isfunction(getattr(ck, n)))


@pytest.mark.parametrize("name", PUBLIC_FUNCTIONS)
def test_every_public_function_has_a_numpydoc_docstring(name):
    func = getattr(ck, name)
    doc = inspect.getdoc(func) or ""
    params = [p for p in inspect.signature(func).parameters.values() if p.name != "self"]
    if params:
        section = _section(doc, "Parameters")
        assert section, f"{name}: no Parameters section"
        missing = {p.name for p in params} - _documented_parameters(section)
        assert not missing, f"{name}: parameters not documented: {sorted(missing)}"
    assert _section(doc, "Returns"), f"{name}: no Returns section"
    examples = _section(doc, "Examples")
    assert examples and ">>> " in examples, f"{name}: no Examples section with a doctest"


def test_the_docstring_checker_reads_sections():
    doc = inspect.cleandoc(
        """Title.

        Parameters
        ----------
        a, b : int
            Numbers.
        **options
            Passed on.

        Returns
        -------
        int

        Examples
        --------
        >>> 1
        1
        """
    )
    assert _documented_parameters(_section(doc, "Parameters")) == {"a", "b", "options"}
    assert _section(doc, "Returns").strip() == "int"
    assert _section(doc, "Raises") is None
