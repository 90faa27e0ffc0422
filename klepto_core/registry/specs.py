"""The small record every plugin hook returns."""

from __future__ import annotations

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


class _Record:
    """A small immutable record: fields in ``__slots__``, compared and hashed by value.

    Hand-written rather than a dataclass: building dataclasses costs milliseconds
    at import, and these records are on every cold start's path.
    """

    __slots__: tuple[str, ...] = ()
    #: the fields in constructor order
    _fields: tuple[str, ...] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r} of {type(self).__name__}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r} of {type(self).__name__}")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({fields})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), self._values())


class PluginSpec(_Record):
    """What a plugin provides: its name, the factory that builds it, a one-line description.

    ``url_schemes`` (archives only) lists the URL schemes ``open_archive`` routes
    to this archive, e.g. ``("dir",)`` or ``("sqlite", "postgresql")``.
    """

    _fields = ("name", "factory", "description", "url_schemes")
    __slots__ = ("description", "factory", "name", "url_schemes")
    __match_args__ = ("name", "factory", "description", "url_schemes")

    name: str
    factory: Any  # a class or callable; typed by kind (Policy, Keymap, Serializer, Archive)
    description: str
    url_schemes: tuple[str, ...]

    def __init__(
        self, name: str, factory: Any, description: str = "", url_schemes: tuple[str, ...] = ()
    ) -> None:
        for field, value in zip(self._fields, (name, factory, description, url_schemes)):
            object.__setattr__(self, field, value)


class PluginInfo(_Record):
    """One row of :func:`klepto_core.plugins`: what is installed and where it comes from."""

    _fields = ("kind", "name", "distribution", "version", "description", "error")
    __slots__ = ("description", "distribution", "error", "kind", "name", "version")
    __match_args__ = ("kind", "name", "distribution", "version", "description", "error")

    kind: str
    name: str
    distribution: str
    version: str
    description: str
    error: str | None

    def __init__(
        self,
        kind: str,
        name: str,
        distribution: str,
        version: str,
        description: str,
        error: str | None = None,
    ) -> None:
        values = (kind, name, distribution, version, description, error)
        for field, value in zip(self._fields, values):
            object.__setattr__(self, field, value)
