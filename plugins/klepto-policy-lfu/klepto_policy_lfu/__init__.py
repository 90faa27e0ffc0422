"""Least-frequently-used eviction: the entries used least often leave first, several at once.

Like klepto's ``lfu_cache``, every hit, load or miss adds one to a key's use
count, and an overflow evicts the ``max(2, maxsize // 10)`` keys with the lowest
counts; ties go to the key that entered the count bookkeeping earliest (a key
that comes back after eviction counts as new).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from itertools import count
from operator import itemgetter
from typing import Any

from klepto_core.plugin import PluginSpec, Policy, hookimpl, untracked


class _Bucket:
    """All keys sharing one use count, in a doubly linked list ordered by count.

    ``keys`` maps each key to its admission number. Keys usually arrive in
    admission order (always so for count 1); ``ordered`` turns False when one
    does not, and the bucket is re-sorted once before eviction reads it.
    """

    __slots__ = ("count", "keys", "last", "next", "ordered", "prev")

    def __init__(self, uses: int, prev: _Bucket | None) -> None:
        self.count = uses
        self.keys: OrderedDict[Hashable, int] = OrderedDict()
        self.ordered = True
        self.last = -1
        self.prev = prev
        self.next: _Bucket | None = None
        if prev is not None:
            self.next = prev.next
            prev.next = self
            if self.next is not None:
                self.next.prev = self

    def unlink(self) -> None:
        assert self.prev is not None
        self.prev.next = self.next
        if self.next is not None:
            self.next.prev = self.prev

    def sort(self) -> None:
        items = sorted(self.keys.items(), key=itemgetter(1))
        self.keys = OrderedDict(items)
        self.last = items[-1][1] if items else -1
        self.ordered = True


class LFUPolicy(Policy):
    """Evict the ``max(2, maxsize // 10)`` least used keys, oldest first among equal counts.

    Counts live in frequency buckets (the classic O(1) LFU layout): a use moves
    a key to the next bucket, an eviction reads keys from the lowest buckets, so
    it costs O(victims) plus, rarely, one sort of a bucket whose keys arrived out
    of admission order. Hits arrive without the decorator's lock, so the
    bookkeeping has its own.
    """

    def __init__(self, maxsize: int | None) -> None:
        super().__init__(maxsize)
        self._lock = threading.Lock()
        self._head = _Bucket(0, None)  # sentinel: head.next is the lowest count
        self._where: dict[Hashable, _Bucket] = {}
        self._seq = count()
        self.on_hit = self._use

    def _use(self, key: Hashable) -> None:
        with self._lock:
            bucket = self._where.get(key)
            if bucket is None:
                first = self._head.next
                if first is None or first.count != 1:
                    first = _Bucket(1, self._head)
                seq = next(self._seq)
                first.keys[key] = seq
                first.last = seq  # the newest admission: count-1 buckets stay ordered
                self._where[key] = first
                return
            seq = bucket.keys.pop(key)
            target = bucket.next
            if target is None or target.count != bucket.count + 1:
                target = _Bucket(bucket.count + 1, bucket)
            if seq < target.last:
                target.ordered = False
            else:
                target.last = seq
            target.keys[key] = seq
            self._where[key] = target
            if not bucket.keys:
                bucket.unlink()

    def admitted(self, key: Hashable) -> None:
        self._use(key)

    def victims(self, memory: Mapping[Hashable, Any], new_key: Hashable) -> list[Hashable]:
        maxsize = self.maxsize or 0
        excess = len(memory) - maxsize
        if excess <= 0:
            return []
        total = min(len(memory), max(excess, 2, maxsize // 10))
        with self._lock:
            where = self._where
            out: list[Hashable] = []
            for key in untracked(memory, where):
                if len(out) >= total:
                    return out
                out.append(key)
            bucket = self._head.next
            while bucket is not None and len(out) < total:
                if not bucket.ordered:
                    bucket.sort()
                keys = bucket.keys
                while keys and len(out) < total:
                    key, _ = keys.popitem(last=False)
                    del where[key]
                    if key in memory:  # a key removed behind our back is only forgotten
                        out.append(key)
                following = bucket.next
                if not keys:
                    bucket.unlink()
                bucket = following
        if len(out) < excess:  # memory holds keys our bookkeeping lost track of
            chosen = set(out)
            out.extend(k for k in list(memory) if k not in chosen)
            del out[excess:]
        return out

    def forget(self, key: Hashable) -> None:
        with self._lock:
            bucket = self._where.pop(key, None)
            if bucket is not None:
                del bucket.keys[key]
                if not bucket.keys:
                    bucket.unlink()

    def clear(self) -> None:
        with self._lock:
            self._head.next = None
            self._where.clear()


@hookimpl
def klepto_core_policy() -> PluginSpec:
    """Register the ``lfu`` policy."""
    return PluginSpec(
        name="lfu",
        factory=LFUPolicy,
        description="least frequently used entries are evicted first, a tenth of the cache at once",
    )
