"""The pluggy hook specifications: one hook per kind of plugin.

A plugin distribution declares an entry point in one of the groups
``klepto_core.policies``, ``klepto_core.keymaps``, ``klepto_core.serializers``,
``klepto_core.archives`` or ``klepto_core.observers``; the object the entry
point names implements the matching hook below and returns a
:class:`klepto_core.registry.specs.PluginSpec` (or a list of them). The hook is called
once, when the name is first resolved; the spec's factory is what the hot path
uses afterwards.
"""

from __future__ import annotations

import pluggy

from klepto_core.registry.marker import PROJECT, hookimpl
from klepto_core.registry.specs import GROUPS, PluginSpec

__all__ = ["GROUPS", "PROJECT", "hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker(PROJECT)


@hookspec
def klepto_core_policy() -> PluginSpec | list[PluginSpec]:
    """Return the eviction policy (or policies) this plugin provides.

    The factory is called as ``factory(maxsize)`` and returns a
    :class:`klepto_core.base.policy.Policy`.
    """
    raise NotImplementedError


@hookspec
def klepto_core_keymap() -> PluginSpec | list[PluginSpec]:
    """Return the keymap class(es) this plugin provides.

    The factory is a :class:`klepto_core.base.keymap.Keymap` subclass, called with
    klepto's keymap options (typed, flat, sentinel, ...).
    """
    raise NotImplementedError


@hookspec
def klepto_core_serializer() -> PluginSpec | list[PluginSpec]:
    """Return the serializer(s) this plugin provides.

    The factory is called with no arguments (or serializer options) and returns
    a :class:`klepto_core.base.serializer.Serializer`.
    """
    raise NotImplementedError


@hookspec
def klepto_core_archive() -> PluginSpec | list[PluginSpec]:
    """Return the archive backend(s) this plugin provides.

    The factory is called as ``factory(name, dict=None, cached=True, **options)``
    exactly like klepto's archive constructors.
    """
    raise NotImplementedError


@hookspec
def klepto_core_observer() -> PluginSpec | list[PluginSpec]:
    """Return the cache-event observer(s) this plugin provides.

    The factory is called once per process with no arguments and returns a
    :class:`klepto_core.plugin.Observer`; every function decorated while the
    plugin is installed reports its hits, misses, loads and evictions to it.
    """
    raise NotImplementedError
