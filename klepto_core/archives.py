"""klepto's archives module: ``cache``, ``archive`` and one ``<name>_archive`` per archive plugin.

``dict_archive``, ``dir_archive``, ``sql_archive`` ... are not defined here: each
is the factory of the installed archive plugin of that name, resolved through
the registry on first use, exactly as a third party's ``s3_archive`` would be.
"""

from __future__ import annotations

from typing import Any

from klepto_core.base.archive import Archive as archive  # noqa: N813 - klepto's name
from klepto_core.errors import UnknownPluginError
from klepto_core.memo.memory import archive_dict, cache
from klepto_core.registry import REGISTRY
from klepto_core.storage.frames import _from_frame, _to_frame

_SUFFIX = "_archive"


def _sqlname(name: str | None) -> tuple[str | None, str | None]:
    """Split ``'<db url>?table=<t>'`` into ``(db url, table)``; a name without ``/`` is a table."""
    if name is None:
        return None, None
    for prefix in ("?table=", "table="):
        if name.startswith(prefix):
            return None, name[len(prefix) :]
    if "/" in name:
        db, sep, table = name.partition("?table=")
        return (db, table) if sep else (name, None)
    return None, name


def __getattr__(name: str) -> Any:

    if name == "__all__":  # computed, so ``from klepto_core.archives import *`` sees every plugin
        return ["cache", "archive", *(f"{n}{_SUFFIX}" for n in REGISTRY.names("archive"))]
    if name.endswith(_SUFFIX) and not name.startswith("_"):
        try:
            return REGISTRY.resolve("archive", name[: -len(_SUFFIX)]).factory
        except UnknownPluginError as exc:
            raise AttributeError(
                f"module 'klepto_core.archives' has no attribute {name!r} ({exc})"
            ) from exc
    raise AttributeError(f"module 'klepto_core.archives' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {f"{n}{_SUFFIX}" for n in REGISTRY.names("archive")})


_EXPORTED = (archive, archive_dict, cache, _from_frame, _to_frame)
