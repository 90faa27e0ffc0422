"""An archive held in process memory (klepto's ``dict_archive``): fast, gone at exit."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator
from typing import Any, ClassVar

from klepto_core.plugin import Archive, PluginSpec, archive_factory, hookimpl


class DictArchive(Archive):
    """Entries live in a private dict; values are stored as objects, not serialized.

    Extra keyword options are accepted and ignored, as klepto's dict_archive does.
    Pickling carries the contents.
    """

    __kind_name__: ClassVar[str] = "dict_archive"
    show_name: ClassVar[bool] = False

    def __init__(self, name: Any = None, **ignored: Any) -> None:
        name = None if name is None else str(name)
        super().__init__(name, {"id": name})
        self._data: dict[Hashable, Any] = {}

    def _read(self, key: Hashable) -> Any:
        return self._data[key]

    def _write(self, key: Hashable, payload: Any) -> None:
        self._data[key] = payload

    def _write_many(self, items: list[tuple[Hashable, Any]]) -> None:
        self._data.update(items)

    def _delete(self, key: Hashable) -> None:
        del self._data[key]

    def _keys(self) -> Iterable[Hashable]:
        return list(self._data)

    def _count(self) -> int:
        return len(self._data)

    def _has(self, key: Hashable) -> bool:
        return key in self._data

    def _items(self) -> Iterator[tuple[Hashable, Any]]:
        return iter(list(self._data.items()))

    def _clear(self) -> None:
        self._data.clear()


dict_archive = archive_factory(DictArchive)


@hookimpl
def klepto_core_archive() -> PluginSpec:
    """Register the ``dict`` archive."""
    return PluginSpec(
        name="dict",
        factory=dict_archive,
        description="entries in process memory (nothing persists)",
        url_schemes=("dict",),
    )
