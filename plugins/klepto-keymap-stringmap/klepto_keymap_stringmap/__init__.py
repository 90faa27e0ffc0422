"""The string keymap: the ``str`` of the formatted arguments, optionally encoded (``stringmap``)."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from klepto_core.keys import crypto
from klepto_core.keys.content import exact_key
from klepto_core.plugin import Keymap, PluginSpec, hookimpl


class StringKeymap(Keymap):
    """Key a call by the text of its formatted arguments: any arguments give a key.

    ``encoding`` is None (``str``), ``'str'``, ``'repr'``, ``'ascii'`` or a codec
    name (the repr encoded to bytes); see ``klepto_core.keys.crypto.encodings()``.
    Other options (``strict``) go to ``klepto_core.keys.crypto.string``. Two
    arguments with the same text share a key: ``stringmap()(1) == stringmap()('1')``.
    An argument whose text could stand for another value (a numpy array's
    summary, ``<object at 0x...>``, any repr but those of builtin values) is
    written as its :class:`~klepto_core.keys.content.ContentKey` instead.
    """

    name = "stringmap"
    __stub__ = "encoding"

    def encode_key(self, formatted: Any) -> Hashable:
        """The text (or encoded bytes) of the formatted key."""
        return crypto.string(exact_key(formatted), self.__type__, **self._config)


@hookimpl
def klepto_core_keymap() -> PluginSpec:
    """Register the ``stringmap`` keymap."""
    return PluginSpec(
        name="stringmap",
        factory=StringKeymap,
        description="the str/repr of the arguments, optionally encoded to bytes",
    )
