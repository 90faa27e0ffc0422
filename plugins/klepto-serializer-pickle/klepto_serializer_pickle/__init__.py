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


@hookimpl
def klepto_core_serializer() -> PluginSpec:
    """Register the ``pickle`` serializer."""
    return PluginSpec(
        name="pickle",
        factory=PickleSerializer,
        description="the standard library's pickle (no lambdas, no interactively defined classes)",
    )
