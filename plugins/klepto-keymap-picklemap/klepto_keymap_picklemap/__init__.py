"""The pickle keymap: the formatted arguments serialized by a named module (``picklemap``)."""

from __future__ import annotations

from collections.abc import Hashable
from types import ModuleType
from typing import Any

from klepto_core.errors import InvalidArgumentError
from klepto_core.keys import crypto
from klepto_core.keys.content import bulk_key, exact_key
from klepto_core.plugin import NOSENTINEL, Keymap, PluginSpec, hookimpl


class PickleKeymap(Keymap):
    """Key a call by its serialized formatted arguments.

    ``serializer`` is None (``repr``) or the name of a module with ``dumps``
    (``'pickle'``, ``'dill'``, ``'json'``...); a module object is stored by name.
    Other options go to its ``dumps``; ``byref=True`` is added for dill, as klepto
    does. Options a serializer does not accept are dropped one by one, so
    ``picklemap(serializer='pickle', protocol=0)`` does pickle with protocol 0.
    Keys are exact: with ``repr``, an argument whose text could stand for another
    value is written as its :class:`~klepto_core.keys.content.ContentKey`; with a
    serializer, numpy arrays and pandas objects are (a digest, not their bytes).
    """

    name = "picklemap"
    __stub__ = "serializer"

    def __init__(
        self,
        typed: bool = False,
        flat: bool = True,
        sentinel: object = NOSENTINEL,
        **kwds: Any,
    ) -> None:
        kwds.setdefault("byref", True)
        super().__init__(typed=typed, flat=flat, sentinel=sentinel, **kwds)
        selected = self.__type__
        if isinstance(selected, ModuleType):
            self.__type__ = selected.__name__  # kept by name, so the keymap itself pickles
        elif not isinstance(selected, str | None):
            raise InvalidArgumentError(
                f"picklemap serializer must be a module or a module name, got {selected!r}"
            )

    def encode_key(self, formatted: Any) -> Hashable:
        """The formatted key serialized with the selected module (its repr when None)."""
        selected = self.__type__
        if selected is None:
            formatted = exact_key(formatted)
        elif selected != "json":  # json refuses arrays and tokens alike: left as it is
            formatted = bulk_key(formatted)
        return crypto.pickle(formatted, selected, **self._config)  # type: ignore[no-any-return]


@hookimpl
def klepto_core_keymap() -> PluginSpec:
    """Register the ``picklemap`` keymap."""
    return PluginSpec(
        name="picklemap",
        factory=PickleKeymap,
        description="the arguments serialized with repr, pickle, dill, json or another module",
    )
