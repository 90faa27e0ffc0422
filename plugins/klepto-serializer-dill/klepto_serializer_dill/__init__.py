"""dill: pickle extended to lambdas, closures and interactive classes (klepto's default)."""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from typing import Any, ClassVar

from klepto_core.plugin import PluginSpec, Serializer, hookimpl


class DillSerializer(Serializer):
    """Values as dill pickles; ``protocol`` None means dill's default (as klepto).

    Plain data goes through the C pickler first (dill's pure-Python pickler is
    several times slower); dill takes over for anything pickle refuses or can
    only name by reference to ``__main__`` (which another process lacks), so
    the result is what dill would store, readable by ``dill.loads``.
    """

    name: ClassVar[str] = "dill"

    def _dumps(self, obj: Any) -> bytes:
        import dill  # imported on first use so listing plugins stays cheap

        protocol = self.protocol if isinstance(self.protocol, int) else dill.DEFAULT_PROTOCOL
        try:
            data = pickle.dumps(obj, protocol=protocol)
        except Exception:
            pass
        else:
            if b"__main__" not in data:
                return data
        return dill.dumps(obj, protocol=protocol)  # type: ignore[no-any-return]

    def dumps_buffers(self, obj: Any, min_size: int) -> tuple[bytes, list[Any]] | None:
        """Protocol 5 with buffers of ``min_size`` bytes or more out of band (not copied)."""
        if isinstance(self.protocol, int) and self.protocol < 5:
            return None
        buffers: list[pickle.PickleBuffer] = []

        def keep(buffer: pickle.PickleBuffer) -> bool:
            if buffer.raw().nbytes < min_size:
                return True
            buffers.append(buffer)
            return False

        def make() -> bytes:
            try:
                data = pickle.dumps(obj, protocol=5, buffer_callback=keep)
            except Exception:
                pass
            else:
                if b"__main__" not in data:
                    return data
            import dill

            buffers.clear()
            return dill.dumps(obj, protocol=5, buffer_callback=keep)  # type: ignore[no-any-return]

        stream = self.dumps_with(make, obj)
        return (stream, buffers) if buffers else None

    def loads_buffers(self, data: bytes, buffers: list[Any]) -> Any:
        try:
            return pickle.loads(data, buffers=buffers)
        except Exception:
            import dill

            return dill.loads(data, buffers=buffers)

    def _loads(self, data: bytes) -> Any:
        try:  # the C unpickler reads dill's pickles too (it imports dill's helpers by name)
            return pickle.loads(data)
        except Exception:
            import dill

            return dill.loads(data)

    def loads_many(self, datas: Sequence[bytes]) -> list[Any]:
        try:  # the C unpickler called from C; dill only if one of them needs it
            return list(map(pickle.loads, datas))
        except Exception:
            return [self._loads(data) for data in datas]


@hookimpl
def klepto_core_serializer() -> PluginSpec:
    """Register the ``dill`` serializer."""
    return PluginSpec(
        name="dill",
        factory=DillSerializer,
        description="dill pickles: lambdas, closures, interactive classes (klepto's format)",
    )
