"""Best-effort inverses of keymaps (klepto's ``keymaps._stub_decoder``).

A key made by ``repr``/``str`` is read back with :func:`ast.literal_eval` (never
``eval``: a key read from an archive must not run code); a pickled key is read
back with its serializer's ``loads``. Hash digests cannot be inverted, and keys
whose repr is not a Python literal fail with the ValueError/SyntaxError of
``literal_eval``. Chained keymaps and serializer options are not taken into account.
"""

from __future__ import annotations

import ast
import codecs
import importlib
from collections.abc import Callable
from typing import Any

from klepto_core.keys import crypto

__all__ = ["stub_decoder"]

Decoder = Callable[[Any], Any]


def stub_decoder(keymap: Any = None) -> Decoder:
    """A function turning a key made by ``keymap`` (a keymap, or a serializer/encoding name) back.

    Serializer names and picklemaps with a serializer decode with that module's
    ``loads``; encoding and algorithm names, stringmaps, hashmaps and picklemaps
    without a serializer decode the repr as a literal; anything else is the identity.
    """
    if isinstance(keymap, str):
        return _decoder_for_name(keymap)
    kind = getattr(keymap, "__stub__", "")
    selected = getattr(keymap, "__type__", None)
    if kind == "serializer" and selected is not None:
        return _loads_of(selected)
    if kind == "encoding":
        return _literal_decoder(selected)
    if kind in ("algorithm", "serializer"):
        return _literal_decoder(None)
    return _identity


def _decoder_for_name(name: str) -> Decoder:
    if name in crypto.serializers():
        return _loads_of(name)
    if name in crypto.encodings():
        return _literal_decoder(name)
    if name in crypto.algorithms() or name == "stable":
        return _literal_decoder(None)
    return _identity


def _identity(key: Any) -> Any:
    return key


def _loads_of(module_name: str) -> Decoder:
    def decode(key: Any) -> Any:
        return importlib.import_module(module_name).loads(key)

    return decode


def _literal_decoder(encoding: str | None) -> Decoder:
    codec = encoding if encoding is not None and _is_codec(encoding) else "utf-8"

    def decode(key: Any) -> Any:
        if isinstance(key, bytes | bytearray):
            key = bytes(key).decode(codec)
        return ast.literal_eval(key)

    return decode


def _is_codec(name: str) -> bool:
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True
