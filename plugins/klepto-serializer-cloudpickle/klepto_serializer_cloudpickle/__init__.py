"""cloudpickle: pickles functions and classes by value, readable by plain pickle."""

from __future__ import annotations

import pickle
from typing import Any, ClassVar

from klepto_core.plugin import PluginSpec, Serializer, hookimpl


class CloudpickleSerializer(Serializer):
    """Values as cloudpickle pickles (loaded with the stdlib's ``pickle.loads``)."""

    name: ClassVar[str] = "cloudpickle"

    def _dumps(self, obj: Any) -> bytes:
        import cloudpickle  # heavy: imported on first use only

        protocol = self.protocol if isinstance(self.protocol, int) else None
        return cloudpickle.dumps(obj, protocol=protocol)  # type: ignore[no-any-return]

    def _loads(self, data: bytes) -> Any:
        return pickle.loads(data)


@hookimpl
def klepto_core_serializer() -> PluginSpec:
    """Register the ``cloudpickle`` serializer."""
    return PluginSpec(
        name="cloudpickle",
        factory=CloudpickleSerializer,
        description="cloudpickle: functions and classes pickled by value",
    )
