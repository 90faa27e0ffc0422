"""The serializer base type: values (and keys) to bytes and back.

Archives store through a serializer chosen by name (``"dill"``, ``"pickle"``,
``"json"``, ...) or passed as an object. A serializer says whether it can
round-trip arbitrary Python objects, so an archive can refuse a value before
anything on disk changes instead of storing something it cannot read back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from klepto_core.errors import SerializationError
from klepto_core.registry import REGISTRY, defaults


class Serializer:
    """Turn objects into bytes and back; subclasses implement ``_dumps`` and ``_loads``.

    ``name`` is the registered name; ``roundtrips_any`` is True when any
    picklable object survives ``loads(dumps(obj))`` (dill, pickle) and False
    for formats limited to some types (json).
    """

    name: ClassVar[str] = ""
    roundtrips_any: ClassVar[bool] = True

    def __init__(self, protocol: Any = None, **options: Any) -> None:
        self.protocol = protocol
        self.options = options

    def dumps(self, obj: Any) -> bytes:
        """``obj`` as bytes; SerializationError (nothing written) if it cannot be serialized."""
        return self.dumps_with(lambda: self._dumps(obj), obj)

    def dumps_with(self, make: Any, obj: Any) -> bytes:
        """``make()``, its errors reported as :meth:`dumps` reports them (for dumps variants)."""
        try:
            return make()  # type: ignore[no-any-return]
        except SerializationError:
            raise
        except RecursionError as exc:
            raise SerializationError(
                f"{self.name} serializer: {type(obj).__name__} value nests too deeply to serialize"
            ) from exc
        except Exception as exc:
            raise SerializationError(
                f"{self.name} serializer cannot serialize a {type(obj).__name__} value: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    def loads(self, data: bytes) -> Any:
        """The object stored in ``data``; raises the format's own error if the bytes are bad."""
        return self._loads(data)

    def dumps_key(self, key: Any) -> bytes:
        """``key`` as bytes for archives that store keys; formats losing tuples override this."""
        return self.dumps(key)

    def loads_key(self, data: bytes) -> Any:
        """The key stored in ``data`` by :meth:`dumps_key`."""
        return self.loads(data)

    def loads_many(self, datas: Sequence[bytes]) -> list[Any]:
        """The objects stored in each of ``datas``, in order: :meth:`loads` in bulk.

        Archives reading many entries at once (a ``load()``) call this; a format
        with a cheaper bulk path overrides it. A bad item raises as in :meth:`loads`.
        """
        loads = self.loads
        return [loads(data) for data in datas]

    def loads_keys(self, datas: Sequence[bytes]) -> list[Any]:
        """The keys stored in each of ``datas`` by :meth:`dumps_key`: :meth:`loads_key` in bulk."""
        if type(self).loads_key is Serializer.loads_key:  # keys are values: the bulk path
            return self.loads_many(datas)
        loads_key = self.loads_key
        return [loads_key(data) for data in datas]

    def dumps_buffers(self, obj: Any, min_size: int) -> tuple[bytes, list[Any]] | None:
        """``obj`` as a pickle stream plus its buffers of ``min_size`` bytes or more, kept
        out of band (protocol 5 ``PickleBuffer`` objects, not copied); None when this
        serializer has no out-of-band buffers (the default) or ``obj`` has no such buffer."""
        return None

    def loads_buffers(self, data: bytes, buffers: list[Any]) -> Any:
        """The object of :meth:`dumps_buffers`'s stream, given its buffers in order."""
        raise NotImplementedError(f"the {self.name} serializer has no out-of-band buffers")

    def _dumps(self, obj: Any) -> bytes:
        raise NotImplementedError

    def _loads(self, data: bytes) -> Any:
        raise NotImplementedError

    def __repr__(self) -> str:
        extra = f"protocol={self.protocol!r}" if self.protocol is not None else ""
        return f"{type(self).__name__}({extra})"

    def __eq__(self, other: object) -> bool:
        return (
            type(self) is type(other)
            and self.protocol == getattr(other, "protocol", None)
            and self.options == getattr(other, "options", None)
        )

    def __hash__(self) -> int:
        return hash((type(self), repr(self.protocol)))


def get_serializer(serializer: Any = None, protocol: Any = None) -> Serializer:
    """A serializer from a name, an object or None (the default), honouring klepto's ``protocol``.

    klepto chose json when ``protocol`` was a string; that rule is kept here.
    """
    if isinstance(serializer, Serializer):
        return serializer
    if serializer is None:
        if isinstance(protocol, str):
            return REGISTRY.resolve("serializer", defaults.TEXT_SERIALIZER).factory()  # type: ignore[no-any-return]
        serializer = defaults.SERIALIZER
    if isinstance(serializer, str):
        return REGISTRY.resolve("serializer", serializer).factory(protocol=protocol)  # type: ignore[no-any-return]
    raise TypeError(f"serializer must be a name or a Serializer, got {serializer!r}")
