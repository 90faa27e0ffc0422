"""Least-frequently-used eviction: the entries used least often leave first, several at once.

Like klepto's ``lfu_cache``, every hit, load or miss adds one to a key's use
count, and an overflow evicts the ``max(2, maxsize // 10)`` keys with the lowest
counts; ties go to the key that entered the count bookkeeping earliest (a key
that comes back after eviction counts as new).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Hashable, Mapping
from itertools import count, islice
from operator import itemgetter
from typing import Any

from klepto_core.plugin import PluginSpec, Policy, hookimpl, untracked

_BATCH = 256  # pending hits that make a hit apply them (bounds the buffer)
_COALESCE = 32  # from this many pending hits on, repeats of a key are applied as one
_SPARES = 16  # emptied buckets kept for reuse, so applying a hit rarely builds one


class _Bucket:
    """All keys sharing one use count, a node of a doubly linked list ordered by count.

    ``keys`` maps each key to its admission number (a plain dict: inserting and
    popping a key allocates nothing). Keys usually arrive in admission order
    (always so for count 1); ``ordered`` turns False when one does not, and the
    bucket is re-sorted once before eviction reads it.
    """

    __slots__ = ("count", "keys", "last", "next", "ordered", "prev")

    def __init__(self) -> None:
        self.count = 0
        self.keys: dict[Hashable, int] = {}
        self.ordered = True
        self.last = -1
        self.prev: _Bucket | None = None
        self.next: _Bucket | None = None

    def sort(self) -> None:
        items = sorted(self.keys.items(), key=itemgetter(1))
        self.keys = dict(items)
        self.last = items[-1][1] if items else -1
        self.ordered = True


class LFUPolicy(Policy):
    """Evict the ``max(2, maxsize // 10)`` least used keys, oldest first among equal counts.

    Counts live in frequency buckets (the classic O(1) LFU layout): a use moves
    a key up the bucket list, an eviction reads keys from the lowest buckets, so
    it costs O(victims) plus, rarely, one sort of a bucket whose keys arrived out
    of admission order.

    Hits arrive without the decorator's lock (it serialises only admissions and
    evictions), so a hit does not touch the buckets: it appends the key to a
    pending list (one atomic C call) and, once ``_BATCH`` hits are pending and
    the policy's lock is free, applies them in one go, a key hit n times as one
    move of n counts. Every other operation takes the lock and applies pending
    hits first, so what it sees is what applying each hit at once would give:
    the same counts, the same admission order, the same victims.
    """

    def __init__(self, maxsize: int | None) -> None:
        super().__init__(maxsize)
        self._lock = threading.Lock()
        self._head = _Bucket()  # sentinel: head.next is the lowest count
        self._where: dict[Hashable, _Bucket] = {}
        self._seq = count()
        self._spare: list[_Bucket] = []
        self._pending: list[Hashable] = []
        self.on_hit = self._hit_function()

    def _hit_function(self) -> Callable[[Hashable], None]:
        # a closure over locals, so a hit reads no attribute of self
        pending, acquire, release = self._pending, self._lock.acquire, self._lock.release
        append, drain = pending.append, self._drain

        def hit(key: Hashable) -> None:
            append(key)
            if len(pending) >= _BATCH and acquire(False):  # busy: its holder drains them
                try:
                    drain()
                finally:
                    release()

        return hit

    def _drain(self) -> None:
        """Apply the pending hits, oldest first (the lock is held)."""
        pending = self._pending
        n = len(pending)
        if not n:
            return
        # hits keep appending behind the first n while they are copied out and cut off
        hits = pending[:n]
        del pending[:n]
        bump = self._bump
        if n < _COALESCE:
            for key in hits:
                bump(key, 1)
        else:
            # a Counter keeps first-hit order, so keys new to the bookkeeping are numbered as
            # they would have been one hit at a time
            for key, times in Counter(hits).items():
                bump(key, times)

    def _bump(self, key: Hashable, times: int) -> None:
        """Add ``times`` uses to ``key``; a key not tracked yet is admitted with that count."""
        where = self._where
        bucket = where.get(key)
        if bucket is None:  # a hit on an entry the policy never saw (pre-filled, loaded)
            node, uses, keys = self._head, times, None
        else:
            node, uses, keys = bucket, bucket.count + times, bucket.keys
        following = node.next
        while following is not None and following.count <= uses:
            node, following = following, following.next
        if node.count == uses and node is not self._head:
            target = node
        elif node is bucket and len(bucket.keys) == 1:
            bucket.count = uses  # alone in its bucket: renumber it in place
            return
        else:
            target = self._after(node, uses)
        seq = next(self._seq) if keys is None else keys.pop(key)
        if seq < target.last:
            target.ordered = False
        else:
            target.last = seq
        target.keys[key] = seq
        where[key] = target
        if keys is not None and not keys:
            self._unlink(bucket)  # type: ignore[arg-type]

    def _after(self, bucket: _Bucket, uses: int) -> _Bucket:
        """An empty bucket for count ``uses``, linked right after ``bucket``."""
        new = self._spare.pop() if self._spare else _Bucket()
        new.count = uses
        new.ordered = True
        new.last = -1
        new.prev = bucket
        new.next = following = bucket.next
        bucket.next = new
        if following is not None:
            following.prev = new
        return new

    def _unlink(self, bucket: _Bucket) -> None:
        """Take an emptied bucket out of the list, keeping it for reuse."""
        before, following = bucket.prev, bucket.next
        assert before is not None
        before.next = following
        if following is not None:
            following.prev = before
        bucket.prev = bucket.next = None
        if len(self._spare) < _SPARES:
            self._spare.append(bucket)

    def admitted(self, key: Hashable) -> None:
        with self._lock:
            self._drain()
            self._bump(key, 1)  # a key tracked already (it left memory behind our back) counts on

    def victims(self, memory: Mapping[Hashable, Any], new_key: Hashable) -> list[Hashable]:
        maxsize = self.maxsize or 0
        excess = len(memory) - maxsize
        if excess <= 0:
            return []
        total = min(len(memory), max(excess, 2, maxsize // 10))
        with self._lock:
            self._drain()
            out = self._lowest(memory, total)
        if len(out) < excess:  # memory holds keys our bookkeeping lost track of
            chosen = set(out)
            out.extend(k for k in list(memory) if k not in chosen)
            del out[excess:]
        return out

    def _lowest(self, memory: Mapping[Hashable, Any], total: int) -> list[Hashable]:
        """Forget and return up to ``total`` keys: untracked ones, then the least used."""
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
                for key in list(islice(keys, total - len(out))):  # the oldest first
                    del keys[key]
                    del where[key]
                    if key in memory:  # a key removed behind our back is only forgotten
                        out.append(key)
            following = bucket.next
            if not keys:
                self._unlink(bucket)
            bucket = following
        return out

    def counts(self) -> dict[Hashable, int]:
        """Each tracked key's use count, in eviction order (least used, then oldest, first)."""
        with self._lock:
            self._drain()
            out: dict[Hashable, int] = {}
            bucket = self._head.next
            while bucket is not None:
                for key, _ in sorted(bucket.keys.items(), key=itemgetter(1)):
                    out[key] = bucket.count
                bucket = bucket.next
            return out

    def forget(self, key: Hashable) -> None:
        with self._lock:
            self._drain()
            bucket = self._where.pop(key, None)
            if bucket is not None:
                del bucket.keys[key]
                if not bucket.keys:
                    self._unlink(bucket)

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()  # hits before the clear count for nothing after it
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
