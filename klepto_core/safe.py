"""The "safe" decorators: a call whose arguments cannot be keyed is computed, not cached.

``klepto_core.safe.<policy>_cache`` exists for every installed policy. Their
default keymap is a string of the bound arguments (sorted by name), so lists
and dicts are cached too; any error while building the key or looking it up
(not an error of the function itself) just makes the call an uncached miss.
"""

from __future__ import annotations

from typing import Any

from klepto_core.compat.decorators import decorator_class, policy_decorator_names
from klepto_core.errors import UnknownPluginError


def __getattr__(name: str) -> Any:
    if name == "__all__":  # computed, so ``from klepto_core.safe import *`` sees every policy

        return policy_decorator_names()
    if name.endswith("_cache") and not name.startswith("_"):

        try:
            return decorator_class(name[: -len("_cache")], True)
        except UnknownPluginError as exc:
            raise AttributeError(
                f"module 'klepto_core.safe' has no attribute {name!r} ({exc})"
            ) from exc
    raise AttributeError(f"module 'klepto_core.safe' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(policy_decorator_names()))
