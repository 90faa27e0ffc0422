"""What the ``klepto-core`` subcommands share: exit codes, opening a URL, output, key parsing.

A subcommand raises :class:`CommandError` (a message and an exit code) for an
expected failure; ``cli.main`` prints it as one line. Opening a URL sorts the
failures into a bad URL (exit 2) and an archive that cannot be reached (exit 3).
"""

from __future__ import annotations

import ast
import json
import os
import sys
from collections.abc import Hashable
from pathlib import Path
from typing import Any, TextIO

from klepto_core.errors import (
    AmbiguousSchemeError,
    ArchiveUnavailableError,
    ArchiveURLError,
    FormatError,
    KleptoCoreError,
)
from klepto_core.registry import REGISTRY, plugins
from klepto_core.registry.urls import resolve_url

#: the process exit codes of ``klepto-core`` (README's CLI section lists them)
OK = 0
CORRUPT = 1  # corrupt entries found (verify, get, copy)
BAD_URL = 2  # a bad URL, no archive there, or bad arguments (argparse's usage errors are 2 too)
UNREACHABLE = 3  # the archive cannot be opened or reached (server down, no permission)
MISSING_KEY = 4  # ``get``: no such key
FAILED = 5  # anything else (e.g. a value the destination cannot store)
INTERRUPTED = 130


class CommandError(Exception):
    """An expected failure of a subcommand: a one-line message and the exit code to return."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def exit_code_of(exc: BaseException) -> int:
    """The exit code for an error raised while using an archive."""
    if isinstance(exc, CommandError):
        return exc.code
    if isinstance(exc, ArchiveURLError | FormatError):  # the URL names no archive of that kind
        return BAD_URL
    if isinstance(exc, ArchiveUnavailableError | ConnectionError | TimeoutError):
        return UNREACHABLE
    return FAILED


# -- URLs ------------------------------------------------------------------------------------


def resolve(url: str) -> tuple[Any, Any]:
    """The archive plugin spec for ``url`` and the name to open it with; exit 2 if none.

    Besides the URL forms ``open_archive`` takes, ``<plugin>:<name>`` picks any
    installed archive plugin by name (``sqltable:sqlite:///x.db``), which also
    settles a scheme that two plugins claim.
    """

    scheme = url.partition(":")[0]
    kind = scheme if ":" in url and scheme in REGISTRY.names("archive") else None
    try:
        return resolve_url(url, kind)
    except AmbiguousSchemeError as exc:
        raise CommandError(f"{exc} (on the command line: '<archive>:{url}')", BAD_URL) from exc
    except KleptoCoreError as exc:
        raise CommandError(str(exc), BAD_URL) from exc


def local_paths(spec: Any, name: Any) -> list[Path]:
    """The local files ``name`` stores into, as its archive plugin reports them ([]: none).

    The first is the archive itself, the rest companions (an SQLite journal).
    """
    backend = getattr(spec.factory, "__backend__", None)
    reported = getattr(backend, "local_paths", None)
    return [Path(p) for p in reported(name)] if callable(reported) else []


def open_url(url: str, *, must_exist: bool) -> Any:
    """Open the uncached archive at ``url``; ``must_exist`` refuses a local path that is absent.

    Read-only subcommands pass ``must_exist=True``: the archive is opened with
    ``mode="r"``, so it creates nothing (no file, directory or table) and a mistyped
    path or table is an error instead of a new, empty archive.
    """
    spec, name = resolve(url)
    paths = local_paths(spec, name)
    if must_exist and paths and not paths[0].exists():
        raise CommandError(f"{url!r}: no archive at {str(paths[0])!r}", BAD_URL)
    options = {"mode": "r"} if must_exist else {}
    try:
        return spec.factory(name, cached=False, **options)
    except KleptoCoreError as exc:
        raise CommandError(f"cannot open {url!r}: {exc}", exit_code_of(exc)) from exc
    except OSError as exc:
        raise CommandError(f"cannot open {url!r}: {exc}", UNREACHABLE) from exc
    except Exception as exc:
        raise CommandError(f"cannot open {url!r}: {type(exc).__name__}: {exc}", FAILED) from exc


def plugin_of(url: str) -> tuple[str, str]:
    """The archive plugin name and distribution ``url`` opens with."""
    spec, _ = resolve(url)
    for row in plugins("archive"):
        if row.name == spec.name:
            return row.name, row.distribution
    return spec.name, "<runtime>"


def disk_bytes(paths: list[Path]) -> int | None:
    """Bytes the files and directory trees in ``paths`` take (None: the archive is not local)."""
    if not paths or not paths[0].exists():
        return None
    total = 0
    for path in paths:
        if path.is_dir():
            total += sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            total += path.stat().st_size
    return total


# -- keys and values -------------------------------------------------------------------------


def parse_key(text: str) -> Hashable:
    """A key typed on the command line: a Python literal when it parses as one, else the text."""
    try:
        key = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    try:
        hash(key)
    except TypeError:
        return text
    return key  # type: ignore[no-any-return]


def jsonable(value: Any) -> Any:
    """``value`` when JSON can carry it (tuples become lists), else its repr."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return repr(value)
    return value


def emit(data: Any, as_json: bool, text: str | None = None) -> None:
    """Print ``data`` as JSON (``--json``) or ``text`` for people."""
    if as_json:
        print(json.dumps(data, indent=2, default=repr))
    elif text is not None:
        print(text)


# -- progress ----------------------------------------------------------------------------------


class Progress:
    """A one-line progress bar on stderr, redrawn at most ten times a second."""

    def __init__(self, label: str, total: int, enabled: bool, stream: TextIO | None = None):
        self.label = label
        self.total = total
        self.done = 0
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self._last = 0.0
        self._drawn = -1

    @staticmethod
    def wanted(forced: bool, stream: TextIO | None = None) -> bool:
        """Show a bar when asked (``--progress``) or when stderr is a terminal."""
        stream = stream or sys.stderr
        return forced or (stream.isatty() and os.environ.get("TERM") != "dumb")

    def advance(self, count: int) -> None:
        """Count ``count`` more entries done and redraw if due."""
        import time

        self.done += count
        now = time.monotonic()
        if self.enabled and (now - self._last >= 0.1 or self.done >= self.total):
            self._last = now
            self._draw()

    def _draw(self) -> None:
        if self._drawn == self.done:
            return
        self._drawn = self.done
        width = 30
        fraction = self.done / self.total if self.total else 1.0
        filled = int(width * fraction)
        bar = "#" * filled + "." * (width - filled)
        self.stream.write(
            f"\r{self.label} [{bar}] {self.done}/{self.total} {100 * fraction:5.1f}%"
        )
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line."""
        if self.enabled:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()
