"""pandas DataFrames to and from archives (klepto's ``_to_frame`` / ``_from_frame``).

pandas is imported only when a frame is made; the index name carries the
archive's settings as a literal, read back with ``ast.literal_eval`` (klepto
``eval``-ed it, so a crafted frame could run code).
"""

from __future__ import annotations

import math
from typing import Any

from klepto_core.errors import UnknownPluginError
from klepto_core.registry import REGISTRY, defaults

_ARCHIVE_COLUMN = "__archive__"


def _pandas() -> Any:
    try:
        import pandas  # type: ignore[import-untyped]
    except ImportError as exc:
        raise ValueError("install pandas for dataframe support") from exc
    return pandas


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _to_frame(archive: Any) -> Any:
    """A DataFrame: index = keys, a column of memory data (and ``__archive__`` when cached)."""
    pandas = _pandas()
    backend = archive.archive
    cached = archive is not backend
    name = backend.name
    name = "" if name is None else name
    memory = dict(archive) if cached else archive.__asdict__()
    frame = pandas.DataFrame.from_dict({name: memory})
    if cached:
        stored = pandas.DataFrame.from_dict({_ARCHIVE_COLUMN: backend.__asdict__()})
        left = frame[name] if name in frame else frame  # noqa: SIM401 - not a dict
        right = stored[_ARCHIVE_COLUMN] if len(stored) else stored
        frame = pandas.concat([left, right], axis=1, sort=False)
        if _ARCHIVE_COLUMN not in frame:
            frame[_ARCHIVE_COLUMN] = pandas.Series(dtype=object)
        if name not in frame:
            frame.insert(0, name, pandas.Series(dtype=object))
    frame.columns.name = getattr(backend, "__kind_name__", type(backend).__name__)
    frame.index.name = repr(backend.state)
    return frame


def _literal_dict(text: Any) -> dict[str, Any]:
    try:
        import ast  # only a DataFrame round trip needs it

        value = ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return {}
    return value if type(value) is dict else {}


def _constructor_options(factory: Any, state: dict[str, Any]) -> dict[str, Any]:
    """The settings in ``state`` the backend's constructor takes (``id`` is the name, not one)."""
    backend = getattr(factory, "__backend__", None)
    options = {k: v for k, v in state.items() if k != "id"}
    if backend is None:
        return options
    hook = getattr(backend, "_options_from_state", None)
    if hook is not None:
        return dict(hook(state))
    import inspect  # only a DataFrame round trip needs it

    params = inspect.signature(backend.__init__).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return options
    return {k: v for k, v in options.items() if k in params}


def _archive_class(kind: Any) -> Any:
    """The public class of archive ``kind`` (``'dir_archive'``), or None if none is installed."""
    if not isinstance(kind, str) or not kind.endswith("_archive"):
        return None
    try:
        return REGISTRY.resolve("archive", kind[: -len("_archive")]).factory
    except UnknownPluginError:
        return None


def _from_frame(dataframe: Any) -> Any:
    """The archive a frame from :func:`_to_frame` describes (cached iff it has two columns)."""
    _pandas()
    frame = dataframe
    columns = list(frame.columns)
    cached = len(columns) > 1
    state = _literal_dict(frame.index.name)
    name = columns[0] if columns else None
    data = {} if name is None else {k: v for k, v in frame[name].items() if not _is_nan(v)}
    kind = frame.columns.name
    if isinstance(kind, str):
        kind = kind if kind.endswith("_archive") else f"{kind}_archive"
    factory = _archive_class(kind) or _archive_class(f"{defaults.FRAME_ARCHIVE}_archive")
    result = factory(name, data, cached, **_constructor_options(factory, state))
    if cached:
        stored = frame[columns[1]]
        result.archive.update({k: v for k, v in stored.items() if not _is_nan(v)})
    return result
