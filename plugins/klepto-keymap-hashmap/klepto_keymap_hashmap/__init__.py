"""The hash keymap: a hash of the formatted arguments (klepto's ``hashmap``, the default).

``algorithm=None`` uses builtin ``hash`` and returns a :class:`HashKey`; a
hashlib name (``'md5'``, ``'sha1'``...) gives the hex digest of the key's repr,
exactly as klepto; ``algorithm='stable'`` gives a digest of the key's canonical
bytes (:func:`klepto_core.keys.stable.stable_digest`), the same in every process.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from klepto_core.plugin import Keymap, PluginSpec, hookimpl

#: the ``algorithm`` that selects :func:`klepto_core.keys.stable.stable_digest`
STABLE = "stable"


class HashKey(int):
    """Builtin ``hash`` of a key that remembers the key (``raw``), so equal hashes never collide.

    As an int it is ``hash(raw)``, which is what klepto returned. Two HashKeys are
    equal only when their raw keys are; a HashKey equals a plain value equal to
    its raw key (so it finds the raw key a cache stores) and, when the raw key
    is not itself an int, a plain int equal to the hash (klepto's comparison).
    Pickles hold the raw key only; the hash is recomputed on load.
    """

    raw: Any

    def __new__(cls, raw: Any) -> HashKey:
        key = super().__new__(cls, hash(raw))
        key.raw = raw
        return key

    def __eq__(self, other: object) -> bool:
        if type(other) is HashKey:
            return bool(self.raw == other.raw)
        raw = self.raw
        if type(other) is int and type(raw) is not int:
            return int.__eq__(self, other)
        return bool(raw == other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        # int.__hash__ would reduce the value modulo 2**61 - 1; the raw key's hash is the value
        return int(self)

    def __reduce__(self) -> tuple[type[HashKey], tuple[Any]]:
        return (HashKey, (self.raw,))


class HashKeymap(Keymap):
    """Key a call by a hash of its formatted arguments.

    ``algorithm`` is None (builtin ``hash``: fast, salted per process, may
    collide, so the cache stores the formatted key and :class:`HashKey` keeps it),
    a hashlib name (hex digest of the repr, klepto's format, with arguments whose
    repr could stand for another value written as their content key), or ``'stable'``
    (BLAKE2b of canonical bytes: identical across processes and hash seeds, for
    keys that reach a persistent archive). Other options go to the hash function.
    Under a decorator, a call with unhashable arguments (arrays, lists, frames) is
    keyed by their content (:mod:`klepto_core.keys.content`).
    """

    name = "hashmap"
    __stub__ = "algorithm"

    @property
    def lossy(self) -> bool:  # type: ignore[override]
        """True for builtin ``hash``, whose values can collide."""
        return self.__type__ is None

    def encode_key(self, formatted: Any) -> Hashable:
        """The hash of the formatted key: a HashKey, a repr digest, or a stable digest."""
        algorithm = self.__type__
        config = self._config
        if algorithm is None and not config:
            return HashKey(formatted)
        # here, not at import: hashlib, pickle, content keys and the crypto helpers stay off a plain
        # ``hashmap()``'s cold start
        from klepto_core.keys import crypto
        from klepto_core.keys.content import exact_key
        from klepto_core.keys.stable import stable_digest

        if algorithm is None:
            crypto.hash(formatted, None, **config)  # raises the TypeError klepto raised
            return HashKey(formatted)
        if algorithm == STABLE:
            return stable_digest(formatted, **config)
        return crypto.hash(exact_key(formatted), algorithm, **config)


@hookimpl
def klepto_core_keymap() -> PluginSpec:
    """Register the ``hashmap`` keymap."""
    return PluginSpec(
        name="hashmap",
        factory=HashKeymap,
        description="builtin hash, a hashlib digest of the repr, or a stable digest ('stable')",
    )
