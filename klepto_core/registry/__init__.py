"""Plugins: entry-point discovery, hook specifications, plugin records, name and URL resolution.

``REGISTRY`` turns a kind and a name into a plugin's :class:`PluginSpec`;
``plugins()`` lists what is installed; ``register_plugin()`` adds one at run time.
"""

from __future__ import annotations

from klepto_core.registry.lookup import REGISTRY, Registry, check_kind
from klepto_core.registry.specs import GROUPS, KINDS, PluginInfo, PluginSpec

__all__ = [
    "GROUPS",
    "KINDS",
    "REGISTRY",
    "PluginInfo",
    "PluginSpec",
    "Registry",
    "plugins",
    "register_plugin",
]


def plugins(kind: str | None = None) -> list[PluginInfo]:
    """What is installed: kind, name, distribution, version and a one-line description."""
    rows = REGISTRY.infos()
    if kind is not None:
        check_kind(kind)
        rows = [r for r in rows if r.kind == kind]
    return rows


def register_plugin(kind: str, spec: PluginSpec) -> None:
    """Make a plugin available by name in this process without packaging it."""
    REGISTRY.register(kind, spec)
