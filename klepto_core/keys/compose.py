"""A decorated function's key functions: bind the call, round, encode with the keymap.

:func:`build_key_functions` assembles, once per decorated function, the key the
cache stores (``memo_key``) and klepto's ``f.key()`` (``user_key``); for a plain
flat keymap the memo key skips an encoding that cannot change equality.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from klepto_core.base.keymap import Keymap
from klepto_core.errors import InvalidArgumentError
from klepto_core.keys.binder import compile_binder
from klepto_core.keys.rounding import make_rounder


def build_key_functions(
    func: Callable[..., Any], keymap: Keymap, ignore: Any, tol: int | None, deep: bool
) -> tuple[Callable[..., Hashable], Callable[..., Hashable]]:
    """Return ``(memo_key, user_key)``: the key the cache stores, and klepto's ``f.key``."""
    if not callable(keymap):
        raise InvalidArgumentError(f"keymap= expects a keymap or a callable, got {keymap!r}")
    rounder = make_rounder(tol, deep)
    if isinstance(keymap, Keymap) and keymap.is_plain_flat:
        binder = compile_binder(func, ignore, flat=True)
        fast = keymap._fasttypes
        if getattr(binder, "__kc_may_collapse__", True):
            flat_binder = binder

            def binder(*args: Any, **kwds: Any) -> Any:
                key = flat_binder(*args, **kwds)
                if len(key) == 1 and type(key[0]) in fast:
                    return key[0]
                return key

        encode = keymap.encode_key
        if keymap.lossy or keymap.identity:
            formatted = binder
        else:

            def formatted(*args: Any, **kwds: Any) -> Hashable:
                return encode(binder(*args, **kwds))

        def flat_user(*args: Any, **kwds: Any) -> Hashable:
            return encode(binder(*args, **kwds))

        memo: Callable[..., Hashable] = formatted
        user: Callable[..., Hashable] = flat_user
    else:
        pair_binder = compile_binder(func, ignore, flat=False)
        memo_of = keymap.memo_key if isinstance(keymap, Keymap) else keymap

        def pair_memo(*args: Any, **kwds: Any) -> Hashable:
            a, k = pair_binder(*args, **kwds)
            return memo_of(*a, **k)

        def pair_user(*args: Any, **kwds: Any) -> Hashable:
            a, k = pair_binder(*args, **kwds)
            return keymap(*a, **k)

        memo, user = pair_memo, pair_user

    if rounder is None:
        return memo, user
    plain_memo, plain_user = memo, user

    def rounded_memo(*args: Any, **kwds: Any) -> Hashable:
        a, k = rounder(args, kwds)
        return plain_memo(*a, **k)

    def rounded_user(*args: Any, **kwds: Any) -> Hashable:
        a, k = rounder(args, kwds)
        return plain_user(*a, **k)

    return rounded_memo, rounded_user


def namespaced(namespace: str, key_of: Callable[..., Hashable]) -> Callable[..., Hashable]:
    def namespaced(*args: Any, **kwds: Any) -> Hashable:
        return (namespace, key_of(*args, **kwds))

    return namespaced
