"""The standard library's pickle: fast, no extra dependency, cannot store lambdas."""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from typing import Any, ClassVar

from klepto_core.plugin import PluginSpec, Serializer, hookimpl


class PickleSerializer(Serializer):
    """Values as stdlib pickles; ``protocol`` None means pickle's default protocol."""

    name: ClassVar[str] = "pickle"

    def _dumps(self, obj: Any) -> bytes:
        protocol = self.protocol if isinstance(self.protocol, int) else pickle.DEFAULT_PROTOCOL
        return pickle.dumps(obj, protocol=protocol)

    def _loads(self, data: bytes) -> Any:
        return pickle.loads(data)

    def loads_many(self, datas: Sequence[bytes]) -> list[Any]:
        return list(map(pickle.loads, datas))  # the C unpickler, called from C

    def dumps_buffers(self, obj: Any, min_size: int) -> tuple[bytes, list[Any]] | None:
        """Protocol 5 with buffers of ``min_size`` bytes or more out of band (not copied)."""
        if isinstance(self.protocol, int) and self.protocol < 5:
            return None
        buffers: list[pickle.PickleBuffer] = []

        def keep(buffer: pickle.PickleBuffer) -> bool:
            if buffer.raw().nbytes < min_size:
                return True  # small: inside the stream
            buffers.append(buffer)
            return False

        stream = self.dumps_with(lambda: pickle.dumps(obj, protocol=5, buffer_callback=keep), obj)
        return (stream, buffers) if buffers else None

    def loads_buffers(self, data: bytes, buffers: list[Any]) -> Any:
        return pickle.loads(data, buffers=buffers)


@hookimpl
def klepto_core_serializer() -> PluginSpec:
    """Register the ``pickle`` serializer."""
    return PluginSpec(
        name="pickle",
        factory=PickleSerializer,
        description="the standard library's pickle (no lambdas, no interactively defined classes)",
    )
