"""The import graph of the package points one way.

Reads every module's source (``ast``, nothing is imported) and fails on
(a) an import cycle, (b) a module using another module's underscore name, and (c) an import
against the layer order: foundation (errors, schema, safety) -> ingestion -> metrics -> charts
-> views -> reports and widgets -> the command line and the package's front door.

Every import counts, also one inside a function: it is still a dependency, only a late one.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

import channelkpi

PACKAGE = Path(channelkpi.__file__).parent

#: Layer of each module or subpackage (a subpackage's modules share its layer; ``channelkpi``
#: itself is the package's ``__init__``); a module may import from its own layer and the
#: layers below, never above.
LAYERS = {
    "channelkpi.errors": 0,
    "channelkpi.version": 0,
    "channelkpi.schema": 0,
    "channelkpi.history": 0,  # a deal's successive states: the model every history source fills
    "channelkpi.safety": 0,
    "channelkpi.types": 0,
    "channelkpi.deprecation": 0,
    "channelkpi.currency_symbols": 0,
    "channelkpi.i18n": 0,  # the locale in force and the translation of visible strings
    "channelkpi.headings": 0,  # a KPI table's columns in the reader's words (downloads)
    "channelkpi.channels": 1,
    "channelkpi.ingest": 1,
    "channelkpi.storage": 1,
    "channelkpi.datasets": 1,
    "channelkpi.history_sample": 1,  # the sample deals' lives, which the sample generator writes
    "channelkpi.metrics": 2,
    "channelkpi.formats": 3,
    "channelkpi.charts": 3,
    "channelkpi.vegalocale": 3,  # the number and time formats a chart spec carries, per locale
    "channelkpi.offline": 3,
    "channelkpi.views": 4,
    "channelkpi.tiles": 4,  # the tiles and page pieces of a view (no widgets)
    "channelkpi.caveats": 4,
    "channelkpi.movementview": 4,  # the movers table and captions of a history view (no widgets)
    "channelkpi.drill": 4,  # which cell a number of a view is, and its deals as a page (no widgets)
    "channelkpi.reports": 5,
    "channelkpi.widgets": 5,
    "channelkpi.picklist": 5,
    "channelkpi.dealspanel": 5,
    "channelkpi.movementtab": 5,
    "channelkpi.mappingform": 5,  # the upload's mapping form
    "channelkpi.cli": 6,
    "channelkpi.serving": 6,  # the Voilà server's kernels, forked from a template importing widgets
    "channelkpi": 6,  # the package's front door re-exports the public API
}
LAYER_NAMES = ["foundation", "ingestion", "metrics", "charts", "views", "reports/widgets", "cli"]

#: The metrics package from the row rules up (see its docstring): a module imports only modules
#: of a lower rank.
METRICS_RANKS = {
    "rules": 0,
    "stats": 0,
    "definitions": 0,
    "products": 0,
    "recorded": 0,
    "canonical": 1,
    "periods": 1,
    "query": 2,
    "contract": 3,
    "targets": 3,
    "lazy": 4,
    "prepared": 4,
    "finish": 4,
    "stage1": 5,
    "behind": 7,
    "movement": 7,
    "kpis": 6,
    "activation": 6,
    # from a deal history: Kaplan-Meier, stage visits, then the funnel, time in stage and slips
    "survival": 0,
    "derived": 0,  # tables derived once per History, kept with it
    "visits": 3,
    "funnel": 4,
    "stagetime": 4,
    "slips": 4,
}

#: Import-graph violations tolerated for now: none. An entry here would be a debt in plain sight, to
#: be paid back, never grown; nothing about channelkpi.metrics is ever allowed.
KNOWN_VIOLATIONS: frozenset[str] = frozenset()


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path = PACKAGE) -> dict[str, Path]:
    return {module_name(p, root): p for p in sorted(root.rglob("*.py"))}


def _source(name: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute module a ``from ... import`` reads from."""
    if not node.level:
        return node.module or ""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return package + (f".{node.module}" if node.module else "")


