"""The keymap base type: turn call arguments into a cache key.

A keymap formats ``(*args, **kwds)`` the way klepto does (a flat tuple, or an
``(args, kwds)`` pair when ``flat=False``; optionally typed and with a
sentinel between the parts) and then applies its encoder (identity, a hash, a
string, a pickle). Keymap plugins subclass :class:`Keymap` and override
:meth:`Keymap.encode_key`; the formatting, chaining with ``+`` and the options
are shared here.
"""

from __future__ import annotations

import copy as _copy
from collections.abc import Callable, Hashable
from typing import Any, ClassVar


class _Sentinel:
    """A marker placed between positional and keyword parts of a flat key."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"<{self._name}>"

    def __reduce__(self) -> str:
        return self._name

    def __hash__(self) -> int:
        return hash(self._name)

    def __eq__(self, other: object) -> bool:
        return self is other

    def __copy__(self) -> _Sentinel:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _Sentinel:
        return self


SENTINEL = _Sentinel("SENTINEL")
NOSENTINEL = _Sentinel("NOSENTINEL")
# pickled by reference to the module's global (see __reduce__): picklemap keys hold these
# bytes, so the path they were first pickled under stays (klepto_core/keymap.py re-exports)
_Sentinel.__module__ = "klepto_core.keymap"

_DEFAULT_FASTTYPES = frozenset({int, str, bytes, frozenset, type(None)})


class Keymap:
    """Format call arguments into a key; the base class of every keymap plugin.

    ``typed`` adds the argument types, ``flat`` chooses a flat tuple over an
    ``(args, kwds)`` pair, ``sentinel`` separates the parts. Extra keyword
    options are kept in ``_config`` and handed to the encoder.
    """

    #: the registered name (klepto's class name: ``hashmap``...); ``repr`` shows it
    name: ClassVar[str] = ""
    #: the name of the selector option (``algorithm``, ``encoding``, ``serializer``)
    __stub__: ClassVar[str] = ""
    #: True when the encoder can map different keys to one value (e.g. builtin hash):
    #: the cache then stores the formatted key and keeps the encoded one for display
    lossy: ClassVar[bool] = False
    #: True when ``encode_key`` returns its argument unchanged
    identity: ClassVar[bool] = False

    def __init__(
        self,
        typed: bool = False,
        flat: bool = True,
        sentinel: object = NOSENTINEL,
        **kwds: Any,
    ) -> None:
        self.typed = bool(typed)
        self.flat = bool(flat)
        self._fasttypes = frozenset(kwds.pop("fasttypes", _DEFAULT_FASTTYPES))
        for builtin_name in ("sorted", "tuple", "type", "len"):
            kwds.pop(builtin_name, None)  # klepto allowed replacing these; we always use builtins
        if self.__stub__:
            self.__type__ = kwds.pop(self.__stub__, None)
        self._config: dict[str, Any] = kwds
        self._mark: tuple[object] | None = None if sentinel is NOSENTINEL else (sentinel,)
        self.__inner__: Keymap | None = None
        self.__outer__: Keymap | None = None

    # -- options --------------------------------------------------------------------

    @property
    def sentinel(self) -> object:
        """The marker between key parts, or NOSENTINEL."""
        return NOSENTINEL if self._mark is None else self._mark[0]

    @sentinel.setter
    def sentinel(self, value: object) -> None:
        self._mark = None if value is NOSENTINEL else (value,)

    @property
    def inner(self) -> Keymap | None:
        """The keymap applied first in a chain ``inner + outer``."""
        return self.__inner__

    @inner.setter
    def inner(self, value: object) -> None:
        raise NotImplementedError("Combine keymaps with '+'")

    @property
    def outer(self) -> Keymap | None:
        """The keymap applied last in a chain ``inner + outer``."""
        return self.__outer__

    @outer.setter
    def outer(self, value: object) -> None:
        raise NotImplementedError("Combine keymaps with '+'")

    @property
    def is_plain_flat(self) -> bool:
        """True when the formatted key is just positionals then sorted name/value pairs."""
        return self.flat and not self.typed and self._mark is None and self.__inner__ is None

    # -- formatting -----------------------------------------------------------------

    def __call__(self, /, *args: Any, **kwds: Any) -> Hashable:
        """The key of a call with these arguments."""
        return self.encode_key(self.format(args, kwds))

    def format(self, args: tuple[Any, ...], kwds: dict[str, Any]) -> Any:
        """Format arguments without encoding; chained keymaps apply their inner keymap here."""
        key = self._flat(args, kwds) if self.flat else self._pair(args, kwds)
        if self.__inner__ is not None:
            key = self.__inner__(key)
        return key

    def _flat(self, args: tuple[Any, ...], kwds: dict[str, Any]) -> Any:
        key = args
        names: list[str] = []
        if kwds:
            names = sorted(kwds)
            if self._mark:
                key += self._mark
            for name in names:
                key += (name, kwds[name])
        if self.typed:
            if self._mark:
                key += self._mark
            key += tuple(type(v) for v in args)
            if kwds:
                if self._mark:
                    key += self._mark
                key += tuple(type(kwds[name]) for name in names)
        elif len(key) == 1 and type(key[0]) in self._fasttypes:
            return key[0]
        return key

    def _pair(self, args: tuple[Any, ...], kwds: dict[str, Any]) -> Any:
        if self.typed:
            names = sorted(kwds)
            return (
                args,
                kwds,
                tuple(type(v) for v in args),
                tuple(type(kwds[name]) for name in names),
            )
        return (args, kwds)

    def encode_key(self, formatted: Any) -> Hashable:
        """Encode a formatted key; the identity here, overridden by keymap plugins."""
        return formatted  # type: ignore[no-any-return]

    def memo_key(self, /, *args: Any, **kwds: Any) -> Hashable:
        """The key a cache stores: the encoded key, or the formatted one if encoding is lossy."""
        formatted = self.format(args, kwds)
        return formatted if self.lossy else self.encode_key(formatted)  # type: ignore[no-any-return]

    # klepto's names for the same operations
    def encode(self, /, *args: Any, **kwds: Any) -> Hashable:
        """The flat key of these arguments (klepto's ``encode``), encoded."""
        return self.encode_key(self._chained(self._flat(args, kwds)))

    def encrypt(self, /, *args: Any, **kwds: Any) -> Hashable:
        """The ``(args, kwds)`` key of these arguments (klepto's ``encrypt``), encoded."""
        return self.encode_key(self._chained(self._pair(args, kwds)))

    def _chained(self, key: Any) -> Any:
        return key if self.__inner__ is None else self.__inner__(key)

    def dumps(self, obj: Any, **kwds: Any) -> Hashable:
        """Encode ``obj`` as if it were the only argument."""
        return self.encode(obj, **kwds)

    def decode(self, *args: Any, **kwds: Any) -> Any:
        """Keys are one-way; decoding is not supported."""
        raise NotImplementedError("a keymap cannot recover arguments from a key")

    decrypt = decode
    loads = decode

    # -- chaining, copying, repr ----------------------------------------------------

    def __add__(self, other: object) -> Keymap:
        if not isinstance(other, Keymap):
            raise TypeError(
                f"can't concatenate '{self._label()}' and '{type(other).__name__}' objects"
            )
        chained = _copy.copy(other)
        chained.__inner__ = _copy.copy(self)
        chained.__outer__ = _copy.copy(other)
        return chained

    def __repr__(self) -> str:
        parts = []
        if self.typed:
            parts.append("typed=True")
        if not self.flat:
            parts.append("flat=False")
        if self._mark is not None:
            parts.append(f"sentinel={self._mark[0]!r}")
        if self.__stub__ and getattr(self, "__type__", None) is not None:
            parts.append(f"{self.__stub__}={self.__type__!r}")
        star = "*" if self.__inner__ is not None else ""
        return f"{self._label()}({', '.join(parts)}){star}"

    def _label(self) -> str:
        return type(self).name or type(self).__name__

    def __getstate__(self) -> dict[str, Any]:
        return self.__dict__.copy()

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


#: What the decorator needs to know about a keymap to build a fast key function.
KeyFunction = Callable[..., Hashable]
