"""jsonpickle: objects as human-readable JSON with type tags."""

from __future__ import annotations

from typing import Any, ClassVar

from klepto_core.plugin import PluginSpec, Serializer, hookimpl


class JsonpickleSerializer(Serializer):
    """Values as jsonpickle text (UTF-8); non-str dict keys are kept (``keys=True``).

    ``roundtrips_any`` is False: jsonpickle encodes some objects (lambdas,
    open files) into JSON it cannot decode back.
    """

    name: ClassVar[str] = "jsonpickle"
    roundtrips_any: ClassVar[bool] = False

    def _dumps(self, obj: Any) -> bytes:
        import jsonpickle  # heavy: imported on first use only

        return jsonpickle.encode(obj, keys=True).encode("utf-8")  # type: ignore[no-any-return]

    def _loads(self, data: bytes) -> Any:
        import jsonpickle

        text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
        return jsonpickle.decode(text, keys=True)


@hookimpl
def klepto_core_serializer() -> PluginSpec:
    """Register the ``jsonpickle`` serializer."""
    return PluginSpec(
        name="jsonpickle",
        factory=JsonpickleSerializer,
        description="jsonpickle: readable JSON with type tags",
    )
