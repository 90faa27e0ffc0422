"""``klepto-core new-plugin KIND NAME``: write a plugin distribution that works and tests itself.

The skeleton is what CONTRIBUTING.md describes: ``klepto-<kind>-<name>/`` with a
``pyproject.toml`` declaring the entry point, one package implementing the
kind's hook with a minimal working plugin, and tests that run klepto_core's
conformance suite for that kind.
"""

from __future__ import annotations

import keyword
import re
import sys
from pathlib import Path
from string import Template

from klepto_core.cli import templates as t
from klepto_core.cli.common import BAD_URL, OK, CommandError, emit
from klepto_core.registry import REGISTRY
from klepto_core.registry.specs import GROUPS, KINDS

_NAME = re.compile(r"[a-z][a-z0-9_]{0,29}")


def names_for(kind: str, name: str) -> dict[str, str]:
    """The template values for a plugin ``name`` of ``kind``; CommandError (exit 2) if invalid."""
    if kind not in KINDS:
        raise CommandError(f"unknown plugin kind {kind!r}; kinds are {', '.join(KINDS)}", BAD_URL)
    if not _NAME.fullmatch(name) or keyword.iskeyword(name):
        raise CommandError(
            f"plugin name {name!r} must be 1 to 30 lowercase letters, digits and '_', starting "
            "with a letter (it becomes part of Python identifiers)",
            BAD_URL,
        )

    group = next(g for g, (k, _hook) in GROUPS.items() if k == kind)
    return {
        "kind": kind,
        "name": name,
        "Class": "".join(part.capitalize() for part in name.split("_")),
        "package": f"klepto_{kind}_{name}",
        "dist": f"klepto-{kind}-{name.replace('_', '-')}",
        "group": group,
    }


def render(kind: str, name: str) -> dict[str, str]:
    """Relative path -> text of every file of the skeleton."""
    values = names_for(kind, name)
    values["summary"] = Template(t.SUMMARY[kind]).substitute(values)
    values["usage"] = Template(t.USAGE[kind]).substitute(values)
    files = {
        "pyproject.toml": t.PYPROJECT,
        "README.md": t.README,
        f"{values['package']}/__init__.py": t.MODULE[kind],
        f"tests/test_{name}.py": t.TESTS[kind],
    }
    return {path: Template(text).substitute(values) for path, text in files.items()}


def run(kind: str, name: str, directory: str | None, as_json: bool) -> int:
    """Write the skeleton under ``directory`` (default: the current one) and say what is next."""
    files = render(kind, name)
    dist = names_for(kind, name)["dist"]
    root = Path(directory or ".") / dist
    if root.exists():
        raise CommandError(f"{str(root)!r} already exists; choose another --dir or name", BAD_URL)
    if name in REGISTRY.names(kind):
        print(
            f"klepto-core: warning: an installed distribution already provides the {kind} "
            f"{name!r}; both cannot be installed at once",
            file=sys.stderr,
        )
    written = []
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(str(path))
    text = "\n".join(
        [
            f"wrote {dist} in {root}:",
            *(f"  {path}" for path in written),
            "next:",
            f"  pip install -e {root}",
            f"  python -m pytest {root / 'tests'}",
        ]
    )
    data = {"kind": kind, "name": name, "distribution": dist, "path": str(root), "files": written}
    emit(data, as_json, text)
    return OK
