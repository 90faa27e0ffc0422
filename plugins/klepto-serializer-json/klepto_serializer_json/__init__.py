"""JSON: readable and portable, limited to JSON's types (klepto's ``protocol='json'``)."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from klepto_core.errors import SerializationError
from klepto_core.plugin import PluginSpec, Serializer, hookimpl

_SCALARS = (str, int, float, bool, type(None))


def _check(obj: Any, depth: int = 0) -> None:
    """Refuse what JSON would change on the way back (tuples, non-str keys, other types)."""
    if isinstance(obj, _SCALARS):
        return
    if depth > 500:
        raise SerializationError("json serializer: value nests too deeply")
    if type(obj) is list:
        for item in obj:
            _check(item, depth + 1)
        return
    if type(obj) is dict:
        for key, value in obj.items():
            if not isinstance(key, str):
                raise SerializationError(
                    f"json serializer: dict key {key!r} is a {type(key).__name__}; "
                    "JSON object keys must be str (use the dill or jsonpickle serializer)"
                )
            _check(value, depth + 1)
        return
    raise SerializationError(
        f"json serializer cannot store a {type(obj).__name__} value ({obj!r:.60}); "
        "JSON holds only str, int, float, bool, None, list and dict with str keys "
        "(use the dill or jsonpickle serializer)"
    )


class JsonSerializer(Serializer):
    """Values as UTF-8 JSON text; anything JSON would not give back unchanged is refused.

    ``protocol`` is accepted for klepto compatibility (klepto chose JSON when it
    was a string) and otherwise ignored.
    """

    name: ClassVar[str] = "json"
    roundtrips_any: ClassVar[bool] = False

    def _dumps(self, obj: Any) -> bytes:
        _check(obj)
        return json.dumps(obj, ensure_ascii=False, allow_nan=True).encode("utf-8")

    def _loads(self, data: bytes) -> Any:
        return json.loads(data)

    def dumps_key(self, key: Any) -> bytes:
        """A key as JSON; tuples (which every namespaced cache key is) become arrays."""
        return self.dumps(_untuple(key))

    def loads_key(self, data: bytes) -> Any:
        """A key stored by :meth:`dumps_key`: arrays back to tuples, so it is hashable again."""
        return _tuples(json.loads(data))


def _untuple(key: Any) -> Any:
    """Tuples in a key as lists (a key holds no list, so reading them back as tuples is exact)."""
    if type(key) is tuple:
        return [_untuple(item) for item in key]
    return key


def _tuples(obj: Any) -> Any:
    if isinstance(obj, list):
        return tuple(_tuples(item) for item in obj)
    return obj


@hookimpl
def klepto_core_serializer() -> PluginSpec:
    """Register the ``json`` serializer."""
    return PluginSpec(
        name="json",
        factory=JsonSerializer,
        description="JSON text: str, numbers, bool, None, lists and str-keyed dicts only",
    )
