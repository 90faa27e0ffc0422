"""The methods a decorated function carries: ``info``, ``clear``, ``key``, ``lookup``, ``load`` ...

klepto's names and meanings (see the compatibility notes): ``info()`` counts
hits, misses and loads; ``clear()`` empties memory, never the archive behind it;
``load``/``dump`` move entries between memory and the archive.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, NamedTuple

from klepto_core.base.keymap import Keymap
from klepto_core.errors import InvalidArgumentError
from klepto_core.memo.info import CacheInfo
from klepto_core.memo.memory import Memory, is_archive
from klepto_core.memo.misses import Misses
from klepto_core.memo.options import Options


class KeyFunctions(NamedTuple):
    """A decorated function's keys: the stored one, klepto's ``f.key()``, the content fallback."""

    memo: Callable[..., Hashable]
    user: Callable[..., Hashable]
    content: Callable[[Hashable], Hashable]
    namespace: str | None


def attach_controls(
    wrapper: Callable[..., Any],
    misses: Misses,
    built: tuple[Callable[..., Any], Callable[[], int], Callable[[], None]],
    keys: KeyFunctions,
    options: Options,
) -> None:
    """Give ``wrapper`` klepto's methods over its memory, counters and keys."""
    memory = misses.memory
    memo_key, user_key, content_key = keys.memo, keys.user, keys.content
    _wrapper, hit_count, reset_hits = built

    def info() -> CacheInfo:
        """Hits, misses and loads so far, the maxsize and the number of entries in memory."""
        hits = hit_count() + misses.flight_hits
        return CacheInfo(hits, misses.misses, misses.loads, misses.maxsize, len(memory))

    def clear(keepstats: bool = False) -> None:
        """Empty memory (not the archive) and, unless ``keepstats``, reset the counters."""
        misses.clear(keepstats)
        if not keepstats:
            reset_hits()

    keymap = options.keymap

    def key(*args: Any, **kwds: Any) -> Hashable:
        """The key a call with these arguments is cached under."""
        try:
            return user_key(*args, **kwds)
        except TypeError:
            if not (isinstance(keymap, Keymap) and keymap.lossy):
                raise
        # builtin hash of a key holding unhashable arguments: the hash of its content key
        memo = content_key(memo_key(*args, **kwds))
        if keys.namespace is not None:
            return (memo[0], keymap.encode_key(memo[1]))  # type: ignore[index]
        return keymap.encode_key(memo)

    def lookup(*args: Any, **kwds: Any) -> Any:
        """The value in memory for a call with these arguments; KeyError if absent."""
        memo = memo_key(*args, **kwds)
        try:
            return memory[memo]
        except TypeError:
            return memory[content_key(memo)]

    controls: dict[str, Any] = {
        "info": info,
        "clear": clear,
        "key": key,
        "lookup": lookup,
        "load": _mover(getattr(memory, "load", None), _LOAD_DOC),
        "dump": _mover(getattr(memory, "dump", None), _DUMP_DOC),
        "archive": _archive_setter(memory),
        "archived": _archived(memory),
        "__cache__": lambda: memory,
        "__mask__": lambda: options.ignore,
        "__map__": lambda: options.keymap,
        "__policy__": lambda: misses.policy,
    }
    for name, function in controls.items():
        setattr(wrapper, name, function)


_LOAD_DOC = "Copy these keys (all when none) from the archive into memory."
_DUMP_DOC = "Write these keys (all of memory when none) to the archive."


def _mover(move: Callable[..., None] | None, doc: str) -> Callable[..., None]:
    """``load``/``dump`` over memory's own, a no-op for a mapping without them."""

    def keys_mover(*keys: Hashable) -> None:
        if move is not None:
            move(*keys)

    keys_mover.__doc__ = doc
    return keys_mover


def _archive_setter(memory: Any) -> Callable[[Any], None]:
    def set_archive(obj: Any) -> None:
        """Attach a new archive behind memory (a cache's archive, or an archive)."""
        if not isinstance(memory, Memory):
            raise ValueError("cannot set new archive")
        if isinstance(obj, Memory):
            obj = obj.archive
        if not is_archive(obj):
            raise InvalidArgumentError(
                f"archive() expects an archive or a cache, got {type(obj).__name__}; "
                "use f.archived(False) to switch archiving off"
            )
        memory.archive = obj

    return set_archive


def _archived(memory: Any) -> Callable[..., Any]:
    def archived(*on: bool) -> Any:
        """Whether an archive is attached; ``archived(False)``/``archived(True)`` toggle it."""
        method = getattr(memory, "archived", None)
        if method is None:
            if on:
                raise ValueError("cannot toggle archive")
            return False
        return method(*on)

    return archived
