"""The small record every plugin hook returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KINDS: tuple[str, ...] = ("policy", "keymap", "serializer", "archive", "observer")

#: entry point group -> (kind, hook name); the single table discovery and loading read.
GROUPS: dict[str, tuple[str, str]] = {
    "klepto_core.policies": ("policy", "klepto_core_policy"),
    "klepto_core.keymaps": ("keymap", "klepto_core_keymap"),
    "klepto_core.serializers": ("serializer", "klepto_core_serializer"),
    "klepto_core.archives": ("archive", "klepto_core_archive"),
    "klepto_core.observers": ("observer", "klepto_core_observer"),
}


@dataclass(frozen=True)
class PluginSpec:
    """What a plugin provides: its name, the factory that builds it, a one-line description.

    ``url_schemes`` (archives only) lists the URL schemes ``open_archive`` routes
    to this archive, e.g. ``("dir",)`` or ``("sqlite", "postgresql")``.
    """

    name: str
    factory: Any  # a class or callable; typed by kind (Policy, Keymap, Serializer, Archive)
    description: str = ""
    url_schemes: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class PluginInfo:
    """One row of :func:`klepto_core.plugins`: what is installed and where it comes from."""

    kind: str
    name: str
    distribution: str
    version: str
    description: str
    error: str | None = None
