"""klepto_core: memoizing caches in front of persistent archives, built from plugins.

Every public name of klepto exists here. ``<policy>_cache`` decorators exist
for each installed policy plugin (``lru_cache``, ``lfu_cache``, ...), and
``cached(policy=..., keymap=..., archive=...)`` configures a cache by name.
Names are resolved lazily, so importing the package loads no plugin.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_SUBMODULES = frozenset(
    {
        "archives",
        "crypto",
        "errors",
        "keymaps",
        "rounding",
        "safe",
        "tools",
        "registry",
        "hookspecs",
        "types",
        "testing",
        "keymap",
        "policy",
        "observer",
        "serializer",
        "cachemap",
        "decorator",
        "defaults",
    }
)
_FROM_INSPECT = frozenset(
    {"signature", "isvalid", "validate", "keygen", "strip_markup", "NULL", "_keygen"}
)
_FROM_API = frozenset({"cached", "plugins", "register_plugin", "archive", "open_archive"})

if TYPE_CHECKING:
    from klepto_core._inspect import NULL as NULL
    from klepto_core._inspect import _keygen as _keygen
    from klepto_core._inspect import isvalid as isvalid
    from klepto_core._inspect import keygen as keygen
    from klepto_core._inspect import signature as signature
    from klepto_core._inspect import strip_markup as strip_markup
    from klepto_core._inspect import validate as validate
    from klepto_core.api import archive as archive
    from klepto_core.api import cached as cached
    from klepto_core.api import open_archive as open_archive
    from klepto_core.api import plugins as plugins
    from klepto_core.api import register_plugin as register_plugin


def __getattr__(name: str) -> Any:
    if name == "__all__":  # computed, so ``from klepto_core import *`` sees every policy
        from klepto_core.compat_cache import policy_decorator_names

        return [
            *policy_decorator_names(),
            *sorted(n for n in _FROM_INSPECT if not n.startswith("_")),
            *sorted(_FROM_API),
        ]
    if name in _SUBMODULES:
        return importlib.import_module(f"klepto_core.{name}")
    if name in _FROM_INSPECT:
        return getattr(importlib.import_module("klepto_core._inspect"), name)
    if name in _FROM_API:
        return getattr(importlib.import_module("klepto_core.api"), name)
    if name.endswith("_cache") and not name.startswith("_"):
        from klepto_core.compat_cache import decorator_class
        from klepto_core.errors import UnknownPluginError

        try:
            return decorator_class(name[: -len("_cache")], False)
        except UnknownPluginError as exc:
            raise AttributeError(f"module 'klepto_core' has no attribute {name!r} ({exc})") from exc
    raise AttributeError(f"module 'klepto_core' has no attribute {name!r}")


def __dir__() -> list[str]:
    from klepto_core.compat_cache import policy_decorator_names

    names = set(globals()) | _SUBMODULES | _FROM_INSPECT | _FROM_API
    return sorted(names | set(policy_decorator_names()))


def license() -> None:
    """Print klepto_core's license."""
    print("klepto_core is distributed under the 3-clause BSD license.")


def citation() -> None:
    """Print how to cite klepto_core."""
    print(f"klepto_core {__version__}: memoizing caches and persistent archives for Python.")
