"""Find plugins through entry points and turn a name into a plugin, once.

Discovery reads entry-point metadata only (names, distributions); a plugin's
module is imported, registered with pluggy and asked for its spec the first
time its name is resolved. Neither pluggy nor importlib.metadata is imported
until then, which keeps ``import klepto_core`` cheap.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from klepto_core.errors import (
    DuplicatePluginError,
    PluginLoadError,
    UnknownPluginError,
    UnknownPluginKindError,
)
from klepto_core.registry.direct import direct_impl
from klepto_core.registry.entrypoints import scan
from klepto_core.registry.specs import GROUPS, KINDS, PluginInfo, PluginSpec

if TYPE_CHECKING:
    import pluggy

CORE_DISTRIBUTION = "klepto-core"


class _Entry:
    """One discovered plugin name and, once loaded, its spec or load error."""

    __slots__ = ("distribution", "error", "kind", "name", "spec", "target", "version")

    def __init__(
        self,
        kind: str,
        name: str,
        distribution: str,
        version: str,
        target: Any,  # an entry point record, or an object registered at run time
        spec: PluginSpec | None = None,
    ) -> None:
        self.kind, self.name, self.distribution, self.version = kind, name, distribution, version
        self.target = target
        self.spec = spec
        self.error: PluginLoadError | None = None


class Registry:
    """The set of installed plugins, discovered lazily and resolved by name."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._entries: dict[tuple[str, str], _Entry] | None = None
        self._manager: pluggy.PluginManager | None = None

    # -- discovery -----------------------------------------------------------------

    def _discovered(self) -> dict[tuple[str, str], _Entry]:
        entries = self._entries
        if entries is None:
            with self._lock:
                if self._entries is None:
                    self._entries = self._discover()
                entries = self._entries
        return entries

    @staticmethod
    def _discover() -> dict[tuple[str, str], _Entry]:
        found: dict[tuple[str, str], _Entry] = {}
        for ep in scan(GROUPS):
            kind = GROUPS[ep.group][0]
            previous = found.get((kind, ep.name))
            if previous is not None:
                if previous.distribution == ep.distribution:
                    continue
                raise DuplicatePluginError(
                    f"{kind} plugin {ep.name!r} is provided by both "
                    f"{previous.distribution!r} and {ep.distribution!r}; uninstall one of them"
                )
            found[(kind, ep.name)] = _Entry(kind, ep.name, ep.distribution, ep.version, ep)
        return found

    def _pluggy(self) -> pluggy.PluginManager:
        if self._manager is None:
            import pluggy

            # deferred: pluggy stays off the import path until a plugin is first loaded
            from klepto_core.registry import hookspecs

            manager = pluggy.PluginManager(hookspecs.PROJECT)
            manager.add_hookspecs(hookspecs)
            self._manager = manager
        return self._manager

    # -- loading -------------------------------------------------------------------

    def _load(self, entry: _Entry) -> PluginSpec:
        if entry.spec is not None:
            return entry.spec
        if entry.error is not None:
            raise entry.error
        with self._lock:
            if entry.spec is None and entry.error is None:
                try:
                    entry.spec = self._spec_from(entry)
                except Exception as exc:  # a broken plugin must not break the others
                    entry.error = PluginLoadError(entry.kind, entry.name, entry.distribution, exc)
                    entry.error.__cause__ = exc
        if entry.error is not None:
            raise entry.error
        assert entry.spec is not None
        return entry.spec

    def _spec_from(self, entry: _Entry) -> PluginSpec:
        hook_name = next(hook for kind, hook in GROUPS.values() if kind == entry.kind)
        target = entry.target
        plugin = target.load() if hasattr(target, "load") and hasattr(target, "group") else target
        functions = direct_impl(plugin, hook_name, (hook for _, hook in GROUPS.values()))
        if functions is None:  # wrappers, several implementations, a class: pluggy decides
            functions = self._pluggy_impls(entry, plugin, hook_name)
        if not functions:
            raise TypeError(
                f"{plugin!r} does not implement the hook {hook_name}() required of a "
                f"{entry.kind} plugin"
            )
        specs: list[PluginSpec] = []
        for function in functions:
            result = function()
            specs.extend(result if isinstance(result, list | tuple) else [result])
        for spec in specs:
            if not isinstance(spec, PluginSpec):
                raise TypeError(f"{hook_name}() returned {spec!r}, expected a PluginSpec")
            if spec.name == entry.name:
                return spec
        offered = ", ".join(repr(s.name) for s in specs)
        raise TypeError(
            f"entry point {entry.name!r} points at a plugin that provides {offered}, "
            f"not {entry.name!r}"
        )

    def _pluggy_impls(self, entry: _Entry, plugin: Any, hook_name: str) -> list[Any]:
        """Register ``plugin`` with pluggy; its implementations of ``hook_name``."""
        manager = self._pluggy()
        if not manager.is_registered(plugin):
            manager.register(plugin, name=f"{entry.kind}:{entry.name}:{entry.distribution}")
        manager.check_pending()
        hook = getattr(manager.hook, hook_name)
        return [impl.function for impl in hook.get_hookimpls() if impl.plugin is plugin]

    # -- public --------------------------------------------------------------------

    def names(self, kind: str) -> list[str]:
        """The installed names of one kind of plugin, sorted."""
        check_kind(kind)
        return sorted(name for (k, name) in self._discovered() if k == kind)

    def resolve(self, kind: str, name: str) -> PluginSpec:
        """The spec of the plugin ``name`` of ``kind``; raise UnknownPluginError if none."""
        entry = self._discovered().get((kind, name)) if isinstance(name, str) else None
        if entry is None:
            import difflib  # deferred: only an unknown name needs it

            check_kind(kind)
            installed = self.names(kind)
            close = difflib.get_close_matches(str(name), installed, n=1)
            raise UnknownPluginError(
                kind, name, installed, close[0] if close else None, _install_hint(kind, str(name))
            )
        return entry.spec if entry.spec is not None else self._load(entry)

    def register(self, kind: str, spec: PluginSpec, distribution: str = "<runtime>") -> None:
        """Add a plugin at run time (tests, notebooks); installed plugins use entry points."""
        check_kind(kind)
        if not isinstance(spec, PluginSpec):
            raise TypeError(f"expected a PluginSpec, got {spec!r}")
        with self._lock:
            entries = self._discovered()
            existing = entries.get((kind, spec.name))
            if existing is not None and existing.distribution != distribution:
                raise DuplicatePluginError(
                    f"{kind} plugin {spec.name!r} is already provided by {existing.distribution!r}"
                )
            entries[(kind, spec.name)] = _Entry(kind, spec.name, distribution, "", spec, spec=spec)

    def unregister(self, kind: str, name: str) -> None:
        """Remove a plugin added with :meth:`register`."""
        with self._lock:
            self._discovered().pop((kind, name), None)

    def infos(self) -> list[PluginInfo]:
        """Every installed plugin, loading each to read its description."""
        rows = []
        for (kind, name), entry in sorted(self._discovered().items()):
            try:
                description = self._load(entry).description
                error = None
            except PluginLoadError as exc:
                description, error = "", str(exc)
            rows.append(
                PluginInfo(kind, name, entry.distribution, entry.version, description, error)
            )
        return rows

    def specs(self, kind: str) -> list[PluginSpec]:
        """The specs of every loadable plugin of ``kind`` (broken ones are skipped)."""
        out = []
        for name in self.names(kind):
            try:
                out.append(self.resolve(kind, name))
            except PluginLoadError:
                continue
        return out


def check_kind(kind: object) -> None:
    """Raise UnknownPluginKindError unless ``kind`` is one of the plugin kinds."""
    if kind not in KINDS:
        raise UnknownPluginKindError(f"unknown plugin kind {kind!r}; kinds are {', '.join(KINDS)}")


def _install_hint(kind: str, name: str) -> str:
    """Which distribution would provide ``name``: the core's own extras, else the naming rule."""
    import re  # deferred, as below: only an unknown name needs them

    dist = f"klepto-{kind}-{name}".lower()
    try:
        from importlib.metadata import PackageNotFoundError, requires

        requirements = requires(CORE_DISTRIBUTION) or []
    except PackageNotFoundError:
        requirements = []
    for requirement in requirements:
        head, _, marker = requirement.partition(";")
        req_name = re.split(r"[\s\[=<>!~;]", head.strip(), maxsplit=1)[0]
        if req_name.lower().replace("_", "-") == dist and "extra" in marker:
            extra = marker.split("extra")[-1].strip(" =\"'")
            return f"install it with: pip install 'klepto-core[{extra}]' (distribution {dist})"
    return f"a plugin distribution named {dist!r} would provide it (pip install {dist})"


#: the process-wide registry
REGISTRY = Registry()
