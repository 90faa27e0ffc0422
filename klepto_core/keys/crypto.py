"""Hashing, string encoding and serialization helpers used to turn keys into digests.

Same API and results as klepto's ``crypto`` module, except that :func:`string`
never evaluates the encoding name as Python code and :func:`pickle` drops only
the options a serializer actually rejects.
"""

from __future__ import annotations

import builtins
import encodings as _encodings_pkg
import functools
import hashlib
import importlib
import importlib.util
import inspect
import os
import pkgutil
import re
import types
from collections.abc import Callable
from typing import Any

__all__ = ["algorithms", "encodings", "hash", "pickle", "serializers", "string"]

_builtin_hash = builtins.hash

#: Encoding names that mean "call this builtin on the object" rather than a codec.
_STRING_TYPES: dict[str, Callable[[Any], str]] = {"str": str, "repr": repr, "ascii": ascii}

_UNEXPECTED_KWD = re.compile(r"unexpected keyword argument '([^']+)'")


def algorithms() -> tuple[str | None, ...]:
    """Return the accepted ``algorithm`` names for :func:`hash`: None (builtin hash) + hashlib's."""
    return (None, *sorted(hashlib.algorithms_available))


def hash(obj: Any, algorithm: str | None = None) -> int | str:
    """Hash ``obj``: builtin ``hash`` when ``algorithm`` is None, else the hex digest of its repr.

    Hashing the repr is klepto's (persisted) key format, so it is kept even though
    reprs that elide data (large numpy arrays) or embed addresses make poor keys.
    """
    if algorithm is None:
        return _builtin_hash(obj)
    return hashlib.new(algorithm, repr(obj).encode()).hexdigest()


hash.algorithms = algorithms  # type: ignore[attr-defined]


@functools.lru_cache(maxsize=1)
def _codec_names() -> tuple[str, ...]:
    """Codec module names and alias targets usable with ``str.encode`` (computed once)."""
    folder = os.path.dirname(_encodings_pkg.__file__)
    names = {info.name for info in pkgutil.iter_modules([folder])}
    names.update(_encodings_pkg.aliases.aliases.values())
    # bytes-to-bytes codecs ('*_codec') and the broken 'tactis' cannot encode a str
    names.discard("tactis")
    return tuple(sorted(n for n in names if not n.endswith("_codec")))


def encodings() -> tuple[str | None, ...]:
    """Return the names :func:`string` accepts with ``strict=True``: None, codecs, 'str', 'repr'."""
    return (None, *_codec_names(), "str", "repr")


def _errors_mode(strict: bool | None) -> str:
    if strict is None:
        return "ignore"
    return "strict" if strict else "replace"


def string(obj: Any, encoding: str | None = None, strict: bool | None = True) -> str | bytes:
    """Render ``obj`` as text: ``str``/``repr``/``ascii`` of it, or its repr encoded by a codec.

    ``strict`` picks the codec error handler (True 'strict', None 'ignore', False
    'replace'). Unknown codec names raise LookupError; a name is never run as code.
    """
    if encoding is None:
        return str(obj)
    as_text = _STRING_TYPES.get(encoding) if isinstance(encoding, str) else None
    if as_text is not None:
        try:
            return as_text(obj)
        except Exception:  # klepto falls back to the encoded repr, and so do we
            pass
    return repr(obj).encode(encoding, _errors_mode(strict))


string.encodings = encodings  # type: ignore[attr-defined]


def serializers() -> tuple[str | None, ...]:
    """Return serializer names for :func:`pickle`: None (repr), pickle, json, dill, and extras."""
    found: tuple[str | None, ...] = (None, "pickle", "json", "dill")
    for optional in ("cloudpickle", "jsonpickle"):
        if importlib.util.find_spec(optional) is not None:
            found += (optional,)
    return found


def _accepted_options(dumps: Callable[..., Any], kwds: dict[str, Any]) -> dict[str, Any]:
    """Keep the options ``dumps`` declares (all of them if it takes ``**kwargs`` or is opaque)."""
    try:
        params = inspect.signature(dumps).parameters.values()
    except (TypeError, ValueError):
        return dict(kwds)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return dict(kwds)
    names = {p.name for p in params if p.kind is not inspect.Parameter.POSITIONAL_ONLY}
    return {k: v for k, v in kwds.items() if k in names}


def pickle(obj: Any, serializer: str | types.ModuleType | None = None, **kwds: Any) -> Any:
    """Serialize ``obj`` with the ``dumps`` of the named module (``repr`` when None).

    Options the serializer's ``dumps`` rejects are dropped one by one; klepto
    dropped all of them as soon as any one was refused.
    """
    if serializer is None:
        return repr(obj)
    if not isinstance(serializer, types.ModuleType):
        if not isinstance(serializer, str):
            raise TypeError(f"'{serializer!r}' is not a module")
        try:
            serializer = importlib.import_module(serializer)
        except Exception as exc:
            raise NameError(f"name '{serializer}' is not defined") from exc
    dumps = serializer.dumps
    options = _accepted_options(dumps, kwds) if kwds else {}
    while True:
        try:
            return dumps(obj, **options)
        except TypeError as exc:
            if not options:
                raise
            match = _UNEXPECTED_KWD.search(str(exc))
            if match and match.group(1) in options:
                del options[match.group(1)]
                continue
            # a refused option value (klepto's fallback): retry with the defaults
            return dumps(obj)


pickle.serializers = serializers  # type: ignore[attr-defined]
