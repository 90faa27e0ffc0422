"""Everything a plugin author imports, in one place.

``from klepto_core.plugin import hookimpl, PluginSpec, Policy`` (or ``Keymap``,
``Serializer``, ``Observer``, ``Archive`` with ``archive_factory``): the hook
marker, the record a hook returns and the base type each kind subclasses.
Each name is imported when first asked for, so a policy plugin does not load
the archive machinery.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: name -> the module defining it
_HOMES = {
    "hookimpl": "klepto_core.registry.marker",
    "PluginSpec": "klepto_core.registry.specs",
    "Policy": "klepto_core.base.policy",
    "UseOrderPolicy": "klepto_core.base.policy",
    "untracked": "klepto_core.base.policy",
    "untracked_victims": "klepto_core.base.policy",
    "Keymap": "klepto_core.base.keymap",
    "SENTINEL": "klepto_core.base.keymap",
    "NOSENTINEL": "klepto_core.base.keymap",
    "Serializer": "klepto_core.base.serializer",
    "get_serializer": "klepto_core.base.serializer",
    "Observer": "klepto_core.base.observer",
    "Archive": "klepto_core.base.archive",
    "archive_factory": "klepto_core.memo.archive_factory",
}

__all__ = sorted(_HOMES)

if TYPE_CHECKING:
    from klepto_core.base.archive import Archive as Archive
    from klepto_core.base.keymap import NOSENTINEL as NOSENTINEL
    from klepto_core.base.keymap import SENTINEL as SENTINEL
    from klepto_core.base.keymap import Keymap as Keymap
    from klepto_core.base.observer import Observer as Observer
    from klepto_core.base.policy import Policy as Policy
    from klepto_core.base.policy import UseOrderPolicy as UseOrderPolicy
    from klepto_core.base.policy import untracked as untracked
    from klepto_core.base.policy import untracked_victims as untracked_victims
    from klepto_core.base.serializer import Serializer as Serializer
    from klepto_core.base.serializer import get_serializer as get_serializer
    from klepto_core.memo.archive_factory import archive_factory as archive_factory
    from klepto_core.registry.marker import hookimpl as hookimpl
    from klepto_core.registry.specs import PluginSpec as PluginSpec


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'klepto_core.plugin' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # the next lookup is a plain global
    return value
