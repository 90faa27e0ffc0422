"""cached(version="auto"): an edit to the function or a helper in depends_on is a miss, a comment not."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
import types
from typing import Any

import pytest

import klepto_core
from klepto_core.errors import InvalidArgumentError
from klepto_core.keys.version import code_digest


def load(source: str, name: str = "mod") -> types.ModuleType:
    """A module made from ``source`` (a fresh module object each time, same name)."""
    module = types.ModuleType(name)
    exec(compile(textwrap.dedent(source), f"<{name}>", "exec"), module.__dict__)
    return module


BASE = """
SCALE = 2

def helper(x):
    return x * SCALE

def f(x, y=1):
    '''Doc.'''
    return helper(x) + y
"""
COMMENTED = """
# a comment at the top, and blank lines that move everything down


SCALE = 2  # the scale

def helper(x):
    # helpers say what they do
    return x * SCALE

def f(x, y=1):
    '''Doc.'''
    return helper(x) + y  # the answer
"""


def digest_of(source: str, **options: Any) -> str:
    module = load(source)
    depends = [module.helper] if options.get("helper") else []
    if options.get("module"):
        depends = [module]
    return code_digest(module.f, depends)


def test_comments_and_line_numbers_do_not_change_the_version() -> None:
    for options in ({}, {"helper": True}, {"module": True}):
        assert digest_of(BASE, **options) == digest_of(COMMENTED, **options)


@pytest.mark.parametrize(
    ("edit", "seen_with"),
    [
        (("return helper(x) + y", "return helper(x) - y"), {}),  # the function's code
        (("y=1", "y=2"), {}),  # a default value
        (("def f(x, y=1)", "def f(x, y=1, *, z=0)"), {}),  # the signature
        (("return x * SCALE", "return x * SCALE + 1"), {"helper": True}),  # a helper
        (("SCALE = 2", "SCALE = 3"), {"module": True}),  # a module constant
        (("return x * SCALE", "return x ** SCALE"), {"module": True}),  # a module's function
    ],
)
def test_any_edit_to_the_code_or_a_listed_helper_changes_the_version(
    edit: tuple[str, str], seen_with: dict[str, bool]
) -> None:
    old, new = edit
    assert old in BASE
    assert digest_of(BASE, **seen_with) != digest_of(BASE.replace(old, new), **seen_with)


def test_an_unlisted_helper_is_not_part_of_the_version() -> None:
    # the documented limit: only what depends_on names is followed
    edited = BASE.replace("return x * SCALE", "return x * SCALE + 1")
    assert digest_of(BASE) == digest_of(edited)


def test_nested_functions_lambdas_and_set_constants_are_covered_and_stable() -> None:
    source = """
    def f(x):
        g = lambda v: v in {"a", "b", "c"}
        return [g(i) for i in x]
    """
    digest = code_digest(load(source).f)
    assert digest != code_digest(load(source.replace('"c"', '"d"')).f)
    code = "import sys; from tests.core.test_version_keys import load, code_digest;"
    code += f"print(code_digest(load({textwrap.dedent(source)!r}).f))"
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), PYTHONHASHSEED=seed),
        ).stdout.strip()
        for seed in ("1", "2", "3")
    }
    assert outs == {digest}  # a frozenset constant's repr order does not leak in


def write_module(path: Any, source: str) -> types.ModuleType:
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location("versioned_mod", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_dir_archive_keeps_results_across_comment_edits_and_misses_after_code_edits(
    tmp_path: Any,
) -> None:
    def decorated(source: str) -> Any:
        module = write_module(tmp_path / "m.py", source)
        return klepto_core.cached(
            archive="dir", name=str(tmp_path / "memo"), version="auto", depends_on=[module.helper]
        )(module.f)

    first = decorated(BASE)
    assert first(3) == 7 and first.info().miss == 1
    again = decorated(COMMENTED)  # same version: the stored result is found
    assert again(3) == 7 and again.info().load == 1 and again.info().miss == 0
    edited = decorated(BASE.replace("return x * SCALE", "return x * SCALE + 1"))
    assert edited(3) == 8 and edited.info().miss == 1  # computed with the new helper


def test_a_version_string_and_bad_options() -> None:
    f = klepto_core.cached(version="1.2")(lambda x: x)
    assert f.key(1)[0].endswith("@1.2")
    with pytest.raises(InvalidArgumentError, match="depends_on= needs version='auto'"):
        klepto_core.cached(depends_on=[os])
    with pytest.raises(InvalidArgumentError, match="version must be"):
        klepto_core.cached(version=3)
    with pytest.raises(InvalidArgumentError, match="depends_on= takes"):
        klepto_core.cached(version="auto", depends_on=[3])(lambda x: x)