@functools.cache
def parsed(path: Path) -> ast.Module:
    """A module's syntax tree (read once per test run: every test here walks every module)."""
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imports(name: str, path: Path, known: set[str]) -> list[tuple[str, str | None, int]]:
    """``(module, imported name or None, line)`` for every import of a package module."""
    tree = parsed(path)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, None, node.lineno) for a in node.names if a.name in known]
        elif isinstance(node, ast.ImportFrom):
            source = _source(name, path, node)
            if source not in known:
                continue
            for alias in node.names:
                if f"{source}.{alias.name}" in known:  # a submodule
                    found.append((f"{source}.{alias.name}", None, node.lineno))
                else:
                    found.append((source, alias.name, node.lineno))
    return found


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _layer(name: str) -> int | None:
    if name in LAYERS:
        return LAYERS[name]
    parent = name.rpartition(".")[0]
    return _layer(parent) if parent.count(".") >= 1 else None


def module_attribute_uses(name: str, path: Path, known: set[str]) -> list[tuple[str, str, int]]:
    """``module._name`` where ``module`` is a package module bound by an import."""
    tree = parsed(path)
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _source(name, path, node)
            for alias in node.names:
                if f"{source}.{alias.name}" in known:
                    bound[alias.asname or alias.name] = f"{source}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known and alias.asname:
                    bound[alias.asname] = alias.name
    return [
        (bound[node.value.id], node.attr, node.lineno)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in bound
        and _private(node.attr)
    ]


def graph(mods: dict[str, Path]) -> dict[str, set[str]]:
    known = set(mods)
    return {
        name: {target for target, _, _ in imports(name, path, known) if target != name} for name, path in mods.items()
    }


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each as a cycle
    through its members starting at the smallest name."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return [_cycle_through(sorted(c), edges) for c in components]


def _cycle_through(members: list[str], edges: dict[str, set[str]]) -> list[str]:
    """A shortest path from the first member back to itself within the component."""
    start, inside = members[0], set(members)
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(edges.get(v, ()) & inside):
            if w == start:
                return paths[v] + [start]
            if w not in paths:
                paths[w] = paths[v] + [w]
                queue.append(w)
    return members + [start]


def violations(mods: dict[str, Path], root: Path = PACKAGE) -> dict[str, str]:
    """Every violation, as its text -> where it is (file:line)."""
    known = set(mods)
    out: dict[str, str] = {}
    for name, path in mods.items():
        here = _layer(name)
        where = str(path.relative_to(root.parent))
        if here is None:
            out[f"no layer: {name} (add it to LAYERS in tests/test_architecture.py)"] = where
            continue
        for target, imported, line in imports(name, path, known):
            if imported is not None and _private(imported) and target != name:
                out[f"underscore name: {name} imports {target}.{imported}"] = f"{where}:{line}"
            there = _layer(target)
            if target != name and there is not None and there > here:
                text = f"upward import: {name} ({LAYER_NAMES[here]}) imports {target} ({LAYER_NAMES[there]})"
                out.setdefault(text, f"{where}:{line}")
        for target, attr, line in module_attribute_uses(name, path, known):
            out[f"underscore name: {name} uses {target}.{attr}"] = f"{where}:{line}"
    for cycle in cycles(graph(mods)):
        out[f"import cycle: {' -> '.join(cycle)}"] = ", ".join(
            str(mods[m].relative_to(root.parent)) for m in cycle[:-1]
        )
    return out


@pytest.mark.slow
def test_no_new_violations_anywhere_in_the_package():
    found = violations(modules())
    new = {text: where for text, where in found.items() if text not in KNOWN_VIOLATIONS}
    assert not new, "the import graph must point one way:\n" + "\n".join(f"{t}  [{w}]" for t, w in new.items())


@pytest.mark.slow
def test_metrics_has_no_allowed_violations():
    assert not [v for v in KNOWN_VIOLATIONS if "channelkpi.metrics" in v]
    found = violations(modules())
    assert not [v for v in found if "channelkpi.metrics" in v]


