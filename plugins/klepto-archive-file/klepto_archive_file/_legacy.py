"""klepto's own file_archive formats: a dill pickle of a dict, JSON, or ``memo = {...}`` source.

These are read whole (klepto rewrote the whole file on every change). The
Python-source form is parsed with ``ast.literal_eval`` and, failing that,
executed in a private namespace: never imported through ``sys.path`` (klepto
did, and read ``{}`` whenever the file's directory was not on the path).
"""

from __future__ import annotations

import ast
import json
from collections.abc import Hashable
from typing import Any, ClassVar

from klepto_core.errors import FormatError
from klepto_core.plugin import Serializer
from klepto_core.storage.pysource import from_source, source_namespace, to_source
from klepto_core.storage.recordlog import MAGIC

LOG, PICKLE, JSON, PYTHON = "log", "klepto-pickle", "klepto-json", "klepto-python"
_PREFIX = b"memo ="


def detect(data: bytes) -> str | None:
    """The format of a file's bytes; None for an empty (new) file."""
    if data.startswith(MAGIC):
        return LOG
    if MAGIC.startswith(data):  # empty, or a header cut short
        return None
    stripped = data.lstrip()
    if stripped.startswith(_PREFIX):
        return PYTHON
    if stripped[:1] in (b"{", b"[") or stripped[:1].isdigit() or stripped[:1] == b'"':
        return JSON
    return PICKLE


def read_whole(path: str, data: bytes, fmt: str) -> dict[Hashable, Any]:
    """The dict a klepto-format file holds; FormatError naming the file if it is unreadable."""
    try:
        if fmt == JSON:
            memo = json.loads(data.decode("utf-8"))
        elif fmt == PYTHON:
            memo = parse_python(data.decode("utf-8"), path)
        else:
            import dill

            memo = dill.loads(data)
    except Exception as exc:
        raise FormatError(
            f"file_archive {path!r}: cannot read it as a {fmt} file "
            f"({type(exc).__name__}: {exc}); nothing was changed"
        ) from exc
    if not isinstance(memo, dict):
        raise FormatError(
            f"file_archive {path!r} holds a {type(memo).__name__}, not a dict; nothing was changed"
        )
    return memo


def parse_python(text: str, path: str) -> Any:
    """The value of ``memo`` in klepto's ``memo = {...}`` source."""
    head, sep, expr = text.partition("=")
    if sep and head.strip() == "memo":
        try:
            return ast.literal_eval(expr.strip())
        except (ValueError, SyntaxError):
            pass
    namespace: dict[str, Any] = source_namespace()
    exec(compile(text, path, "exec"), namespace)  # the file the user named, like unpickling it
    return namespace["memo"]


def python_text(memo: dict[Hashable, Any]) -> bytes:
    """klepto's source form of a dict: ``memo = {...}``."""
    return f"memo = {to_source(memo)}".encode()


class LiteralSerializer(Serializer):
    """Values as Python source (:func:`to_source`), for ``serialized=False`` files.

    A value without such source (a lambda, an instance) is refused with
    SerializationError, where klepto wrote an unreadable ``repr`` and lost the
    file on the next read.
    """

    name: ClassVar[str] = "python-literal"
    roundtrips_any: ClassVar[bool] = False

    def _dumps(self, obj: Any) -> bytes:
        return to_source(obj).encode("utf-8")

    def _loads(self, data: bytes) -> Any:
        return from_source(data.decode("utf-8"))
