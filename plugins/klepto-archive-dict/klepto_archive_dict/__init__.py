"""An archive held in process memory (klepto's ``dict_archive``): fast, gone at exit."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator
from typing import Any, ClassVar

from klepto_core.plugin import Archive, PluginSpec, archive_factory, hookimpl


class DictArchive(Archive):
    """Entries live in the archive's own dict storage; values are stored as objects.

    The hot methods are dict's own C methods, so ``a[k]``, ``a[k] = v``, ``k in
    a``, ``len(a)``, ``get`` and iteration cost what they cost on a plain dict
    (klepto's dict_archive is one); the rest of the archive API runs on the
    primitives below, which read the same storage. Extra keyword options are
    accepted and ignored, as klepto's dict_archive does. Pickling carries the
    contents.
    """

    __kind_name__: ClassVar[str] = "dict_archive"
    show_name: ClassVar[bool] = False

    def __init__(self, name: Any = None, **ignored: Any) -> None:
        name = None if name is None else str(name)
        super().__init__(name, {"id": name})

    # the mapping API: dict's methods on the storage itself (C slots, no Python frame)
    __getitem__ = dict.__getitem__
    __setitem__ = dict.__setitem__
    __delitem__ = dict.__delitem__
    __contains__ = dict.__contains__
    __iter__ = dict.__iter__
    __len__ = dict.__len__
    get = dict.get  # type: ignore[assignment]
    pop = dict.pop  # type: ignore[assignment]
    keys = dict.keys  # type: ignore[assignment]
    items = dict.items  # type: ignore[assignment]
    values = dict.values  # type: ignore[assignment]
    clear = dict.clear

    # the primitives the rest of Archive's API is written on
    _read = dict.__getitem__  # type: ignore[assignment]
    _write = dict.__setitem__  # type: ignore[assignment]
    _delete = dict.__delitem__  # type: ignore[assignment]
    _count = dict.__len__
    _has = dict.__contains__  # type: ignore[assignment]
    _clear = dict.clear

    def _write_many(self, items: list[tuple[Hashable, Any]]) -> None:
        dict.update(self, items)

    def _keys(self) -> Iterable[Hashable]:
        return list(dict.keys(self))

    def _items(self) -> Iterator[tuple[Hashable, Any]]:
        return iter(list(dict.items(self)))

    def __bool__(self) -> bool:
        return dict.__len__(self) > 0

    def __asdict__(self) -> dict[Hashable, Any]:
        return dict.copy(self)


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
