"""Compile, once per decorated function, the code that binds a call's arguments.

klepto keys a call by its *bound* arguments: every named parameter (defaults
filled in) becomes a name/value pair, sorted by name, so ``f(1, 2)`` and
``f(a=1, b=2)`` share a key. klepto recomputes the signature on every call; we
generate a small Python function with the decorated function's own signature,
so the interpreter does the binding in C and no ``inspect`` runs per call.
"""

from __future__ import annotations

import keyword
import types
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from klepto_core.keys.null import NULL

Binder = Callable[..., Any]

# parameter kinds, numbered as inspect.Parameter numbers them
POSITIONAL_ONLY, POSITIONAL_OR_KEYWORD, VAR_POSITIONAL, KEYWORD_ONLY, VAR_KEYWORD = range(5)
_EMPTY = object()  # a parameter without a default
_CO_VARARGS, _CO_VARKEYWORDS = 0x04, 0x08


class _Param:
    """One parameter: its name, kind and default (``_EMPTY`` if none)."""

    __slots__ = ("default", "kind", "name")

    def __init__(self, name: str, kind: int, default: Any = _EMPTY) -> None:
        self.name, self.kind, self.default = name, kind, default


def _from_code(func: types.FunctionType) -> list[_Param]:
    """A plain function's parameters read off its code object, as ``inspect.signature`` does."""
    code = func.__code__
    names = code.co_varnames
    count, posonly, kwonly = code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount
    defaults = func.__defaults__ or ()
    first_default = count - len(defaults)
    out = [
        _Param(name, POSITIONAL_ONLY if i < posonly else POSITIONAL_OR_KEYWORD,
               defaults[i - first_default] if i >= first_default else _EMPTY)
        for i, name in enumerate(names[:count])
    ]
    at = count + kwonly  # co_varnames: positionals, keyword-only, then *args, then **kwargs
    if code.co_flags & _CO_VARARGS:
        out.append(_Param(names[at], VAR_POSITIONAL))
        at += 1
    kwdefaults = func.__kwdefaults__ or {}
    out.extend(
        _Param(name, KEYWORD_ONLY, kwdefaults.get(name, _EMPTY))
        for name in names[count : count + kwonly]
    )
    if code.co_flags & _CO_VARKEYWORDS:
        out.append(_Param(names[at], VAR_KEYWORD))
    return out


def _parameters_of(func: Callable[..., Any]) -> list[_Param]:
    """``func``'s parameters; a plain function's without importing ``inspect``."""
    if (
        type(func) is types.FunctionType
        and not hasattr(func, "__wrapped__")
        and not hasattr(func, "__signature__")
    ):
        return _from_code(func)
    import inspect  # a wrapper, a partial, a class or a builtin: inspect knows them all

    return [
        _Param(p.name, int(p.kind), _EMPTY if p.default is p.empty else p.default)
        for p in inspect.signature(func).parameters.values()
    ]


class _Layout:
    """The parameters of a function, split the way klepto's keys need them."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self.named: list[_Param] = []
        self.varargs: str | None = None
        self.varkw: str | None = None
        for p in _parameters_of(func):
            if p.kind == VAR_POSITIONAL:
                self.varargs = p.name
            elif p.kind == VAR_KEYWORD:
                self.varkw = p.name
            else:
                self.named.append(p)


def _normalise_ignore(ignore: Any) -> tuple[Any, ...]:
    if ignore is None:
        return ()
    if isinstance(ignore, str | int):
        return (ignore,)
    return tuple(ignore)


class _Ignored:
    """What ``ignore`` does to a function's parameters: NULL them, drop them, or reach past them."""

    def __init__(self, layout: _Layout, ignore: Any) -> None:
        ignored = _normalise_ignore(ignore)
        names = [p.name for p in layout.named]
        positional = [p.name for p in layout.named if p.kind != KEYWORD_ONLY]
        self.nulled: set[str] = set()
        self.dropped: set[str] = set()
        self.extra_positions: list[int] = []  # surplus positionals to NULL, by index
        self.extra_names: list[str] = []  # surplus keywords to NULL
        for item in ignored:
            if isinstance(item, int) and not isinstance(item, bool):
                if 0 <= item < len(positional):
                    self.nulled.add(positional[item])
                elif item >= len(positional):
                    self.extra_positions.append(item - len(positional))
            elif isinstance(item, str) and item not in ("*", "**"):
                if item not in names:
                    self.extra_names.append(item)
                elif item in ("self", "cls") and names[0] == item:
                    self.dropped.add(item)
                else:
                    self.nulled.add(item)
        self.drop_varargs = "*" in ignored
        self.drop_varkw = "**" in ignored


_VA = "__kc_args"
_KW = "__kc_kw"


