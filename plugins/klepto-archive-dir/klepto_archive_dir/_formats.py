"""Entry file formats of dir_archive, ours and klepto's: names, zlib frames, fast pickles, source.

klepto named an entry ``K_<str(key) with '-' -> '_'>`` (a pickled-bytes key:
the md5 of its repr) and, in ``fast`` mode, pickled numpy arrays to side files
through wrapper objects of its own module. Those wrappers are mapped to a local
stand-in here so klepto's entries read without importing klepto.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import zlib
from collections.abc import Hashable
from typing import Any

from klepto_core.storage.pysource import source_namespace

ZPREFIX = b"ZF"
_ZLEN = 19  # klepto's zlib frame: b"ZF" + hex length left-justified to 19 bytes


def zcompress(data: bytes, level: int) -> bytes:
    """klepto's zlib frame around ``data``."""
    return ZPREFIX + hex(len(data)).encode("ascii").ljust(_ZLEN) + zlib.compress(data, level)


def zdecompress(data: bytes) -> bytes:
    """The bytes inside a zlib frame."""
    length = int(data[len(ZPREFIX) : len(ZPREFIX) + _ZLEN].decode("ascii").strip(), 16)
    out = zlib.decompress(data[len(ZPREFIX) + _ZLEN :], 15, length)
    if len(out) != length:
        raise ValueError(f"zlib frame holds {len(out)} bytes, its header says {length}")
    return out


def klepto_name(key: Hashable) -> str | None:
    """The directory klepto 0.2.8 used for ``key`` (None if it nested directories)."""
    if isinstance(key, bytes) and key.startswith(b"\x80") and key.endswith(b"."):
        fname = hashlib.md5(repr(key).encode()).hexdigest()
    else:
        fname = str(key).replace("-", "_")
    if os.sep in fname or (os.altsep and os.altsep in fname):
        return None
    return "K_" + fname


class _ArrayOnDisk:
    """Stands in for klepto's ``NDArrayWrapper``: the name of a side ``.npy`` file."""

    filename: str = ""

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


class _KleptoFastUnpickler(pickle._Unpickler):  # type: ignore[name-defined,misc]
    """Unpickle klepto's ``fast`` entries: wrappers become the arrays in their side files."""

    dispatch = pickle._Unpickler.dispatch.copy()  # type: ignore[attr-defined]

    def __init__(self, data: bytes, directory: str, mmap_mode: str | None) -> None:
        super().__init__(io.BytesIO(data))
        self._directory = directory
        self._mmap_mode = mmap_mode

    def find_class(self, module: str, name: str) -> Any:
        if module == "klepto._pickle" and name in ("NDArrayWrapper", "ZNDArrayWrapper"):
            return _ArrayOnDisk
        return super().find_class(module, name)

    def load_build(self) -> None:
        super().load_build()  # type: ignore[misc]
        top = self.stack[-1]  # type: ignore[attr-defined]
        if isinstance(top, _ArrayOnDisk):
            import numpy

            path = os.path.join(self._directory, top.filename)
            if top.filename.endswith(".z"):
                raise ValueError(f"klepto's compressed side array {top.filename} is not supported")
            mode: Any = self._mmap_mode
            self.stack[-1] = numpy.load(path, mmap_mode=mode, allow_pickle=False)  # type: ignore[attr-defined]

    dispatch[pickle.BUILD[0]] = load_build  # type: ignore[assignment]


def is_klepto_fast(data: bytes) -> bool:
    return b"klepto._pickle" in data


def load_klepto_fast(data: bytes, directory: str, mmap_mode: str | None) -> Any:
    """A value klepto wrote with ``fast=True`` (numpy side files are read from ``directory``)."""
    return _KleptoFastUnpickler(data, directory, mmap_mode).load()


def load_source(text: str, path: str) -> Any:
    """The ``memo`` that klepto's (and our) ``serialized=False`` source defines."""
    import ast

    head, sep, expr = text.partition("=")
    if sep and head.strip() == "memo" and "\n" not in expr.strip():
        try:
            return ast.literal_eval(expr.strip())
        except (ValueError, SyntaxError):
            pass
    namespace: dict[str, Any] = source_namespace()
    exec(compile(text, path, "exec"), namespace)  # the archive the user named, like unpickling
    return namespace["memo"]


def hashable(obj: Any) -> Any:
    """A key read from JSON: lists become tuples so it can be a key again."""
    if isinstance(obj, list):
        return tuple(hashable(x) for x in obj)
    return obj
