"""The package's architecture, checked: import direction, no circles, short functions, no plugin names.

Read from the source with ``ast`` (nothing is imported), so a module that only
imports another inside a function counts as depending on it too.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import klepto_core

CORE = Path(klepto_core.__file__).parent
#: klepto's module paths: thin re-exports of the core, and the only importers of compat/
FACADES = {
    "klepto_core",
    "klepto_core.archives",
    "klepto_core.keymaps",
    "klepto_core.safe",
    "klepto_core.crypto",
    "klepto_core.rounding",
    "klepto_core.tools",
    "klepto_core._inspect",
}
#: old paths kept for one release
SHIMS = {
    "klepto_core.archive_base",
    "klepto_core.hookspecs",
    "klepto_core.types",
    "klepto_core.testing_archive",
    "klepto_core.cachemap",
}
#: where pickled sentinels point (keys stored in archives hold the path): kept for good
PICKLE_HOMES = {"klepto_core.keymap"}
MAX_DEFERRED = 20
MAX_FUNCTION_LINES = 80


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(CORE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in CORE.rglob("*.py")}


def _imports(tree: ast.AST) -> Iterator[tuple[ast.stmt, list[str], bool]]:
    """Each import statement, the klepto_core modules it loads, and whether it is deferred."""

    def walk(node: ast.AST, deferred: bool) -> Iterator[tuple[ast.stmt, list[str], bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue  # for type checkers only: never runs
            if isinstance(child, ast.Import):
                yield child, [a.name for a in child.names if a.name in MODULES], deferred
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                targets = []
                for alias in child.names:
                    sub = f"{child.module}.{alias.name}"
                    targets.append(sub if sub in MODULES else child.module)
                yield child, [t for t in targets if t in MODULES], deferred
            inner = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            yield from walk(child, deferred or inner)

    yield from walk(tree, False)


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        deps = graph.setdefault(name, set())
        for _node, targets, _deferred in _imports(ast.parse(path.read_text())):
            deps.update(t for t in targets if t != name)
    return graph


def test_no_import_circle() -> None:
    graph = _graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    circles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                circles.append([*path[path.index(dep) :], dep])
            elif dep not in state:
                visit(dep, [*path, dep])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert circles == []


def test_only_the_facades_import_compat() -> None:
    graph = _graph()
    offenders = {
        module: sorted(d for d in deps if d.startswith("klepto_core.compat"))
        for module, deps in graph.items()
        if not module.startswith("klepto_core.compat") and module not in FACADES | SHIMS | PICKLE_HOMES
    }
    assert {m: d for m, d in offenders.items() if d} == {}


def test_deferred_imports_are_few_and_each_says_why() -> None:
    deferred = []
    for name, path in MODULES.items():
        lines = path.read_text().splitlines()
        for node, targets, is_deferred in _imports(ast.parse("\n".join(lines))):
            if is_deferred and targets:
                above = lines[max(0, node.lineno - 4) : node.lineno]
                deferred.append((name, node.lineno, any("#" in line for line in above)))
    assert len(deferred) <= MAX_DEFERRED, deferred
    assert [d for d in deferred if not d[2]] == []  # a comment near each says why


def test_no_function_is_longer_than_a_screen() -> None:
    long = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append((name, node.name, length))
    assert long == []


def test_core_source_names_no_builtin_plugin_module() -> None:
    pattern = re.compile(r"(import|from)\s+klepto_(policy|keymap|serializer|archive|observer)_\w+")
    offenders = [str(p.relative_to(CORE)) for p in CORE.rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []


def test_every_subpackage_says_what_it_holds() -> None:
    packages = [p for p in CORE.rglob("__init__.py")]
    assert len(packages) >= 9
    for init in packages:
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc, f"{init.relative_to(CORE)} has no docstring"


def test_old_module_paths_still_import_with_a_deprecation_warning() -> None:
    import importlib
    import sys
    import warnings

    for old in sorted(SHIMS):
        sys.modules.pop(old, None)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            importlib.import_module(old)
        assert any(issubclass(w.category, DeprecationWarning) for w in caught), old
