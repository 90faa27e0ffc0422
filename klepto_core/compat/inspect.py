"""Call-signature inspection and cache-key generation from a call's arguments.

``_keygen`` turns ``f(*args, **kwds)`` into the bound form every klepto key is
built from (named parameters by name, ignored ones replaced by ``NULL``); its
output, dict order included, is identical to klepto 0.2.8 because persisted keys
of ``flat=False`` keymaps depend on it.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable, Iterable
from numbers import Integral
from typing import Any, NamedTuple

from klepto_core.base.keymap import Keymap
from klepto_core.compat.tools import IS_PYPY
from klepto_core.keys.null import NULL
from klepto_core.keys.rounding import make_rounder
from klepto_core.registry import REGISTRY, defaults

__all__ = ["NULL", "_keygen", "isvalid", "keygen", "signature", "strip_markup", "validate"]



class _Spec(NamedTuple):
    """The parts of ``inspect.getfullargspec`` that signatures are built from."""

    args: tuple[str, ...]
    defaults: tuple[Any, ...]
    varargs: str | None
    varkw: str | None
    kwonlyargs: tuple[str, ...]
    kwonlydefaults: dict[str, Any]


_spec_cache: weakref.WeakKeyDictionary[Any, tuple[tuple[Any, ...], _Spec]] = (
    weakref.WeakKeyDictionary()
)


def _spec_identity(func: Any) -> tuple[Any, ...]:
    extra = func.__dict__
    return (
        func.__code__,
        func.__defaults__,
        extra.get("__signature__"),
        extra.get("_partialmethod"),
    )


def _argspec(func: Any) -> _Spec:
    """``getfullargspec(func)``, memoised for plain functions until their code or defaults change.

    A bound method has the spec of its function (``self`` included), as in
    ``getfullargspec``. Functions with keyword-only defaults, a dict that can be
    changed in place, are not memoised.
    """
    if inspect.ismethod(func) and inspect.isfunction(func.__func__):
        func = func.__func__
    cacheable = inspect.isfunction(func) and func.__kwdefaults__ is None
    if cacheable:
        identity = _spec_identity(func)
        hit = _spec_cache.get(func)
        if hit is not None and all(a is b for a, b in zip(hit[0], identity, strict=True)):
            return hit[1]
    full = inspect.getfullargspec(func)
    spec = _Spec(
        tuple(full.args),
        tuple(full.defaults or ()),
        full.varargs,
        full.varkw,
        tuple(full.kwonlyargs),
        dict(full.kwonlydefaults or {}),
    )
    if cacheable:
        try:
            _spec_cache[func] = (identity, spec)
        except TypeError:  # not weak-referenceable; just don't memoise
            pass
    return spec


def _unpartial(func: Any) -> tuple[Any, tuple[Any, ...], dict[str, Any], bool]:
    """Split a partial-like object into (callable, fixed positionals, fixed keywords, is_partial).

    Anything with ``func``/``args``/``keywords`` counts as a partial; a callable
    instance without ``__name__`` is inspected through its ``__call__``.
    """
    if not inspect.ismethod(func) and not inspect.isfunction(func):
        try:
            fixed_args = tuple(func.args)
            fixed_kwds = dict(func.keywords or {})
            return func.func, fixed_args, fixed_kwds, True
        except AttributeError:
            if hasattr(func, "__call__") and not hasattr(func, "__name__"):  # noqa: B004
                return func.__call__, (), {}, False
    return func, (), {}, False


def signature(
    func: Callable[..., Any], variadic: bool = True, markup: bool = True, safe: bool = False
) -> tuple[Any, ...]:
    """Return ``(names, defaults, varargs, varkw)`` of ``func``'s call signature.

    Handles functions, bound methods (``self`` dropped), callable instances and
    partials: with ``markup`` a partial's fixed positionals appear in defaults as
    ``'!name'`` and keyword-fixed names as ``'!name'``. ``variadic=False`` returns
    only the first two; ``safe=True`` returns Nones instead of raising TypeError.
    """
    failed = (None, None, None, None) if variadic else (None, None)
    if safe and inspect.isbuiltin(func) and not IS_PYPY:
        return failed
    target, fixed_args, fixed_kwds, _ = _unpartial(func)
    try:
        spec = _argspec(target)
    except TypeError:
        if safe:
            return failed
        raise TypeError(f"{target!r} is not a Python function") from None

    names = spec.args
    if inspect.ismethod(target):  # bound: the instance fills the first parameter
        names = names[1:]
    defaults: dict[str, Any] = {}
    if spec.defaults and spec.args:
        defaults = dict(zip(spec.args[-len(spec.defaults) :], spec.defaults, strict=True))
    fixed = dict(zip(names[: len(fixed_args)], fixed_args))
    clash = [name for name in fixed if name in fixed_kwds]
    if clash:
        if safe:
            return failed
        raise TypeError(
            f"{getattr(target, '__name__', target)}() got multiple values for keyword "
            f"argument '{clash[0]}'"
        )
    defaults.update(spec.kwonlydefaults)
    defaults.update(fixed_kwds)
    mark = "!" if markup else ""
    explicit = tuple(mark + n if n in fixed_kwds else n for n in names if n not in fixed)
    if markup:
        defaults = {k: v for k, v in defaults.items() if k not in fixed}
        defaults.update((mark + k, v) for k, v in fixed.items())
    if variadic:
        return explicit, defaults, spec.varargs or "", spec.varkw or ""
    return explicit, defaults


def strip_markup(
    names: Iterable[str], defaults: dict[str, Any]
) -> tuple[tuple[str, ...], dict[str, Any]]:
    """Remove the ``'!'`` markup of :func:`signature`: unmark names, drop fixed defaults."""
    return (
        tuple(n.strip("!") for n in names),
        {k: v for k, v in defaults.items() if not k.startswith("!")},
    )


def isvalid(func: Callable[..., Any], *args: Any, **kwds: Any) -> bool:
    """Return True if ``func(*args, **kwds)`` would bind, checked without calling ``func``.

    Callables without a Python signature (builtins) cannot be inspected, so for
    those the call is actually made and any exception means False.
    """
    try:
        validate(func, *args, **kwds)
        return True
    except Exception as error:
        if str(error).endswith("is not a Python function"):
            try:
                func(*args, **kwds)
                return True
            except Exception:
                pass
        return False


def _kwonly_of(func: Any) -> tuple[tuple[str, ...], dict[str, Any]]:
    try:
        spec = _argspec(func)
    except TypeError:
        return (), {}
    return spec.kwonlyargs, spec.kwonlydefaults


def validate(func: Callable[..., Any], *args: Any, **kwds: Any) -> None:
    """Raise TypeError if ``func(*args, **kwds)`` would not bind to ``func``'s signature.

    The function is not called. Messages follow klepto's (Python 2 style) wording;
    unlike klepto, keyword-only parameters are accepted by name and required.
    """
    named, defaults, varargs, varkw = signature(func)
    target, fixed_args, fixed_kwds, is_partial = _unpartial(func)
    partial_named: tuple[str, ...] = ()
    partial_required: set[str] = set()
    if is_partial:
        partial_named, partial_defaults = signature(target, markup=False, variadic=False)
        partial_required = set(partial_named) - set(partial_defaults)
    name = getattr(target, "__name__", repr(target))
    kwonly, kwonly_defaults = _kwonly_of(target)

    unsettable_args = {n.strip("!") for n in named if n.startswith("!")}
    unsettable_kwds = {n.strip("!") for n in defaults if n.startswith("!")}
    named, defaults = strip_markup(named, defaults)

    # (keyword-only names are subtracted only when present, to keep klepto's set order)
    stray = set(fixed_kwds) - unsettable_kwds - unsettable_args
    if kwonly:
        stray -= set(kwonly)
    if stray and not varkw:
        raise TypeError(f"{name}() got an unexpected keyword argument '{stray.pop()}'")
    given = len(fixed_args) + len(args) + len(kwds)
    if max(0, len(fixed_args) - len(partial_required)) and not varargs:
        raise TypeError(f"{name}() takes at most {len(partial_named)} arguments ({given} given)")
    if args[len(named) :] and not varargs:
        limit = len(named) + len(fixed_args)
        raise TypeError(f"{name}() takes at most {limit} arguments ({given} given)")
    unknown = set(kwds) - set(named)
    if kwonly:
        unknown -= set(kwonly)
    if unknown and not varkw:
        raise TypeError(f"{name}() got an unexpected keyword argument '{unknown.pop()}'")

    positional = dict(zip(named, args))
    for clash in (
        unsettable_args.intersection(positional),
        unsettable_kwds.intersection(kwds),
        set(positional).intersection(kwds),
    ):
        if clash:
            raise TypeError(f"{name}() got multiple values for keyword argument '{clash.pop()}'")

    required = set(named) - set(defaults)
    defaults.update(kwds)
    defaults.update(positional)
    provided = required.intersection(defaults)
    if len(provided) < len(required):
        fixed_count = len(fixed_args) + len(set(named).intersection(fixed_kwds))
        at_least = max(len(partial_required), len(required))
        raise TypeError(
            f"{name}() takes at least {at_least} arguments ({len(provided) + fixed_count} given)"
        )
    missing = [
        k for k in kwonly if k not in kwonly_defaults and k not in fixed_kwds and k not in kwds
    ]
    if missing:
        listed = ", ".join(f"'{k}'" for k in missing)
        plural = "s" if len(missing) > 1 else ""
        raise TypeError(
            f"{name}() missing {len(missing)} required keyword-only argument{plural}: {listed}"
        )
    return None


def _is_ignored_self(
    func: Any, ignored: Any, args: tuple[Any, ...], names: tuple[str, ...]
) -> bool:
    """True if ``args[0]`` is the instance ``func`` is bound to and its name is ignored."""
    if not names or not args:
        return False
    try:
        bound = getattr(args[0], func.__name__)
        if not bound.__self__ == args[0]:  # noqa: SIM201 - use __eq__ like klepto
            return False
    except Exception:
        return False
    return bool(bound) and names[0] in ignored


def _keygen(
    func: Callable[..., Any], ignored: Any, *args: Any, **kwds: Any
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Bind a call for use as a cache key: ``(surplus varargs, {name: value})``.

    Named parameters (defaults filled in) go into the dict by name; ``ignored``
    names or indices become :data:`NULL`; ``'*'``/``'**'`` drop surplus varargs
    or keywords, and an ignored ``self`` of a bound call is removed. Callables
    without a Python signature get their arguments back unchanged.
    """
    names, bound_kwds = signature(func, markup=False, variadic=False, safe=True)
    if names is None and bound_kwds is None:
        return args, kwds.copy()
    bound_kwds.update(kwds)

    if isinstance(ignored, (str, Integral)):
        ignored = [ignored]
    # The set-building steps below mirror klepto's so that iteration order, and thus
    # the order NULLs enter the dict, is the same as klepto's in the same process.
    index_to_ignore: set[Any] = set(i for i in ignored if isinstance(i, Integral))
    names_to_ignore: set[Any] = set(i for i in ignored if isinstance(i, str))

    if inspect.isfunction(func) and _is_ignored_self(func, ignored, args, names):
        args = args[1:]
        bound_kwds.pop(names[0], None)
        names = names[1:]

    drop_varargs = "*" in names_to_ignore
    drop_varkw = "**" in names_to_ignore
    names_to_ignore -= {"*", "**"}

    position = dict(enumerate(names))
    index_of_names = set(i for i, n in position.items() if n in names_to_ignore)
    names_of_index = set(n for i, n in position.items() if i in index_to_ignore)
    names_to_ignore = names_to_ignore.union(names_of_index)
    index_to_ignore = index_to_ignore.union(index_of_names)

    args = tuple(NULL if i in index_to_ignore else a for i, a in enumerate(args))
    if drop_varargs:
        args = args[: len(names)]

    present = tuple(bound_kwds) + names
    for n in [n for n in names_to_ignore if n in present]:
        bound_kwds[n] = NULL
    if drop_varkw:
        for k in [k for k in kwds if k not in names]:
            bound_kwds.pop(k)

    bound_kwds.update(zip(names, args))
    return args[len(names) :], bound_kwds


