"""The component registry: one mapping per kind, ``name -> factory``.

A factory may be given as a lazy reference, the string ``"package.module:attribute"``:
the registry then knows the name without importing the module (and Keras with it),
and imports it on first use (:meth:`Registry.get`, :attr:`Entry.factory`).
"""

from __future__ import annotations

import contextlib
import importlib
from dataclasses import dataclass, field

from kssl.errors import KsslError, did_you_mean

KINDS = ("encoder", "augmenter", "pretext", "dataset", "evaluator")


class RegistryError(KsslError):
    """A registration that cannot be accepted, or a lookup that cannot be answered."""


def short_reason(exc: BaseException) -> str:
    """``ExceptionType: first line of its message``, for one-line reports of a plugin's failure."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _is_reference(target) -> bool:
    return isinstance(target, str)


def _describe(target) -> str:
    """A factory as text, without importing a lazy reference: ``module:qualname``."""
    if _is_reference(target):
        return target
    module, qualname = getattr(target, "__module__", None), getattr(target, "__qualname__", None)
    return f"{module}:{qualname}" if module and qualname else repr(target)


def _same(a, b) -> bool:
    """Whether two registrations name the same factory (a lazy reference matches the object it names)."""
    if _is_reference(a) or _is_reference(b):
        return _describe(a) == _describe(b)
    return a is b


def _check_reference(kind: str, name: str, target: str) -> None:
    module, sep, attribute = target.partition(":")
    if not sep or not all(part.isidentifier() for part in module.split(".")) or not all(part.isidentifier() for part in attribute.split(".")):
        raise RegistryError(
            f"registry.add({kind!r}, {name!r}, {target!r}): a factory given as a string must be a lazy reference "
            "'package.module:attribute', e.g. 'kssl_rotnet.rotnet:RotNet'."
        )


@dataclass
class Entry:
    """One registered component. ``target`` is the factory or its lazy reference; ``factory`` imports it on first use."""

    kind: str
    name: str
    target: object
    provider: str
    conflicts: list = field(default_factory=list)  # other providers of the same kind+name

    @property
    def lazy(self) -> bool:
        """True while ``target`` is a reference that has not been imported yet."""
        return _is_reference(self.target)

    @property
    def factory(self):
        """The factory; a lazy reference is imported now (once) and replaced by the object it names."""
        self.load()
        return self.target

    def load(self) -> None:
        """Import a lazy reference now (a :class:`RegistryError` naming the provider if it cannot be); a no-op once loaded."""
        if self.lazy:
            self.target = self._resolve()

    def _resolve(self):
        module_name, _, attribute = self.target.partition(":")
        where = f"{self.kind} {self.name!r} (provided by {self.provider!r} as {self.target!r})"
        try:
            found = importlib.import_module(module_name)
            for part in attribute.split("."):
                found = getattr(found, part)
        except Exception as exc:  # an import error of the plugin's module, reported with who provides it
            fix = (
                "Reinstall kssl (pip install --force-reinstall kssl)."
                if self.provider == "kssl"
                else f"Reinstall or upgrade {self.provider!r}, or disable it with KSSL_DISABLE_PLUGINS={self.provider}."
            )
            raise RegistryError(f"{where} cannot be loaded: {short_reason(exc)}. {fix}") from exc
        if not callable(found):
            raise RegistryError(f"{where} is not callable (a class or function): it names {type(found).__name__} {found!r}.")
        return found


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
        self._loaded = False  # load_all() has run

    # -- what plugins call -------------------------------------------------
    def add(self, kind: str, name: str, factory) -> None:
        """Register ``factory`` as component ``name`` of ``kind`` (see DESIGN.md §2 for signatures).

        ``factory`` is a class or function, or a lazy reference ``"package.module:attribute"``
        imported on first use (the recommended form: listing components then imports nothing).
        """
        if kind not in self._kinds:
            raise RegistryError(
                f"registry.add: unknown kind {kind!r}; expected one of {', '.join(self._kinds)}."
                f"{did_you_mean(kind, self._kinds)} Use registry.add_kind({kind!r}) first to add a new kind."
            )
        if not isinstance(name, str) or not name.isidentifier():
            raise RegistryError(f"registry.add: the name must be an identifier such as 'my_task', got {name!r}.")
        if _is_reference(factory):
            _check_reference(kind, name, factory)
        elif not callable(factory):
            raise RegistryError(
                f"registry.add({kind!r}, {name!r}, ...): the factory must be callable (a class or function), got {type(factory).__name__} {factory!r}."
            )
        mine = [e for e in (self._staged or []) if (e.kind, e.name) == (kind, name)]
        committed = self._entries.get((kind, name))
        if committed is not None and committed.provider == self._provider:
            mine.append(committed)
        for earlier in mine:
            if _same(earlier.target, factory):
                return  # the same registration twice: nothing to add
            raise RegistryError(
                f"registry.add({kind!r}, {name!r}, ...): {self._provider!r} already registered a different {kind} "
                f"under this name ({_describe(earlier.target)}). Give each component its own name."
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
        """The factory of ``kind``/``name``, imported now if it was registered as a lazy reference."""
        return self.entry(kind, name).factory

    def load_all(self) -> None:
        """Import every lazily registered factory that can be imported (e.g. so that Keras can deserialise their classes).

        A reference that fails to import stays lazy: :meth:`get` reports it, naming its provider.
        """
        if self._loaded:
            return
        self._loaded = True
        for entry in self._entries.values():
            if entry.lazy:
                with contextlib.suppress(RegistryError):
                    entry.load()

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
        elif not _same(existing.target, entry.target) and entry.provider not in existing.conflicts:
            existing.conflicts.append(entry.provider)
