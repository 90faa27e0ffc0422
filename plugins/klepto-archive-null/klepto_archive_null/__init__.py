"""An archive that stores nothing (klepto's ``null_archive``): archiving switched off."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any, ClassVar

from klepto_core.plugin import Archive, PluginSpec, archive_factory, hookimpl


class NullArchive(Archive):
    """Always empty: writes are accepted and dropped, ``setdefault`` returns the default."""

    __kind_name__: ClassVar[str] = "null_archive"
    is_null: ClassVar[bool] = True

    def __init__(self, name: Any = None, **ignored: Any) -> None:
        name = None if name is None else str(name)
        super().__init__(name, {"id": name})

    def _read(self, key: Hashable) -> Any:
        raise KeyError(key)

    def _write(self, key: Hashable, payload: Any) -> None:
        pass

    def _delete(self, key: Hashable) -> None:
        raise KeyError(key)

    def _keys(self) -> Iterable[Hashable]:
        return ()

    def _count(self) -> int:
        return 0

    def _has(self, key: Hashable) -> bool:
        return False

    def _clear(self) -> None:
        pass

    def setdefault(self, key: Hashable, default: Any = None) -> Any:
        """``default``, without storing it."""
        return default

    def __repr__(self) -> str:
        return "null_archive(cached=False)"


null_archive = archive_factory(NullArchive)


@hookimpl
def klepto_core_archive() -> PluginSpec:
    """Register the ``null`` archive."""
    return PluginSpec(
        name="null",
        factory=null_archive,
        description="stores nothing: archiving switched off",
        url_schemes=("null",),
    )
