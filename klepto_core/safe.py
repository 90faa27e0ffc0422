"""The "safe" decorators: a call whose arguments cannot be keyed is computed, not cached.

``klepto_core.safe.<policy>_cache`` exists for every installed policy. Their
default keymap is a string of the bound arguments (sorted by name), so lists
and dicts are cached too; any error while building the key or looking it up
(not an error of the function itself) just makes the call an uncached miss.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "__all__":  # computed, so ``from klepto_core.safe import *`` sees every policy
        from klepto_core.compat_cache import policy_decorator_names

        return policy_decorator_names()
    if name.endswith("_cache") and not name.startswith("_"):
        from klepto_core.compat_cache import decorator_class
        from klepto_core.errors import UnknownPluginError

        try:
            return decorator_class(name[: -len("_cache")], True)
        except UnknownPluginError as exc:
            raise AttributeError(
                f"module 'klepto_core.safe' has no attribute {name!r} ({exc})"
            ) from exc
    raise AttributeError(f"module 'klepto_core.safe' has no attribute {name!r}")


def __dir__() -> list[str]:
    from klepto_core.compat_cache import policy_decorator_names

    return sorted(set(globals()) | set(policy_decorator_names()))