def _parameters(layout: _Layout, env: dict[str, Any]) -> list[str]:
    """The generated binder's parameter list: the function's own, defaults bound in ``env``."""
    params: list[str] = []
    previous = None
    for i, p in enumerate(layout.named):
        if previous == POSITIONAL_ONLY and p.kind != POSITIONAL_ONLY:
            params.append("/")
        if p.kind == KEYWORD_ONLY and previous != KEYWORD_ONLY:
            params.append(f"*{_VA}" if layout.varargs is not None else "*")
        text = p.name
        if p.default is not _EMPTY:
            env[f"__kc_d{i}"] = p.default
            text += f"=__kc_d{i}"
        params.append(text)
        previous = p.kind
    if previous == POSITIONAL_ONLY:
        params.append("/")
    if layout.varargs is not None and f"*{_VA}" not in params:
        params.append(f"*{_VA}")
    if layout.varkw is not None:
        params.append(f"**{_KW}")
    return params


def _body(layout: _Layout, ignored: _Ignored, kept: list[str], flat: bool) -> list[str]:
    """The generated binder's statements: NULL what is ignored, return the key material."""
    lines = []
    if layout.varargs is not None and not ignored.drop_varargs:
        pos = _VA
        for j in sorted(set(ignored.extra_positions)):
            lines.append(
                f"    if __kc_len({pos}) > {j}: "
                f"{pos} = {pos}[:{j}] + (__kc_NULL,) + {pos}[{j + 1}:]"
            )
    else:
        pos = "()"
    has_kw = layout.varkw is not None and not ignored.drop_varkw
    if has_kw:
        for n in ignored.extra_names:
            lines.append(f"    if {n!r} in {_KW}: {_KW}[{n!r}] = __kc_NULL")

    def value(n: str) -> str:
        return "__kc_NULL" if n in ignored.nulled else n

    pairs = ", ".join(f"{n!r}: {value(n)}" for n in kept)
    if flat:
        flat_pairs = "".join(f"{n!r}, {value(n)}, " for n in kept)
        static = f"({flat_pairs})" if kept else "()"
        if has_kw:
            lines.append(f"    if {_KW}: return {pos} + __kc_flat_merge({{{pairs}}}, {_KW})")
        lines.append(f"    return {pos} + {static}" if pos != "()" else f"    return {static}")
    else:
        if has_kw:
            named = f"{pairs}, " if pairs else ""
            merged = f"__kc_dict(__kc_sorted({{{named}**{_KW}}}.items()))"
            lines.append(f"    if {_KW}: return ({pos}, {merged})")
        lines.append(f"    return ({pos}, {{{pairs}}})")
    return lines


def compile_binder(func: Callable[..., Any], ignore: Any = None, flat: bool = True) -> Binder:
    """A function that takes ``func``'s arguments and returns their key material.

    With ``flat`` it returns klepto's flat key (surplus positionals, then name,
    value pairs sorted by name); otherwise an ``(args, kwds)`` pair with
    ``kwds`` sorted by name. Ignored parameters become NULL (``'*'`` drops
    surplus positionals, ``'**'`` surplus keywords; a leading ``self``/``cls``
    ignored by name is dropped). A function without a Python signature (a
    builtin) gets its arguments back unchanged.
    """
    try:
        layout = _Layout(func)
    except (TypeError, ValueError):
        return _opaque_flat if flat else _opaque_pair
    names = [p.name for p in layout.named]
    if any(not n.isidentifier() or keyword.iskeyword(n) or n.startswith("__kc_") for n in names):
        return _opaque_flat if flat else _opaque_pair
    ignored = _Ignored(layout, ignore)
    env: dict[str, Any] = {
        "__kc_NULL": NULL,
        "__kc_flat_merge": _flat_merge,
        "__kc_len": len,
        "__kc_dict": dict,
        "__kc_sorted": sorted,
    }
    params = _parameters(layout, env)
    kept = sorted(n for n in names if n not in ignored.dropped)
    header = f"def __kc_bind({', '.join(params)}):"
    source = "\n".join([header, *_body(layout, ignored, kept, flat)])
    where = f"<klepto_core binder for {getattr(func, '__qualname__', func)!s}>"
    exec(compile(source, where, "exec"), env)
    binder: Binder = env["__kc_bind"]
    binder.__kc_source__ = source  # type: ignore[attr-defined]
    # a flat key can only be a single value (and collapse) when nothing is named
    binder.__kc_may_collapse__ = not kept  # type: ignore[attr-defined]
    return binder


def _flat_merge(named: dict[str, Any], extra: dict[str, Any]) -> tuple[Any, ...]:
    merged = {**named, **extra}
    out: list[Any] = []
    for name in sorted(merged):
        out.append(name)
        out.append(merged[name])
    return tuple(out)


def _opaque_flat(*args: Any, **kwds: Any) -> tuple[Any, ...]:
    return args + _flat_merge({}, kwds) if kwds else args


def _opaque_pair(*args: Any, **kwds: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return args, dict(sorted(kwds.items()))


def flat_pairs(items: Iterable[tuple[str, Hashable]]) -> tuple[Any, ...]:
    """Flatten name/value pairs sorted by name (for callers building keys by hand)."""
    return _flat_merge({}, dict(items))
