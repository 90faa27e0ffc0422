"""Archives: per-item cost, dump/load, bytes on disk, and proof that a memory hit does no I/O.

For each archive type (dict, file, dir, sql and sqltable on a SQLite file, hdf,
hdfdir) klepto_core is measured beside klepto 0.2.8's same archive type and
beside diskcache.Cache (one SQLite-backed cache, the same figure on every row),
in the same run, all in a temp directory removed afterwards. Where klepto 0.2.8
costs tens of milliseconds per write (file: O(n) per write; sql: O(n), one table
per key; sqltable: a synced commit per write), and for hdfdir (O(1) but ~2 ms
a write, to stay within a minute), it writes fewer items, noted in the output:
where the per-write cost grows with n that favours klepto. A dir write is then
broken down per layout (the default record log; a sub-directory per key, klepto's
and ``layout="klepto"``) beside the bare syscalls each needs, on this disk and on
a RAM file system. Last, 10,000 memory
hits of a function decorated with a cached dir archive are run while Python's
file-system calls are counted and the kernel's read/write syscalls for this
process are read from ``/proc/self/io``: both must stay at 0.
"""

from __future__ import annotations

import builtins
import gc
import io
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

KINDS = ("dict", "file", "dir", "sql", "sqltable", "hdf", "hdfdir")
ITEMS = 2_000
#: klepto 0.2.8 writes fewer items where 2,000 would take minutes (file, sql: O(n) per write;
#: sqltable: a synced commit each) or where its O(1) but slow writes would blow the time budget
KLEPTO_ITEMS = {"file": 200, "sql": 50, "sqltable": 100, "hdfdir": 500}
KLEPTO_DUMP_ITEMS = {"sql": 50, "sqltable": 100, "hdfdir": 500}
HITS = 10_000
LOAD_ROUNDS = 5
DICT_ROUNDS = 11
CORE, KLEPTO, DISKCACHE = "klepto_core", "klepto 0.2.8", "diskcache"


@dataclass
class Figures:
    """One contender's numbers for one archive type (None: not measured)."""

    n: int = 0
    write_us: float | None = None
    read_us: float | None = None
    growth: float | None = None
    dump_n: int = 0
    dump_us: float | None = None
    load_us: float | None = None
    disk_bytes: int | None = None

    @property
    def disk_per_item(self) -> float | None:
        """Bytes allocated on disk per entry after the per-item writes."""
        return None if self.disk_bytes is None else self.disk_bytes / self.n


def _items(n: int) -> list[tuple[str, Any]]:
    """``n`` small entries: str keys, alternately an int and a short str value."""
    return [(f"k{i}", i if i % 2 else f"value {i}") for i in range(n)]


def _location(kind: str, folder: str) -> str | None:
    os.makedirs(folder)
    return {
        "dict": None,
        "file": f"{folder}/memo.pkl",
        "dir": f"{folder}/memo",
        "sql": f"sqlite:///{folder}/memo.db",
        "sqltable": f"sqlite:///{folder}/memo.db?table=memo",
        "hdf": f"{folder}/memo.hdf5",
        "hdfdir": f"{folder}/memo",
    }[kind]


def disk_usage(folder: str) -> int:
    """Bytes allocated on disk under ``folder`` (files and directories, as ``du`` counts)."""
    total = 0
    for root, dirs, files in os.walk(folder):
        for name in [*dirs, *files]:
            total += os.lstat(os.path.join(root, name)).st_blocks * 512
    return total


def _close(obj: Any) -> None:
    close = getattr(getattr(obj, "archive", obj), "close", None)
    if callable(close):
        try:
            close()
        except Exception:
            pass


def _settle() -> None:
    """Flush dirty pages first, so an earlier phase's writeback does not land in the next timing."""
    sync = getattr(os, "sync", None)
    if sync is not None:
        sync()


def _timer_overhead_ns() -> float:
    """The cost of one back-to-back ``perf_counter_ns()`` pair, subtracted from each timed call."""
    clock = time.perf_counter_ns
    samples = []
    for _ in range(1_000):
        start = clock()
        samples.append(clock() - start)
    return statistics.median(samples)


