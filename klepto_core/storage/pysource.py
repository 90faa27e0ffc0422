"""Python source for plain values: klepto's ``serialized=False`` storage, made exact.

:func:`to_source` writes literals, containers, content keys and builtin types and functions
(by name, so the keys of typed keymaps survive; klepto wrote ``<class 'int'>``,
which does not parse); anything else raises SerializationError instead of
being written in a form that cannot be read back.
"""

from __future__ import annotations

import ast
import builtins
from typing import Any

from klepto_core.errors import SerializationError
from klepto_core.keys.content import ContentKey

__all__ = ["from_source", "source_namespace", "to_source"]

_SCALARS = (bool, int, str, bytes, type(None))


def to_source(obj: Any, depth: int = 0) -> str:
    """Source that evaluates to ``obj``: literals, containers, builtin types and functions."""
    if depth > 200:
        raise SerializationError("python-literal serializer: value nests too deeply")
    kind = type(obj)
    if kind in _SCALARS:
        return repr(obj)
    if kind is float or kind is complex:
        text = repr(obj)
        return text if "nan" not in text and "inf" not in text else f"{kind.__name__}({text!r})"
    if kind is tuple:
        items = [to_source(x, depth + 1) for x in obj]
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    if kind is list:
        return f"[{', '.join(to_source(x, depth + 1) for x in obj)}]"
    if kind is dict:
        pairs = (f"{to_source(k, depth + 1)}: {to_source(v, depth + 1)}" for k, v in obj.items())
        return f"{{{', '.join(pairs)}}}"
    if kind is set or kind is frozenset:
        inner = ", ".join(to_source(x, depth + 1) for x in obj)
        if kind is set:
            return f"{{{inner}}}" if obj else "set()"
        return f"frozenset({{{inner}}})" if obj else "frozenset()"
    if kind.__name__ == "ContentKey" and kind.__module__ == "klepto_core.keys.content":
        return repr(obj)  # ContentKey('ndarray', '<hex>'): an argument keyed by content
    name = getattr(obj, "__name__", None)
    if isinstance(name, str) and getattr(builtins, name, None) is obj:
        return name
    raise SerializationError(
        f"python-literal serializer (serialized=False) cannot write a {kind.__name__} value "
        f"({obj!r:.60}) as source; use serialized=True"
    )


def from_source(text: str) -> Any:
    """The value of a :func:`to_source` expression."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return eval(text, source_namespace())  # names like int, frozenset, ContentKey


def source_namespace() -> dict[str, Any]:
    """The names :func:`to_source` may write beyond literals: builtins and ``ContentKey``."""
    return {"__builtins__": builtins, "ContentKey": ContentKey}