def keygen(
    *ignored: Any, keymap: Any = None, tol: int | None = None, deep: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: the decorated function returns the cache key of a call instead of calling.

    The key is built like a cache decorator's (rounding by ``tol``/``deep``,
    ``ignored`` names/indices as NULL, default keymap ``keymap()``). The wrapper
    remembers the last arguments and offers ``call``, ``valid``, ``key``,
    ``keymap``, ``register``, ``__args__``, ``__func__`` and ``__ignored__``.
    """
    if keymap is None:
        keymap = REGISTRY.resolve("keymap", defaults.KEYGEN_KEYMAP).factory()
    rounder = make_rounder(tol, deep)

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        last: list[Any] = [(), {}]
        current = [keymap]

        def make_key(args: tuple[Any, ...], kwds: dict[str, Any]) -> Any:
            if rounder is not None:
                args, kwds = rounder(args, kwds)
            args, kwds = _keygen(f, ignored, *args, **kwds)
            return current[0](*args, **kwds)

        def func(*args: Any, **kwds: Any) -> Any:
            last[:] = [args, kwds]
            return make_key(args, kwds)

        def last_args() -> tuple[tuple[Any, ...], dict[str, Any]]:
            """The ``(args, kwds)`` of the most recent call."""
            return last[0], last[1]

        def call() -> Any:
            """Call the original function with the most recent arguments."""
            return f(*last[0], **last[1])

        def valid() -> bool:
            """True if the most recent arguments fit the function's signature."""
            return isvalid(f, *last[0], **last[1])

        def key() -> Any:
            """The cache key of the most recent arguments."""
            return make_key(last[0], last[1])

        def register(mapper: Any) -> None:
            """Use ``mapper`` (a Keymap instance, or a Keymap class to instantiate) for keys."""
            if isinstance(mapper, type):
                mapper = mapper()
            if not isinstance(mapper, Keymap):
                label = getattr(mapper, "__name__", mapper)
                raise TypeError(f"'{label}' is not a klepto keymap instance")
            current[0] = mapper

        def get_keymap() -> Any:
            """The keymap currently used to build keys."""
            return current[0]

        func.__ignored__ = ignored  # type: ignore[attr-defined]
        func.__func__ = f  # type: ignore[attr-defined]
        func.__args__ = last_args  # type: ignore[attr-defined]
        func.call = call  # type: ignore[attr-defined]
        func.valid = valid  # type: ignore[attr-defined]
        func.key = key  # type: ignore[attr-defined]
        func.keymap = get_keymap  # type: ignore[attr-defined]
        func.register = register  # type: ignore[attr-defined]
        return func

    return decorate
