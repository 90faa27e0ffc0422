"""Call a plugin module's one hook implementation directly, validated as pluggy would.

Loading pluggy and registering a plugin costs more than the rest of a cold
start; a plugin module with exactly one plain implementation of its kind's
hook (every built-in plugin) needs neither. :func:`direct_impl` returns that
function after pluggy's own checks (no unknown hook names, no arguments the
hook specification does not offer), raises ``TypeError`` for a broken plugin,
and returns None when pluggy must decide (wrappers, several implementations,
a plugin that is a class or an instance).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable
from typing import Any

from klepto_core.registry.marker import IMPL_ATTR


def _marked(module: types.ModuleType) -> list[tuple[str, Any, dict[str, Any]]] | None:
    """(attribute name, object, options) of each marked attribute; None if one is no function."""
    out = []
    for name, obj in list(vars(module).items()):
        try:
            opts = getattr(obj, IMPL_ATTR, None)
        except Exception:
            continue
        if not isinstance(opts, dict):
            continue
        if not isinstance(obj, types.FunctionType):
            return None
        out.append((name, obj, opts))
    return out


def _required_args(func: types.FunctionType) -> tuple[str, ...]:
    """The positional parameters without a default: what a hook call would have to provide."""
    code = func.__code__
    positional = code.co_varnames[: code.co_argcount]
    return positional[: len(positional) - len(func.__defaults__ or ())]


def direct_impl(
    plugin: Any, hook_name: str, hooks: Iterable[str]
) -> list[Callable[[], Any]] | None:
    """``[the function]`` implementing ``hook_name`` in module ``plugin``, ``[]`` if none.

    None means pluggy must register the plugin and decide.
    """
    if not isinstance(plugin, types.ModuleType):
        return None
    marked = _marked(plugin)
    if marked is None:
        return None
    known = set(hooks)
    found = []
    for name, func, opts in marked:
        if opts.get("wrapper") or opts.get("hookwrapper"):
            return None
        hook = opts.get("specname") or name
        if hook not in known:
            if opts.get("optionalhook"):
                continue
            raise TypeError(f"unknown hook {hook!r} in plugin {plugin!r}")
        extra = _required_args(func)
        if extra:  # the hook specifications take no arguments
            raise TypeError(
                f"Plugin {plugin.__name__!r} for hook {hook!r}: argument(s) {set(extra)} are "
                "declared in the hookimpl but can not be found in the hookspec"
            )
        if hook == hook_name:
            found.append(func)
    return found if len(found) <= 1 else None