@pytest.mark.slow
def test_the_metrics_modules_import_only_the_ones_below_them():
    mods = {n: p for n, p in modules().items() if n.startswith("channelkpi.metrics.")}
    short = {n: n.removeprefix("channelkpi.metrics.") for n in mods}
    assert set(short.values()) == set(METRICS_RANKS), "give every metrics module a rank in METRICS_RANKS"
    edges = graph(modules())
    upward = [
        f"{short[a]} imports {short[b]}"
        for a in mods
        for b in sorted(edges[a])
        if b in mods and METRICS_RANKS[short[b]] >= METRICS_RANKS[short[a]]
    ]
    assert not upward


@pytest.mark.slow
def test_the_allowed_violations_still_exist():
    """An allowed violation that is gone is removed from the list, so it cannot come back."""
    stale = KNOWN_VIOLATIONS - set(violations(modules()))
    assert not stale, f"remove from KNOWN_VIOLATIONS in tests/test_architecture.py: {sorted(stale)}"


#: Modules that compute or word what a page shows, for a dashboard and a printed report alike:
#: they never import a widget toolkit (the dashboard is one page among others).
WIDGET_FREE = (
    "channelkpi.formats",
    "channelkpi.tiles",
    "channelkpi.drill",
    "channelkpi.views",
    "channelkpi.charts",
    "channelkpi.movementview",
)


@pytest.mark.slow
def test_the_view_modules_import_no_widgets():
    mods = modules()
    found = []
    for name in WIDGET_FREE:
        tree = ast.parse(mods[name].read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            found += [f"{name} imports {n}" for n in names if n.split(".")[0] in ("ipywidgets", "anywidget")]
    assert not found


def test_every_module_has_a_layer():
    assert all(_layer(name) is not None for name in modules())


# --------------------------------------------------------------------------- the checker itself
def _fake(tmp_path: Path, files: dict[str, str]) -> dict[str, str]:
    root = tmp_path / "channelkpi"
    for rel, text in {"__init__.py": "", "errors.py": "", "metrics/__init__.py": "", **files}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return violations(modules(root), root)


def test_the_checker_finds_each_kind_of_violation(tmp_path):
    found = _fake(
        tmp_path,
        {
            "schema.py": "from .metrics.kpis import table\n",
            "metrics/kpis.py": "from .finish import _money\n",
            "metrics/finish.py": "from . import kpis\n\nx = kpis._helper\n",
            "ingest/__init__.py": "",
            "ingest/read.py": "def f():\n    from .parse import value\n",  # a late import is still one
            "ingest/parse.py": "import channelkpi.ingest.read\n",
            "gadgets.py": "",
        },
    )
    assert set(found) == {
        "upward import: channelkpi.schema (foundation) imports channelkpi.metrics.kpis (metrics)",
        "underscore name: channelkpi.metrics.kpis imports channelkpi.metrics.finish._money",
        "underscore name: channelkpi.metrics.finish uses channelkpi.metrics.kpis._helper",
        "import cycle: channelkpi.metrics.finish -> channelkpi.metrics.kpis -> channelkpi.metrics.finish",
        "import cycle: channelkpi.ingest.parse -> channelkpi.ingest.read -> channelkpi.ingest.parse",
        "no layer: channelkpi.gadgets (add it to LAYERS in tests/test_architecture.py)",
    }
    assert found["underscore name: channelkpi.metrics.kpis imports channelkpi.metrics.finish._money"] == (
        "channelkpi/metrics/kpis.py:1"
    )


def test_the_checker_accepts_a_one_way_graph(tmp_path):
    found = _fake(
        tmp_path,
        {
            "__init__.py": "from .metrics.kpis import table\nfrom .schema import COLUMNS\n",
            "schema.py": "from .errors import SchemaError\n",
            "metrics/kpis.py": "from ..schema import COLUMNS\nfrom .finish import money\nimport datetime as _dt\n",
            "metrics/finish.py": "from ..errors import SchemaError\nfrom pandas import _libs\n",
        },
    )
    assert found == {}
