"""``klepto-core copy SRC DST``: every entry of one archive into another, resumably.

Entries go over in batches, each stored with one ``update()`` (one transaction
on SQL backends), so an interrupted copy keeps every finished batch and the
next run copies only the keys the destination still lacks. A corrupt source
entry or a value the destination cannot store is reported and skipped; the
rest of the copy goes on.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any

from klepto_core.cli.common import (
    CORRUPT,
    FAILED,
    INTERRUPTED,
    OK,
    Progress,
    emit,
    open_url,
)
from klepto_core.errors import CorruptEntryError, SerializationError


@dataclass
class CopyReport:
    """What a copy did: entries copied, skipped (already there), and those it could not copy."""

    total: int = 0
    copied: int = 0
    skipped: int = 0
    corrupt: list[dict[str, str]] = field(default_factory=list)
    unstorable: list[dict[str, str]] = field(default_factory=list)
    interrupted: bool = False


def _batches(items: list[Hashable], size: int) -> Iterator[list[Hashable]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def copy_entries(
    src: Any, dst: Any, *, batch: int, overwrite: bool, bar: Progress, report: CopyReport
) -> None:
    """Copy ``src`` into ``dst`` batch by batch, filling ``report`` as it goes."""
    keys = list(src)
    report.total = len(keys)
    if not overwrite:
        present = set(dst)
        todo = [key for key in keys if key not in present]
        report.skipped = len(keys) - len(todo)
    else:
        todo = keys
    bar.total = len(todo)
    for chunk in _batches(todo, batch):
        pairs: list[tuple[Hashable, Any]] = []
        for key in chunk:
            try:
                pairs.append((key, src[key]))
            except CorruptEntryError as exc:
                report.corrupt.append({"key": repr(key), "reason": exc.reason})
            except KeyError:
                continue  # deleted from the source meanwhile
        report.copied += _store(dst, pairs, report)
        bar.advance(len(chunk))


def _store(dst: Any, pairs: list[tuple[Hashable, Any]], report: CopyReport) -> int:
    """Store a batch in one update; if one value cannot be stored, store the rest one by one."""
    if not pairs:
        return 0
    try:
        dst.update(pairs)
        return len(pairs)
    except SerializationError:
        pass  # update() wrote nothing: find the bad values
    stored = 0
    for key, value in pairs:
        try:
            dst[key] = value
            stored += 1
        except SerializationError as exc:
            report.unstorable.append({"key": repr(key), "reason": str(exc)})
    return stored


def run(
    src_url: str, dst_url: str, *, batch: int, overwrite: bool, progress: bool, as_json: bool
) -> int:
    """The ``copy`` subcommand; 1 if corrupt source entries were skipped, 5 if values were."""
    report = CopyReport()
    with open_url(src_url, must_exist=True) as src, open_url(dst_url, must_exist=False) as dst:
        bar = Progress("copy", 0, Progress.wanted(progress))
        try:
            copy_entries(src, dst, batch=batch, overwrite=overwrite, bar=bar, report=report)
        except KeyboardInterrupt:
            report.interrupted = True
        finally:
            bar.close()
    data = {"src": src_url, "dst": dst_url, **report.__dict__}
    lines = [f"corrupt {row['key']}: {row['reason']}" for row in report.corrupt]
    lines += [f"cannot store {row['key']}: {row['reason']}" for row in report.unstorable]
    lines.append(
        f"{report.copied} copied, {report.skipped} already in the destination, "
        f"{len(report.corrupt)} corrupt, {len(report.unstorable)} not storable"
        + (" (interrupted: run again to resume)" if report.interrupted else "")
    )
    emit(data, as_json, "\n".join(lines))
    if report.interrupted:
        return INTERRUPTED
    if report.corrupt:
        return CORRUPT
    return FAILED if report.unstorable else OK
