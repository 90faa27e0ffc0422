"""The ``hookimpl`` marker, without importing pluggy.

It sets the attribute pluggy's own ``HookimplMarker("klepto_core")`` sets
(``klepto_core_impl``, a dict of the same options), so a function marked with
either is a hook implementation to pluggy and to :mod:`klepto_core.registry.direct`,
which calls a plugin's single implementation without loading pluggy at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PROJECT = "klepto_core"
#: the attribute a marked function carries, as pluggy names it
IMPL_ATTR = PROJECT + "_impl"


class HookimplMarker:
    """Mark a function as a hook implementation (pluggy's ``HookimplMarker`` options)."""

    project_name = PROJECT

    def __call__(
        self,
        function: Callable[..., Any] | None = None,
        hookwrapper: bool = False,
        optionalhook: bool = False,
        tryfirst: bool = False,
        trylast: bool = False,
        specname: str | None = None,
        wrapper: bool = False,
    ) -> Any:
        opts = {
            "wrapper": wrapper,
            "hookwrapper": hookwrapper,
            "optionalhook": optionalhook,
            "tryfirst": tryfirst,
            "trylast": trylast,
            "specname": specname,
        }

        def mark(func: Callable[..., Any]) -> Callable[..., Any]:
            setattr(func, IMPL_ATTR, dict(opts))
            return func

        return mark if function is None else mark(function)


hookimpl = HookimplMarker()