def per_item(stores: dict[str, tuple[Any, int]]) -> dict[str, tuple[float, float, float]]:
    """Per store: (us per ``store[k] = v``, us per ``store[k]``, write growth) over fresh items.

    ``stores`` maps a name to (store, item count). The stores take turns, item
    by item, so a disk or machine slowing down mid-run slows them alike; who goes
    first rotates, and the keys are hashed beforehand, so no store pays for
    touching a key first (a str caches its hash: the first to hash it pays). Growth
    is the median write of the last tenth over that of the second tenth (the
    first is warm-up): about 1 when a write costs the same however full the
    archive is, about 5 when it grows with the archive's size.
    """
    items = _items(max(n for _, n in stores.values()))
    for key, _ in items:
        hash(key)
    clock, overhead = time.perf_counter_ns, _timer_overhead_ns()
    writes: dict[str, list[float]] = {name: [] for name in stores}
    reads = dict.fromkeys(stores, 0.0)
    turns = list(stores.items())
    orders = [turns[i:] + turns[:i] for i in range(len(turns))]
    _settle()
    for i, (key, value) in enumerate(items):
        for name, (store, n) in orders[i % len(orders)]:
            if i < n:
                start = clock()
                store[key] = value
                writes[name].append(max(0.0, clock() - start - overhead))
    for i, (key, value) in enumerate(items):
        for name, (store, n) in orders[i % len(orders)]:
            if i < n:
                start = clock()
                got = store[key]
                reads[name] += max(0.0, clock() - start - overhead)
                if got != value:
                    raise AssertionError(f"{name} read back {got!r} for {key!r}, not {value!r}")
    out = {}
    for name, (_, n) in stores.items():
        tenth = max(10, n // 10)
        w = writes[name]
        growth = statistics.median(w[-tenth:]) / max(1.0, statistics.median(w[tenth : 2 * tenth]))
        out[name] = (sum(w) / n / 1e3, reads[name] / n / 1e3, growth)
    return out


def dump_load(factory: Callable[..., Any], location: str | None, n: int) -> tuple[float, float]:
    """(us per item of ``dump()``, of opening a fresh cached archive on the same place and
    ``load()`` into it): the open is counted, since an archive may read its file there."""
    items = _items(n)
    memory = factory(location, cached=True)
    for key, value in items:
        memory[key] = value
    start = time.perf_counter()
    memory.dump()
    dump_s = time.perf_counter() - start
    loads = []
    for _ in range(LOAD_ROUNDS):  # cheap next to the dump: the median of a few fresh handles
        start = time.perf_counter()
        fresh = factory(location, cached=True)
        open_s = time.perf_counter() - start
        if location is None:  # a dict archive has no place: a fresh cache on the same archive
            fresh.archive = memory.archive
        if len(fresh):
            raise AssertionError("a fresh cached archive started with entries in memory")
        start = time.perf_counter()
        fresh.load()
        loads.append(open_s + time.perf_counter() - start)
        if dict(fresh) != dict(items):
            raise AssertionError("load() did not bring back what dump() wrote")
        _close(fresh)
    _close(memory)
    return dump_s / n * 1e6, statistics.median(loads) / n * 1e6


def measure(kind: str, tmp: str, contenders: dict[str, tuple[Any, int, int]]) -> dict[str, Figures]:
    """Every figure for ``<kind>_archive`` of each contender: name -> (module, items, dump items)."""
    factories = {name: getattr(module, f"{kind}_archive") for name, (module, _, _) in contenders.items()}
    folders = {name: os.path.join(tmp, name.split()[0], "items") for name in contenders}
    stores = {
        name: (factories[name](_location(kind, folders[name]), cached=False), n)
        for name, (_, n, _) in contenders.items()
    }
    timed = per_item(stores)
    out = {}
    for name, (_, n, dump_n) in contenders.items():
        _close(stores[name][0])
        size = disk_usage(folders[name]) if kind != "dict" else None
        _settle()
        place = _location(kind, os.path.join(tmp, name.split()[0], "dump"))
        dump, load = dump_load(factories[name], place, dump_n)
        out[name] = Figures(n, *timed[name], dump_n, dump, load, size)
    return out


def measure_diskcache(tmp: str) -> Figures:
    """diskcache.Cache: per-item set/get; "dump" is one ``transact()`` batch, "load" a full scan."""
    import diskcache

    folder = os.path.join(tmp, "items")
    with diskcache.Cache(folder) as store:
        write, read, growth = per_item({DISKCACHE: (store, ITEMS)})[DISKCACHE]
    size = disk_usage(folder)
    items = _items(ITEMS)
    folder = os.path.join(tmp, "dump")
    _settle()
    with diskcache.Cache(folder) as store:
        start = time.perf_counter()
        with store.transact():
            for key, value in items:
                store[key] = value
        dump_s = time.perf_counter() - start
    with diskcache.Cache(folder) as store:
        start = time.perf_counter()
        loaded = {key: store[key] for key in store}
        load_s = time.perf_counter() - start
    if loaded != dict(items):
        raise AssertionError("diskcache lost entries")
    return Figures(ITEMS, write, read, growth, ITEMS, dump_s / ITEMS * 1e6, load_s / ITEMS * 1e6, size)


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "B/item":
        return f"{value:,.0f}"
    return f"{value:,.1f}" if value < 1000 else f"{value:,.0f}"


def _ratio(value: float | None, ref: float | None) -> str:
    return f"{value / ref:.2f}x" if value is not None and ref else "-"


def grid(
    title: str,
    results: dict[str, dict[str, Figures]],
    field: str,
    unit: str,
    note: Callable[[str, dict[str, Figures]], str] = lambda kind, row: "",
) -> None:
    """One row per archive type: each contender's ``field`` and its ratio to klepto_core's."""
    print(f"\n{title}")
    print(
        f"  {'archive':9} {CORE + ' ' + unit:>18} {KLEPTO:>14} {'/ core':>8}"
        f" {DISKCACHE:>10} {'/ core':>8}  note"
    )
    for kind, row in results.items():
        core = getattr(row[CORE], field)
        klepto = getattr(row[KLEPTO], field) if KLEPTO in row else None
        disk = getattr(row[DISKCACHE], field) if DISKCACHE in row else None
        print(
            f"  {kind:9} {_fmt(core, unit):>18} {_fmt(klepto, unit):>14} {_ratio(klepto, core):>8}"
            f" {_fmt(disk, unit):>10} {_ratio(disk, core):>8}  {note(kind, row)}"
        )


def _write_note(kind: str, row: dict[str, Figures]) -> str:
    parts = [f"growth core {row[CORE].growth:.2f}x"]
    if KLEPTO in row:
        old = row[KLEPTO]
        parts.append(f"klepto {old.growth:.2f}x" + (f" (klepto: {old.n} items)" if old.n != ITEMS else ""))
    return ", ".join(parts)


def _read_note(kind: str, row: dict[str, Figures]) -> str:
    old = row.get(KLEPTO)
    return f"klepto: {old.n} items" if old and old.n != ITEMS else ""


def _dump_note(kind: str, row: dict[str, Figures]) -> str:
    old = row.get(KLEPTO)
    return f"klepto: {old.dump_n} items" if old and old.dump_n != ITEMS else ""


def _bytes_note(kind: str, row: dict[str, Figures]) -> str:
    parts = []
    for name in (CORE, KLEPTO):
        fig = row.get(name)
        if fig is not None and fig.disk_bytes is not None:
            parts.append(f"{name.split()[0]} {fig.n:,} items: {fig.disk_bytes / 1024:,.0f} KiB")
    return "; ".join(parts)


def dict_ns(n: int = 20_000) -> dict[str, dict[str, float]]:
    """ns per ``a[k] = v`` and per ``a[k]`` of each dict_archive(cached=False), whole loops timed
    (a per-item clock costs more than the operation), the contenders taking turns."""
    import klepto_core.archives
    from benchmarks.timing import interleaved_ns

    modules = {CORE: klepto_core.archives}
    try:
        import klepto.archives

        modules[KLEPTO] = klepto.archives
    except ImportError:
        pass
    items = _items(n)
    keys = [key for key, _ in items]
    runs = {}
    for name, module in modules.items():
        full = module.dict_archive(cached=False)
        full.update(dict(items))

        fresh = iter([module.dict_archive(cached=False) for _ in range(DICT_ROUNDS + 1)])

        def write(count: int, fresh: Any = fresh) -> None:
            store = next(fresh)  # built beforehand: the loop times the writes alone
            for key, value in items[:count]:
                store[key] = value

        def read(count: int, store: Any = full) -> None:
            for key in keys[:count]:
                store[key]

        runs[f"{name} write"], runs[f"{name} read"] = write, read
    ns = interleaved_ns(runs, dict.fromkeys(runs, n), rounds=DICT_ROUNDS)
    return {name: {op: ns[f"{name} {op}"] for op in ("write", "read")} for name in modules}


def targets(results: dict[str, dict[str, Figures]]) -> None:
    """Issue 15's rows: klepto_core, klepto 0.2.8 (same run), core / klepto, the target."""
    print("\nIssue 15 targets (same run; ratio = klepto_core / klepto 0.2.8, < 1 is faster)")
    print(f"  {'row':46} {'core':>10} {'klepto':>10} {'ratio':>7} {'target':>8}")
    rows: list[tuple[str, float | None, float | None, str, float]] = []
    dicts = dict_ns()
    for op in ("write", "read"):
        old = dicts[KLEPTO][op] if KLEPTO in dicts else None
        rows.append((f"dict_archive {op} per item (loop of 20,000)", dicts[CORE][op], old, "ns", 1.0))
    file_row = results.get("file", {})
    core = file_row[CORE].load_us if CORE in file_row else None
    old = file_row[KLEPTO].load_us if KLEPTO in file_row else None
    rows.append((f"file_archive open + load() of {ITEMS:,}, per item", core, old, "us", 0.5))
    for label, core, old, unit, target in rows:
        verdict = "-" if core is None or not old else "met" if core / old <= target else "NOT met"
        print(
            f"  {label:46} {_fmt(core, unit) + ' ' + unit:>10} {_fmt(old, unit) + ' ' + unit:>10}"
            f" {_ratio(core, old):>7} {'<= ' + str(target) + 'x':>8}  {verdict}"
        )
    print(
        "  (both dict_archives run dict's own C methods for a[k] = v and a[k]: their ratio is"
        "\n   1.0 give or take this machine's noise, a few per cent from run to run)"
    )


def dir_floor_us(folder: str, n: int) -> float:
    """us per entry of the per-key layout's bare syscalls (klepto's, and ours with
    ``layout="klepto"``): mkdir, create + write a file, rename it."""
    os.makedirs(folder)
    payload = b"\x80\x04K\x01."
    start = time.perf_counter()
    for i in range(n):
        entry = os.path.join(folder, f"K_k{i}")
        os.mkdir(entry)
        temp = os.path.join(entry, ".tmp")
        with open(temp, "wb") as f:
            f.write(payload)
        os.replace(temp, os.path.join(entry, "output.pkl"))
    return (time.perf_counter() - start) / n * 1e6


def log_floor_us(folder: str, n: int) -> float:
    """us per entry of the log layout's bare syscalls (dir's default, and file's): flock the
    log, stat it (has another process appended, or compacted it?), append one record, unlock."""
    import fcntl

    os.makedirs(folder)
    path = os.path.join(folder, "memo.log")
    record = b"KCR1" + b"\x00" * 30
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        start = time.perf_counter()
        for _ in range(n):
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.stat(path)
            os.write(fd, record)
            fcntl.flock(fd, fcntl.LOCK_UN)
        return (time.perf_counter() - start) / n * 1e6
    finally:
        os.close(fd)


def _fs_type(path: str) -> str:
    """The file system ``path`` lives on, from ``/proc/mounts`` (``?`` elsewhere)."""
    best, kind = "", "?"
    try:
        with open("/proc/mounts") as mounts:
            for line in mounts:
                fields = line.split()
                point = fields[1]
                inside = path == point or path.startswith(point.rstrip("/") + "/")
                if inside and len(point) > len(best):
                    best, kind = point, fields[2]
    except OSError:
        pass
    return kind


def dir_layout(tmp: str) -> None:
    """Where a dir write's time goes, per layout: bare syscalls and archives, on this disk
    and on a RAM file system."""
    import klepto_core.archives

    try:
        import klepto.archives as old
    except ImportError:
        old = None
    places = [tempfile.mkdtemp(prefix="layout-", dir=tmp)]
    ram = "/dev/shm"
    if os.path.isdir(ram) and os.access(ram, os.W_OK):
        places.append(tempfile.mkdtemp(prefix="klepto-bench-archives-", dir=ram))
    per_key = f"{CORE} klepto"
    rows = []
    try:
        for place in places:
            dir_archive = klepto_core.archives.dir_archive
            stores = {
                CORE: (dir_archive(f"{place}/core", cached=False), ITEMS),
                per_key: (dir_archive(f"{place}/perkey", cached=False, layout="klepto"), ITEMS),
            }
            if old is not None:
                stores[KLEPTO] = (old.dir_archive(f"{place}/old", cached=False), ITEMS)
            timed = per_item(stores)
            for store, _n in stores.values():
                _close(store)
            floors = (log_floor_us(f"{place}/logfloor", ITEMS), dir_floor_us(f"{place}/floor", ITEMS))
            rows.append((place, floors, {name: timed[name][0] for name in stores}))
    finally:
        for place in places[1:]:
            shutil.rmtree(place, ignore_errors=True)
    print(
        "\nWhere a dir write's time goes (us per item). Layouts: the log (the default: flock +"
        "\n stat + one append + unlock) and a sub-directory per key (klepto's, and layout="
        "\n'klepto': mkdir + write a file + rename); bare = those syscalls alone"
    )
    print(
        f"  {'temp dir on':26} {'log bare':>9} {CORE:>12} {'per-key bare':>13}"
        f" {'layout=klepto':>14} {KLEPTO:>13} {'/ core':>7}"
    )
    for place, (log_floor, entry_floor), row in rows:
        core, old_us = row[CORE], row.get(KLEPTO)
        label = f"{os.path.dirname(place)} ({_fs_type(place)})"
        print(
            f"  {label:26} {_fmt(log_floor, 'us'):>9} {_fmt(core, 'us'):>12}"
            f" {_fmt(entry_floor, 'us'):>13} {_fmt(row[per_key], 'us'):>14}"
            f" {_fmt(old_us, 'us'):>13} {_ratio(old_us, core):>7}"
        )


# -- a memory hit does no disk I/O ----------------------------------------------------------

_OS_CALLS = (
    "open", "stat", "lstat", "fstat", "scandir", "listdir", "mkdir", "makedirs", "replace",
    "rename", "remove", "unlink", "rmdir", "fsync", "access", "read", "write", "pread", "pwrite",
)


def _proc_io() -> dict[str, int] | None:
    """The kernel's I/O counters for this process (Linux ``/proc/self/io``), else None."""
    try:
        fd = os.open("/proc/self/io", os.O_RDONLY)
    except OSError:
        return None
    try:
        text = os.read(fd, 4096).decode()
    finally:
        os.close(fd)
    return {k: int(v) for k, v in (line.split(": ") for line in text.splitlines())}


@contextmanager
def counting_fs_calls() -> Iterator[dict[str, int]]:
    """Count Python-level file-system calls (open, os.stat, os.mkdir, ...) made inside the block."""
    counts: dict[str, int] = {}
    saved: list[tuple[Any, str, Any]] = []

    def wrap(owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        def counted(*args: Any, **kwds: Any) -> Any:
            counts[label] = counts.get(label, 0) + 1
            return original(*args, **kwds)

        saved.append((owner, name, original))
        setattr(owner, name, counted)

    wrap(builtins, "open", "open")
    wrap(io, "open", "open")
    for name in _OS_CALLS:
        if hasattr(os, name):
            wrap(os, name, f"os.{name}")
    try:
        yield counts
    finally:
        for owner, name, original in reversed(saved):
            setattr(owner, name, original)


def _syscalls(run: Callable[[], None]) -> tuple[int, int | None]:
    """(Python file-system calls, kernel read+write syscalls beyond reading the counters) of ``run``."""
    idle_before = _proc_io()
    idle_after = _proc_io()
    before = _proc_io()
    with counting_fs_calls() as counts:
        run()
    after = _proc_io()
    if idle_before is None or idle_after is None or before is None or after is None:
        return sum(counts.values()), None

    def rw(a: dict[str, int], b: dict[str, int]) -> int:
        return b["syscr"] - a["syscr"] + b["syscw"] - a["syscw"]

    return sum(counts.values()), rw(before, after) - rw(idle_before, idle_after)


def hits_do_no_io(module: Any, decorator: Any, tmp: str) -> tuple[int, int | None, int, int | None]:
    """(fs calls, syscalls) in ``HITS`` memory hits, then the same for a miss + ``dump()``."""
    archive = module.dir_archive(os.path.join(tmp, "memo"), cached=True)

    @decorator(cache=archive)
    def square(x: int) -> int:
        return x * x

    keys = list(range(50))
    for x in keys * 3:  # warm: compute, then hit each key
        square(x)

    def hits() -> None:
        for i in range(HITS):
            square(keys[i % 50])

    # finalizers of earlier benchmarks' objects (closing their files) must not run mid-count
    gc.collect()
    gc.disable()
    try:
        calls, syscalls = _syscalls(hits)
    finally:
        gc.enable()

    def miss_and_dump() -> None:
        square(-1)
        square.dump()

    control_calls, control_syscalls = _syscalls(miss_and_dump)
    if square(7) != 49:
        raise AssertionError("the decorated function returned a wrong value")
    return calls, syscalls, control_calls, control_syscalls


def io_section(tmp: str) -> None:
    """Print the file-system calls and syscalls made by 10,000 hits of a dir-archived function."""
    import klepto_core
    import klepto_core.archives

    contenders = [(CORE, klepto_core.archives, klepto_core.lru_cache)]
    try:
        import klepto
        import klepto.archives

        contenders.append((KLEPTO, klepto.archives, klepto.lru_cache))
    except ImportError:
        pass
    print(f"\nA decorated call that hits in memory: lru_cache(cache=dir_archive(tmp, cached=True)), {HITS:,} hits")
    print(f"  {'':13} {'fs calls':>9} {'r/w syscalls':>13}   control (1 miss + dump()): fs calls, syscalls")
    for i, (name, module, decorator) in enumerate(contenders):
        calls, syscalls, c_calls, c_syscalls = hits_do_no_io(module, decorator, os.path.join(tmp, str(i)))
        shown = "n/a" if syscalls is None else str(syscalls)
        verdict = "OK" if calls == 0 and not syscalls else "FAILED"
        verdict += ", instruments see I/O" if c_calls and (c_syscalls is None or c_syscalls > 0) else ""
        print(f"  {name:13} {calls:9d} {shown:>13}   {c_calls}, {c_syscalls}  (must be 0: {verdict})")


def main() -> None:
    """Measure every archive type for klepto_core, klepto 0.2.8 and diskcache; print ratios."""
    import klepto_core.archives

    try:
        import klepto.archives as old
    except ImportError:
        old = None
    tmp = tempfile.mkdtemp(prefix="klepto-bench-archives-")
    started = time.perf_counter()
    try:
        shared: Figures | None = None
        try:
            shared = measure_diskcache(os.path.join(tmp, "diskcache"))
        except ImportError:
            pass
        results: dict[str, dict[str, Figures]] = {}
        for kind in KINDS:
            contenders = {CORE: (klepto_core.archives, ITEMS, ITEMS)}
            if old is not None:
                n, dump_n = KLEPTO_ITEMS.get(kind, ITEMS), KLEPTO_DUMP_ITEMS.get(kind, ITEMS)
                contenders[KLEPTO] = (old, n, dump_n)
            row = measure(kind, os.path.join(tmp, kind), contenders)
            if shared is not None:
                row[DISKCACHE] = shared
            results[kind] = row
            shutil.rmtree(os.path.join(tmp, kind), ignore_errors=True)  # keep the disk small
        print(f"\n({ITEMS:,} small values, str keys; sql and sqltable on a SQLite file; diskcache is one")
        print(" diskcache.Cache, the same figure on each row; '/ core' > 1 means klepto_core is faster;")
        print(" growth: median write of the last tenth / of the second tenth, ~1 when O(1) per write)")
        grid("Write, cached=False: a[k] = v (us per item)", results, "write_us", "us", _write_note)
        grid("Read, cached=False: a[k] (us per item)", results, "read_us", "us", _read_note)
        grid(
            "dump() of a cached archive with memory full (us per item; diskcache: one transact())",
            results, "dump_us", "us", _dump_note,
        )
        grid(
            "Open a fresh cached archive + load() (us per item; diskcache: iterate and get)",
            results, "load_us", "us", _dump_note,
        )
        grid(
            "On disk after the per-item writes (bytes allocated per item, as du counts)",
            results, "disk_per_item", "B/item", _bytes_note,
        )
        targets(results)
        dir_layout(tmp)
        io_section(os.path.join(tmp, "io"))
        print(f"\n(bench_archives took {time.perf_counter() - started:.1f} s)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
