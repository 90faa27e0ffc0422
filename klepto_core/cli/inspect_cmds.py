"""The read-only subcommands of ``klepto-core``: ``info``, ``keys``, ``get`` and ``verify``.

Each opens the archive uncached (nothing is loaded into memory up front) and
closes it before returning its exit code.
"""

from __future__ import annotations

import pprint
from typing import Any

from klepto_core.cli.common import (
    CORRUPT,
    MISSING_KEY,
    OK,
    CommandError,
    Progress,
    disk_bytes,
    emit,
    jsonable,
    local_paths,
    open_url,
    parse_key,
    plugin_of,
    resolve,
)
from klepto_core.errors import CorruptEntryError


def info(url: str, as_json: bool) -> int:
    """Describe the archive at ``url``: plugin, type, entries, bytes on disk, format."""
    plugin, distribution = plugin_of(url)
    spec, name = resolve(url)
    with open_url(url, must_exist=True) as archive:
        serializer = archive.serializer
        fmt = getattr(archive, "format", None)
        data: dict[str, Any] = {
            "url": url,
            "plugin": plugin,
            "distribution": distribution,
            "type": type(archive).__kind_name__,
            "name": None if archive.name is None else str(archive.name),
            "entries": len(archive),
            "bytes": disk_bytes(local_paths(spec, name)),
            "format": None if fmt is None else str(fmt),
            "serializer": None if serializer is None else serializer.name,
            "persistent": bool(archive.persistent),
        }
    text = "\n".join(f"{field:12} {'-' if v is None else v}" for field, v in data.items())
    emit(data, as_json, text)
    return OK


def keys(url: str, as_json: bool) -> int:
    """List the keys at ``url``, one ``repr`` a line (what ``get`` takes back)."""
    with open_url(url, must_exist=True) as archive:
        found = [repr(key) for key in archive]
    emit({"url": url, "count": len(found), "keys": found}, as_json, "\n".join(found) or None)
    return OK


def get(url: str, key_text: str, as_json: bool) -> int:
    """Print the value stored under a key (a Python literal, or else the text itself)."""
    key = parse_key(key_text)
    with open_url(url, must_exist=True) as archive:
        try:
            value = _lookup(archive, key, key_text)
        except CorruptEntryError as exc:
            raise CommandError(str(exc), CORRUPT) from exc
        except KeyError:
            raise CommandError(f"no key {key!r} in {url!r}", MISSING_KEY) from None
    data = {
        "url": url,
        "key": repr(key),
        "type": type(value).__name__,
        "value": jsonable(value),
        "repr": repr(value),
    }
    emit(data, as_json, pprint.pformat(value))
    return OK


def _lookup(archive: Any, key: Any, key_text: str) -> Any:
    try:
        return archive[key]
    except CorruptEntryError:
        raise
    except KeyError:
        if key == key_text:
            raise
    # '7' parsed as the int 7, but the archive may hold the string '7'
    return archive[key_text]


def verify(url: str, as_json: bool, progress: bool) -> int:
    """Read every entry at ``url``; list the corrupt ones and return 1 if there are any."""
    with open_url(url, must_exist=True) as archive:
        all_keys = list(archive)
        bar = Progress("verify", len(all_keys), Progress.wanted(progress))
        corrupt: list[CorruptEntryError] = []
        checked = 0
        for key in all_keys:
            try:
                archive[key]
                checked += 1
            except CorruptEntryError as exc:
                corrupt.append(exc)
                checked += 1
            except KeyError:
                pass  # deleted while we were reading
            bar.advance(1)
        bar.close()
    rows = [{"key": repr(exc.key), "reason": exc.reason} for exc in corrupt]
    lines = [f"{row['key']}: {row['reason']}" for row in rows]
    lines.append(f"{checked} entries checked, {len(corrupt)} corrupt")
    emit({"url": url, "checked": checked, "corrupt": rows}, as_json, "\n".join(lines))
    return CORRUPT if corrupt else OK
