"""A recipe's component ``type`` names checked against the registry's names, before Keras is imported."""

from __future__ import annotations

from kssl.errors import KsslError, RecipeError

# recipe section -> registry kind (``eval`` is a list of evaluators)
SECTION_KINDS = {"data": "dataset", "augmenter": "augmenter", "encoder": "encoder", "pretext": "pretext"}


def check_component_names(recipe: dict, registry=None) -> None:
    """Raise :class:`RecipeError` (``pretext.type``, ``eval.0.type`` ...) for a type no plugin registered.

    Uses names only (:func:`kssl.plugins.get_registry` with ``import_components=False``),
    so an unknown or misspelt type is reported with its did-you-mean before Keras loads.
    """
    if registry is None:
        from kssl.plugins import get_registry  # the plugin manager (pluggy, entry points) only when asked

        registry = get_registry(import_components=False)
    specs = [(section, kind, recipe.get(section)) for section, kind in SECTION_KINDS.items()]
    specs += [(f"eval.{i}", "evaluator", spec) for i, spec in enumerate(recipe.get("eval") or [])]
    for path, kind, spec in specs:
        if isinstance(spec, dict) and isinstance(spec.get("type"), str):
            try:
                registry.entry(kind, spec["type"])
            except KsslError as exc:
                raise RecipeError(f"{path}.type", str(exc)) from None
