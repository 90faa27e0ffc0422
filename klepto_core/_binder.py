"""Compile, once per decorated function, the code that binds a call's arguments.

klepto keys a call by its *bound* arguments: every named parameter (defaults
filled in) becomes a name/value pair, sorted by name, so ``f(1, 2)`` and
``f(a=1, b=2)`` share a key. klepto recomputes the signature on every call; we
generate a small Python function with the decorated function's own signature,
so the interpreter does the binding in C and no ``inspect`` runs per call.
"""

from __future__ import annotations

import inspect
import keyword
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from klepto_core._inspect import NULL

Binder = Callable[..., Any]

_P = inspect.Parameter


class _Layout:
    """The parameters of a function, split the way klepto's keys need them."""

    def __init__(self, func: Callable[..., Any]) -> None:
        sig = inspect.signature(func)
        self.named: list[inspect.Parameter] = []
        self.varargs: str | None = None
        self.varkw: str | None = None
        for p in sig.parameters.values():
            if p.kind is _P.VAR_POSITIONAL:
                self.varargs = p.name
            elif p.kind is _P.VAR_KEYWORD:
                self.varkw = p.name
            else:
                self.named.append(p)


def _normalise_ignore(ignore: Any) -> tuple[Any, ...]:
    if ignore is None:
        return ()
    if isinstance(ignore, str | int):
        return (ignore,)
    return tuple(ignore)


def compile_binder(func: Callable[..., Any], ignore: Any = None, flat: bool = True) -> Binder:
    """A function that takes ``func``'s arguments and returns their key material.

    With ``flat`` it returns klepto's flat key (surplus positionals, then name,
    value pairs sorted by name); otherwise an ``(args, kwds)`` pair with
    ``kwds`` sorted by name. Ignored parameters become NULL (``'*'`` drops
    surplus positionals, ``'**'`` surplus keywords; a leading ``self``/``cls``
    ignored by name is dropped). A function without a Python signature (a
    builtin) gets its arguments back unchanged.
    """
    ignored = _normalise_ignore(ignore)
    try:
        layout = _Layout(func)
    except (TypeError, ValueError):
        return _opaque_flat if flat else _opaque_pair
    names = [p.name for p in layout.named]
    if any(not n.isidentifier() or keyword.iskeyword(n) or n.startswith("__kc_") for n in names):
        return _opaque_flat if flat else _opaque_pair

    # which named parameters are ignored (by name or by position), which are dropped
    nulled: set[str] = set()
    dropped: set[str] = set()
    extra_positions: list[int] = []
    extra_names: list[str] = []
    positional = [p.name for p in layout.named if p.kind is not _P.KEYWORD_ONLY]
    for item in ignored:
        if isinstance(item, int) and not isinstance(item, bool):
            if 0 <= item < len(positional):
                nulled.add(positional[item])
            elif item >= len(positional):
                extra_positions.append(item - len(positional))
        elif isinstance(item, str) and item not in ("*", "**"):
            if item in names:
                if item in ("self", "cls") and names[0] == item:
                    dropped.add(item)
                else:
                    nulled.add(item)
            else:
                extra_names.append(item)
    drop_varargs = "*" in ignored
    drop_varkw = "**" in ignored

    env: dict[str, Any] = {
        "__kc_NULL": NULL,
        "__kc_flat_merge": _flat_merge,
        "__kc_len": len,
        "__kc_dict": dict,
        "__kc_sorted": sorted,
    }
    va = "__kc_args"
    kw = "__kc_kw"
    params: list[str] = []
    previous = None
    for i, p in enumerate(layout.named):
        if previous is _P.POSITIONAL_ONLY and p.kind is not _P.POSITIONAL_ONLY:
            params.append("/")
        if p.kind is _P.KEYWORD_ONLY and previous is not _P.KEYWORD_ONLY:
            params.append(f"*{va}" if layout.varargs is not None else "*")
        text = p.name
        if p.default is not _P.empty:
            env[f"__kc_d{i}"] = p.default
            text += f"=__kc_d{i}"
        params.append(text)
        previous = p.kind
    if previous is _P.POSITIONAL_ONLY:
        params.append("/")
    if layout.varargs is not None and f"*{va}" not in params:
        params.append(f"*{va}")
    if layout.varkw is not None:
        params.append(f"**{kw}")

    kept = sorted(n for n in names if n not in dropped)

    def value(n: str) -> str:
        return "__kc_NULL" if n in nulled else n

    lines = [f"def __kc_bind({', '.join(params)}):"]
    # surplus positionals
    if layout.varargs is not None and not drop_varargs:
        pos = va
        for j in sorted(set(extra_positions)):
            lines.append(
                f"    if __kc_len({pos}) > {j}: "
                f"{pos} = {pos}[:{j}] + (__kc_NULL,) + {pos}[{j + 1}:]"
            )
    else:
        pos = "()"
    has_kw = layout.varkw is not None and not drop_varkw
    if has_kw:
        for n in extra_names:
            lines.append(f"    if {n!r} in {kw}: {kw}[{n!r}] = __kc_NULL")
    pairs = ", ".join(f"{n!r}: {value(n)}" for n in kept)
    if flat:
        flat_pairs = "".join(f"{n!r}, {value(n)}, " for n in kept)
        static = f"({flat_pairs})" if kept else "()"
        if has_kw:
            lines.append(f"    if {kw}: return {pos} + __kc_flat_merge({{{pairs}}}, {kw})")
        lines.append(f"    return {pos} + {static}" if pos != "()" else f"    return {static}")
    else:
        if has_kw:
            named = f"{pairs}, " if pairs else ""
            merged = f"__kc_dict(__kc_sorted({{{named}**{kw}}}.items()))"
            lines.append(f"    if {kw}: return ({pos}, {merged})")
        lines.append(f"    return ({pos}, {{{pairs}}})")
    source = "\n".join(lines)
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
