"""klepto's keymap module: ``keymap``, ``hashmap``, ``stringmap``, ``picklemap`` and more.

Every installed keymap plugin is reachable here by its name; ``SENTINEL`` and
``NOSENTINEL`` mark the boundary between positional and keyword parts of a key.
"""

from __future__ import annotations

from typing import Any

from klepto_core.base.keymap import NOSENTINEL as NOSENTINEL
from klepto_core.base.keymap import SENTINEL as SENTINEL
from klepto_core.errors import UnknownPluginError
from klepto_core.keys.decode import stub_decoder
from klepto_core.registry import REGISTRY


def __getattr__(name: str) -> Any:
    if name == "__all__":  # computed, so ``from klepto_core.keymaps import *`` sees every plugin

        return ["SENTINEL", "NOSENTINEL", *REGISTRY.names("keymap")]
    if name.startswith("_"):
        if name == "_stub_decoder":
            return stub_decoder
        raise AttributeError(f"module 'klepto_core.keymaps' has no attribute {name!r}")

    try:
        return REGISTRY.resolve("keymap", name).factory
    except UnknownPluginError as exc:
        raise AttributeError(
                f"module 'klepto_core.keymaps' has no attribute {name!r} ({exc})"
            ) from exc


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(REGISTRY.names("keymap")))
