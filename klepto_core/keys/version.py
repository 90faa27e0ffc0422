"""Code-version digests: ``cached(version="auto")`` keys results by the code that made them.

The digest covers what a function *does*: its bytecode, constants (nested
functions, lambdas and comprehensions recursively), the names it uses, its
argument layout, flags and default values, and the same for each helper named
in ``depends_on`` (a function, a class: its methods, or a module: every function
and class defined in it, and its plain constants). It leaves out what does not
change behaviour: comments, blank lines, line numbers, the file's name and
position tables, so moving a function or editing a comment keeps its results,
and any edit to its code or to a listed helper's is a miss.
"""

from __future__ import annotations

import hashlib
import types
from collections.abc import Callable, Iterable
from typing import Any

from klepto_core.errors import InvalidArgumentError
from klepto_core.keys.stable import stable_bytes

__all__ = ["code_digest"]

#: the code object attributes that say what it does (not where it sits in a file)
_CODE_FIELDS = (
    "co_argcount",
    "co_posonlyargcount",
    "co_kwonlyargcount",
    "co_nlocals",
    "co_flags",
    "co_code",
    "co_names",
    "co_varnames",
    "co_freevars",
    "co_cellvars",
)
_PLAIN = (type(None), bool, int, float, complex, str, bytes)


def code_digest(func: Callable[..., Any], depends_on: Iterable[Any] = ()) -> str:
    """A hex digest (16 hex digits) of ``func``'s code and of each helper in ``depends_on``."""
    h = hashlib.blake2b(digest_size=8)
    _feed_object(func, h, set())
    for helper in depends_on:
        if not isinstance(helper, types.ModuleType | type) and not callable(helper):
            raise InvalidArgumentError(
                f"depends_on= takes functions, classes and modules, got {helper!r}"
            )
        _feed_object(helper, h, set())
    return h.hexdigest()


def _feed_object(obj: Any, h: Any, seen: set[int]) -> None:
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, types.ModuleType):
        h.update(b"M" + obj.__name__.encode())
        for name in sorted(vars(obj)):
            value = vars(obj)[name]
            if getattr(value, "__module__", None) == obj.__name__ and (
                isinstance(value, type) or inspectable(value)
            ):
                h.update(b"n" + name.encode())
                _feed_object(value, h, seen)
            elif type(value) in _PLAIN and not name.startswith("__"):
                h.update(b"c" + name.encode() + _value_bytes(value))
        return
    if isinstance(obj, type):
        h.update(b"C" + obj.__qualname__.encode())
        for name in sorted(vars(obj)):
            value = vars(obj)[name]
            if isinstance(value, staticmethod | classmethod):
                value = value.__func__
            if isinstance(value, property):
                for part in (value.fget, value.fset, value.fdel):
                    if part is not None:
                        _feed_object(part, h, seen)
            elif inspectable(value):
                h.update(b"n" + name.encode())
                _feed_object(value, h, seen)
        return
    code = getattr(obj, "__code__", None)
    if isinstance(code, types.CodeType):
        h.update(b"F")
        _feed_code(code, h)
        h.update(_value_bytes(getattr(obj, "__defaults__", None)))
        h.update(_value_bytes(getattr(obj, "__kwdefaults__", None)))
        return
    # a builtin or callable object without Python code: what names it
    name = f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', obj)}"
    h.update(b"B" + name.encode())


def inspectable(value: Any) -> bool:
    """Whether ``value`` is a Python function (something with a code object)."""
    return isinstance(getattr(value, "__code__", None), types.CodeType)


def _feed_code(code: types.CodeType, h: Any) -> None:
    for field in _CODE_FIELDS:
        h.update(field.encode() + repr(getattr(code, field)).encode())
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            h.update(b"(")
            _feed_code(const, h)
            h.update(b")")
        else:
            h.update(b"k" + _value_bytes(const))


def _value_bytes(value: Any) -> bytes:
    """A constant or default value, the same in every process (a frozenset's repr is not)."""
    try:
        return stable_bytes(value)
    except Exception:  # no stable encoding: its type is what we can say
        kind = type(value)
        return f"?{kind.__module__}.{kind.__qualname__}".encode()
