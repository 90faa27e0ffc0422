"""Open archives by plugin name or by URL (``dir:./memo``, ``sqlite:///x.db``, ``redis://...``).

A URL's scheme picks the archive plugin whose ``PluginSpec.url_schemes`` lists
it. When the scheme *is* the plugin's name (``dir:``, ``file:``, ``hdf:`` ...)
the rest of the URL is a path (``dir:///abs`` and ``dir:rel`` both work);
otherwise (``sqlite://``, ``postgresql://``, ``redis://``) the whole URL is the
archive's name. Both functions return the archive itself unless ``cached=True``.
"""

from __future__ import annotations

import difflib
from typing import Any

from klepto_core.errors import (
    AmbiguousSchemeError,
    ArchiveUnavailableError,
    ArchiveURLError,
    InvalidArgumentError,
    UnknownPluginError,
)
from klepto_core.registry import REGISTRY
from klepto_core.registry.specs import PluginSpec


def archive(kind: str, name: Any = None, *, cached: bool = False, **options: Any) -> Any:
    """Open the ``kind`` archive (``"dir"``, ``"file"``, ``"sqltable"`` ...) at ``name``.

    ``options`` are the archive's constructor options (klepto's, plus
    ``serializer=``); ``cached=True`` returns klepto's cache wrapper instead.
    """
    factory = REGISTRY.resolve("archive", kind).factory
    try:
        return factory(name, cached=cached, **options)
    except OSError as exc:
        if isinstance(exc, ArchiveUnavailableError):
            raise
        raise ArchiveUnavailableError(f"cannot open {kind} archive {name!r}: {exc}") from exc


def url_schemes() -> dict[str, list[str]]:
    """Every URL scheme an installed archive plugin handles -> the plugin names handling it."""
    out: dict[str, list[str]] = {}
    for spec in REGISTRY.specs("archive"):
        for scheme in spec.url_schemes:
            out.setdefault(scheme.lower(), []).append(spec.name)
    return out


def _scheme_of(url: str) -> str:
    scheme, sep, _rest = url.partition(":")
    if not sep or not scheme or not all(c.isalnum() or c in "+-." for c in scheme):
        raise ArchiveURLError(
            f"{url!r} is not an archive URL: it needs a scheme, e.g. 'dir:./memo', "
            "'file:./memo.pkl', 'sqlite:///memo.db'"
        )
    return scheme.lower()


def resolve_url(url: str, kind: str | None = None) -> tuple[PluginSpec, Any]:
    """The archive plugin for ``url`` and the name to open it with."""
    if not isinstance(url, str):
        raise InvalidArgumentError(f"an archive URL must be a str, got {type(url).__name__}")
    scheme = _scheme_of(url)
    if kind is not None:
        spec = REGISTRY.resolve("archive", kind)
    else:
        table = url_schemes()
        names = table.get(scheme) or table.get(scheme.split("+", 1)[0], [])
        if not names:
            close = difflib.get_close_matches(scheme, list(table), n=1)
            raise UnknownPluginError(
                "archive URL scheme",
                scheme,
                table,
                close[0] if close else None,
                "an archive plugin lists the schemes it opens in PluginSpec.url_schemes",
            )
        if len(names) > 1:
            raise AmbiguousSchemeError(scheme, names)
        spec = REGISTRY.resolve("archive", names[0])
    if scheme == spec.name:
        path = url.partition(":")[2]
        if path.startswith("//"):
            path = path[2:]
        return spec, (path or None)
    return spec, url


def open_archive(url: str, *, kind: str | None = None, cached: bool = False, **options: Any) -> Any:
    """Open the archive a URL names, e.g. ``open_archive("dir:./memo")`` or ``("sqlite:///x.db")``."""
    spec, name = resolve_url(url, kind)
    try:
        return spec.factory(name, cached=cached, **options)
    except OSError as exc:
        if isinstance(exc, ArchiveUnavailableError):
            raise
        raise ArchiveUnavailableError(f"cannot open {url!r}: {exc}") from exc
