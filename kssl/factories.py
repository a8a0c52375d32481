"""Calling a component factory with a recipe section's arguments, checked against its signature."""

from __future__ import annotations

import inspect

from kssl.errors import ArgumentError, KsslError, PluginError, RecipeError, did_you_mean


def _parameters(factory):
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return {}, True
    named = {n: p for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return named, False


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:500] if lines else "(no message)"


def make_component(registry, kind: str, spec: dict, path: str, context: dict | None = None, objects: dict | None = None):
    """Call the factory ``spec['type']`` of ``kind`` with the spec's arguments (see :func:`call_factory`)."""
    spec = dict(spec)
    name = spec.pop("type")
    try:
        entry = registry.entry(kind, name)
    except KsslError as exc:
        raise RecipeError(f"{path}.type", str(exc)) from None
    return call_factory(entry.factory, spec, path, f"{kind} {name!r}", context, objects, provider=entry.provider)


def call_factory(factory, args: dict, path: str, what: str, context: dict | None = None, objects: dict | None = None, provider: str = "kssl"):
    """``factory(**args)`` with the recipe's arguments checked against its signature.

    ``context`` values (input_shape, num_classes, ...) and ``objects`` (encoder,
    augmenter) are passed only when the factory's signature names them. Errors
    name the key path, e.g. ``pretext.temperature``; ``what`` names the component
    in messages (``pretext 'simclr'``). An :class:`~kssl.errors.ArgumentError` about one
    of the ``objects`` (e.g. a pretext task that takes no augmenter) names that object's
    own section (``augmenter``).

    A ``TypeError``/``ValueError`` from the factory is read as a bad argument (a
    :class:`~kssl.errors.RecipeError`, exit code 2); any other exception as a bug in the
    component: a :class:`~kssl.errors.PluginError` naming ``path``, the component and its
    ``provider`` (exit code 1), with the original exception as its ``__cause__``.
    """
    context, objects = context or {}, objects or {}
    params, opaque = _parameters(factory)
    if not opaque:
        for key in args:
            if key not in params or key in objects:
                allowed = [p for p in params if p not in objects and p not in context]
                raise RecipeError(
                    f"{path}.{key}",
                    f"unknown argument for {what}.{did_you_mean(key, allowed)} Its arguments: {', '.join(allowed) or '(none)'}.",
                )
    kwargs = dict(args)
    for source in context, objects:
        for key, value in source.items():
            if key in params and key not in kwargs:
                kwargs[key] = value
    if not opaque:
        for pname, p in params.items():
            if p.default is inspect.Parameter.empty and pname not in kwargs and pname != "self":
                raise RecipeError(f"{path}.{pname}", f"missing required argument of {what}. Add `{pname}: ...` to the {path} section.")
    try:
        return factory(**kwargs)
    except ArgumentError as exc:
        raise RecipeError(exc.argument if exc.argument in objects else f"{path}.{exc.argument}", exc.message) from None
    except KsslError:
        raise
    except (TypeError, ValueError) as exc:
        raise RecipeError(path, f"could not build {what} ({provider}): {exc}") from None
    except Exception as exc:  # a bug in the component, not in the recipe: one paragraph that says whom to tell
        raise PluginError(
            path,
            f"the {what} factory from {provider!r} failed with {type(exc).__name__}: {_first_line(exc)}. "
            f"This is an error inside {provider!r}, not a problem kssl found in your recipe: report it to the "
            f"maintainers of {provider!r} with this message and the {path} section of your recipe.",
            provider,
        ) from exc
