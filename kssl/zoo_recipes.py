"""The zoo: recipes shipped inside kssl (``kssl/zoo/``) and by plugins, found by name."""

from __future__ import annotations

from pathlib import Path

from kssl.errors import KsslError, did_you_mean
from kssl.plugins import plugin_zoo_recipes

ZOO_DIR = Path(__file__).parent / "zoo"


def zoo_recipes() -> dict[str, Path]:
    """Zoo recipe name -> path: kssl's own (shipped inside the package), then those plugins ship.

    A plugin recipe never shadows one of kssl's (see kssl.plugins.plugin_zoo_recipes).
    """
    recipes = {p.stem: p for p in sorted(ZOO_DIR.glob("*.yaml"))}
    for name, (path, _dist) in plugin_zoo_recipes().items():
        recipes.setdefault(name, path)
    return recipes


def resolve_source(source) -> Path:
    """A recipe path, or the name of a zoo recipe."""
    path = Path(source)
    if path.is_file():
        return path
    zoo = zoo_recipes()
    if str(source) in zoo:
        return zoo[str(source)]
    if path.suffix in (".yaml", ".yml") and path.stem in zoo and path.parent.name == "zoo":
        return zoo[path.stem]
    hint = did_you_mean(path.stem, zoo)
    raise KsslError(
        f"recipe {str(source)!r}: no such file, and no zoo recipe of that name.{hint} "
        f"Give a path to a YAML file or one of: {', '.join(zoo) or '(none)'} (see `kssl zoo`)."
    )
