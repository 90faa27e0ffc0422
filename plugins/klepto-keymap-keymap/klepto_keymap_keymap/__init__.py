"""The raw keymap: the formatted arguments themselves are the key (klepto's ``keymap``)."""

from __future__ import annotations

from klepto_core.plugin import Keymap, PluginSpec, hookimpl


class RawKeymap(Keymap):
    """Key a call by its formatted arguments, unencoded: nothing is lost, but they must be hashable.

    ``keymap()(1, 2, c=3)`` is ``(1, 2, 'c', 3)``; ``keymap(flat=False)`` gives
    ``((1, 2), {'c': 3})``, which a dict cannot hold (use it inside a chain).
    """

    name = "keymap"
    identity = True


@hookimpl
def klepto_core_keymap() -> PluginSpec:
    """Register the ``keymap`` keymap."""
    return PluginSpec(
        name="keymap",
        factory=RawKeymap,
        description="the formatted arguments themselves (hashable arguments only)",
    )
