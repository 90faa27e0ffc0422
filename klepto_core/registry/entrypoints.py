"""Read plugin entry points straight from the installed distributions' metadata files.

``importlib.metadata`` costs ~30 ms to import (it pulls in email, zipfile and
more) and parses every distribution's METADATA; klepto_core only needs its
entry point groups (one per kind of plugin) of the few distributions that
declare them. This scanner reads ``*.dist-info/entry_points.txt`` on
``sys.path`` directly, first occurrence of a distribution wins, as with
``importlib.metadata``.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable
from typing import Any


class EntryPointRecord:
    """One entry point: its group, name, ``module:attr`` value and the distribution declaring it."""

    __slots__ = ("distribution", "group", "name", "value", "version")

    def __init__(self, group: str, name: str, value: str, distribution: str, version: str) -> None:
        self.group, self.name, self.value = group, name, value
        self.distribution, self.version = distribution, version

    def __repr__(self) -> str:
        fields = (self.group, self.name, self.value, self.distribution)
        return f"EntryPointRecord{fields!r}"

    def load(self) -> Any:
        """Import the module (and attribute) the entry point names."""
        module, _, attr = self.value.partition(":")
        obj: Any = importlib.import_module(module.strip())
        for part in filter(None, attr.strip().split(".")):
            obj = getattr(obj, part)
        return obj


def _normalise(name: str) -> str:
    """PEP 503's normal form (runs of ``-``, ``_``, ``.`` become one ``-``), without ``re``."""
    return "-".join(filter(None, name.replace("_", "-").replace(".", "-").split("-"))).lower()


def _name_and_version(info_dir: str, folder: str) -> tuple[str, str]:
    """The distribution's display name and version from its METADATA headers (or folder name)."""
    stem = folder.rsplit(".", 1)[0]
    fallback_name, _, fallback_version = stem.partition("-")
    name, version = fallback_name, fallback_version
    for meta in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(info_dir, meta), encoding="utf-8") as handle:
                for line in handle:
                    if not line.strip():
                        break
                    if line.startswith("Name:"):
                        name = line[5:].strip()
                    elif line.startswith("Version:"):
                        version = line[8:].strip()
            break
        except OSError:
            continue
    return name, version


def _parse(text: str, groups: Iterable[str]) -> list[tuple[str, str, str]]:
    wanted = set(groups)
    out: list[tuple[str, str, str]] = []
    group = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]") and "]" not in line[1:-1]:
            group = line[1:-1].strip()
            continue
        if group in wanted and "=" in line:
            name, _, value = line.partition("=")
            out.append((group, name.strip(), value.strip()))  # type: ignore[arg-type]
    return out


def scan(groups: Iterable[str], path: Iterable[str] | None = None) -> list[EntryPointRecord]:
    """Every entry point of ``groups`` declared by a distribution found on ``path`` (sys.path)."""
    groups = tuple(groups)
    seen: set[str] = set()
    records: list[EntryPointRecord] = []
    for entry in sys.path if path is None else path:
        directory = entry or "."
        try:
            folders = sorted(os.listdir(directory))
        except OSError:
            continue
        for folder in folders:
            if not folder.endswith((".dist-info", ".egg-info")):
                continue
            info_dir = os.path.join(directory, folder)
            key = _normalise(folder.rsplit(".", 1)[0].partition("-")[0])
            if key in seen:
                continue  # shadowed by an earlier sys.path entry
            seen.add(key)
            try:
                with open(os.path.join(info_dir, "entry_points.txt"), encoding="utf-8") as handle:
                    text = handle.read()
            except OSError:
                continue
            found = _parse(text, groups)
            if not found:
                continue
            name, version = _name_and_version(info_dir, folder)
            records.extend(EntryPointRecord(g, n, v, name, version) for g, n, v in found)
    return records
