"""klepto_core: memoizing caches in front of persistent archives, built from plugins.

Every public name of klepto exists here. ``<policy>_cache`` decorators exist
for each installed policy plugin (``lru_cache``, ``lfu_cache``, ...), and
``cached(policy=..., keymap=..., archive=...)`` configures a cache by name.
Names are resolved lazily, so importing the package loads no plugin.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from klepto_core.errors import UnknownPluginError

__version__ = "0.1.0"

_SUBMODULES = frozenset(
    {
        # klepto's modules
        "archives", "crypto", "keymaps", "rounding", "safe", "tools",
        # klepto_core's own
        "errors", "plugin", "registry", "base", "keys", "memo", "storage", "compat", "cli",
        "testing",
    }
)
_FROM_INSPECT = frozenset(
    {"signature", "isvalid", "validate", "keygen", "strip_markup", "NULL", "_keygen"}
)
#: name -> the module defining it
_API = {
    "cached": "klepto_core.memo.cached",
    "plugins": "klepto_core.registry",
    "register_plugin": "klepto_core.registry",
    "archive": "klepto_core.registry.urls",
    "open_archive": "klepto_core.registry.urls",
}

if TYPE_CHECKING:
    from klepto_core._inspect import NULL as NULL
    from klepto_core._inspect import _keygen as _keygen
    from klepto_core._inspect import isvalid as isvalid
    from klepto_core._inspect import keygen as keygen
    from klepto_core._inspect import signature as signature
    from klepto_core._inspect import strip_markup as strip_markup
    from klepto_core._inspect import validate as validate
    from klepto_core.memo.cached import cached as cached
    from klepto_core.registry import plugins as plugins
    from klepto_core.registry import register_plugin as register_plugin
    from klepto_core.registry.urls import archive as archive
    from klepto_core.registry.urls import open_archive as open_archive


def __getattr__(name: str) -> Any:
    if name == "__all__":  # computed, so ``from klepto_core import *`` sees every policy
        # deferred (here and below): the decorator machinery loads on first use, not at import
        from klepto_core.compat.decorators import policy_decorator_names

        return [
            *policy_decorator_names(),
            *sorted(n for n in _FROM_INSPECT if not n.startswith("_")),
            *sorted(_API),
        ]
    if name in _SUBMODULES:
        return importlib.import_module(f"klepto_core.{name}")
    if name in _FROM_INSPECT:
        return getattr(importlib.import_module("klepto_core._inspect"), name)
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    if name.endswith("_cache") and not name.startswith("_"):
        # deferred, as above: resolving ``lru_cache`` loads the policy plugin
        from klepto_core.compat.decorators import decorator_class

        try:
            return decorator_class(name[: -len("_cache")], False)
        except UnknownPluginError as exc:
            raise AttributeError(f"module 'klepto_core' has no attribute {name!r} ({exc})") from exc
    raise AttributeError(f"module 'klepto_core' has no attribute {name!r}")


def __dir__() -> list[str]:
    # deferred: listing the decorators reads the installed plugins
    from klepto_core.compat.decorators import policy_decorator_names

    names = set(globals()) | _SUBMODULES | _FROM_INSPECT | set(_API)
    return sorted(names | set(policy_decorator_names()))


def license() -> None:
    """Print klepto_core's license."""
    print("klepto_core is distributed under the 3-clause BSD license.")


def citation() -> None:
    """Print how to cite klepto_core."""
    print(f"klepto_core {__version__}: memoizing caches and persistent archives for Python.")
