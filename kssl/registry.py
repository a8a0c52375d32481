"""The component registry: one mapping per kind, ``name -> factory``."""

from __future__ import annotations

from dataclasses import dataclass, field

from kssl.errors import KsslError, did_you_mean

KINDS = ("encoder", "augmenter", "pretext", "dataset", "evaluator")


class RegistryError(KsslError):
    """A registration that cannot be accepted, or a lookup that cannot be answered."""


@dataclass
class Entry:
    kind: str
    name: str
    factory: object
    provider: str
    conflicts: list = field(default_factory=list)  # other providers of the same kind+name


@dataclass
class BrokenPlugin:
    name: str  # entry-point / plugin name
    provider: str  # distribution name
    reason: str


class Registry:
    """Holds the components plugins add.

    ``add`` is what a plugin calls from its ``kssl_register`` hook; ``get`` is what
    the builder calls with a recipe's ``type``. A second provider of the same
    kind and name does not replace the first: the name becomes ambiguous and any
    recipe that uses it gets an error naming both providers.
    """

    def __init__(self):
        self._kinds = list(KINDS)
        self._entries: dict[tuple[str, str], Entry] = {}
        self.broken: list[BrokenPlugin] = []
        self.incomplete = False  # a plugin was still mid-import when this registry was loaded
        self._provider = "kssl"
        self._staged: list[Entry] | None = None

    # -- what plugins call -------------------------------------------------
    def add(self, kind: str, name: str, factory) -> None:
        """Register ``factory`` as component ``name`` of ``kind`` (see DESIGN.md §2 for signatures)."""
        if kind not in self._kinds:
            raise RegistryError(
                f"registry.add: unknown kind {kind!r}; expected one of {', '.join(self._kinds)}."
                f"{did_you_mean(kind, self._kinds)} Use registry.add_kind({kind!r}) first to add a new kind."
            )
        if not isinstance(name, str) or not name.isidentifier():
            raise RegistryError(f"registry.add: the name must be an identifier such as 'my_task', got {name!r}.")
        if not callable(factory):
            raise RegistryError(
                f"registry.add({kind!r}, {name!r}, ...): the factory must be callable (a class or function), got {type(factory).__name__} {factory!r}."
            )
        mine = [e for e in (self._staged or []) if (e.kind, e.name) == (kind, name)]
        committed = self._entries.get((kind, name))
        if committed is not None and committed.provider == self._provider:
            mine.append(committed)
        for earlier in mine:
            if earlier.factory is factory:
                return  # the same registration twice: nothing to add
            raise RegistryError(
                f"registry.add({kind!r}, {name!r}, ...): {self._provider!r} already registered a different {kind} "
                f"under this name ({getattr(earlier.factory, '__qualname__', earlier.factory)!s}). Give each component its own name."
            )
        entry = Entry(kind, name, factory, self._provider)
        if self._staged is not None:
            self._staged.append(entry)
        else:
            self._commit(entry)

    def add_kind(self, kind: str) -> None:
        """Declare a new component kind (e.g. ``"callback"``)."""
        if kind not in self._kinds:
            self._kinds.append(kind)

    # -- what kssl calls ---------------------------------------------------
    @property
    def kinds(self) -> tuple:
        return tuple(self._kinds)

    def names(self, kind: str) -> list[str]:
        return sorted(n for (k, n) in self._entries if k == kind)

    def entries(self) -> list[Entry]:
        return sorted(self._entries.values(), key=lambda e: (self._kinds.index(e.kind), e.name))

    def entry(self, kind: str, name: str) -> Entry:
        """The entry for ``kind``/``name``; a clear error for unknown or ambiguous names."""
        entry = self._entries.get((kind, name))
        if entry is None:
            known = self.names(kind)
            message = f"unknown {kind} {name!r}.{did_you_mean(name, known)} Registered {kind}s: {', '.join(known) or '(none)'}."
            if self.broken:
                failed = "; ".join(f"{b.provider} ({b.reason})" for b in self.broken)
                message += f" Some plugins failed to load and may provide it: {failed}."
            else:
                message += " If a plugin provides it, install it (pip install ...) and check `kssl plugins`."
            raise RegistryError(message)
        if entry.conflicts:
            providers = " and ".join(repr(p) for p in [entry.provider, *entry.conflicts])
            raise RegistryError(
                f"{kind} {name!r} is registered by more than one plugin: {providers}. "
                "Uninstall one of them, or disable one with KSSL_DISABLE_PLUGINS=<entry-point name>."
            )
        return entry

    def get(self, kind: str, name: str):
        return self.entry(kind, name).factory

    # -- plugin loading ----------------------------------------------------
    def _begin(self, provider: str) -> None:
        self._provider = provider
        self._staged = []

    def _end(self, ok: bool) -> None:
        staged, self._staged = self._staged or [], None
        if ok:
            for entry in staged:
                self._commit(entry)
        self._provider = "kssl"

    def _commit(self, entry: Entry) -> None:
        key = (entry.kind, entry.name)
        existing = self._entries.get(key)
        if existing is None:
            self._entries[key] = entry
        elif existing.factory is not entry.factory and entry.provider not in existing.conflicts:
            existing.conflicts.append(entry.provider)
