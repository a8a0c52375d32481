"""The docs are checked against the code: every built-in component and argument is documented."""

import inspect
import re
from pathlib import Path

import pytest

from kssl.plugins import get_plugin_manager
from kssl.recipe import TOP_LEVEL, TRAIN_DEFAULTS

DOCS = Path(__file__).resolve().parents[1] / "docs"
# Filled in by kssl for encoders, augmenters, pretext tasks and evaluators. Datasets are built first, with no
# context and no objects: for a dataset each of these names is a real recipe argument and must be documented.
CONTEXT = {"input_shape", "num_classes", "encoder", "augmenter", "vocabulary_size", "sequence_length", "train_captions", "kwargs", "name"}


def _sections(text):
    """``### kind `name` `` headings -> the text under them."""
    parts = re.split(r"^### ", text, flags=re.M)
    return {p.splitlines()[0].strip(): p for p in parts[1:]}


def _builtin_entries():
    _, registry = get_plugin_manager()
    return [e for e in registry.entries() if e.provider == "kssl"]


@pytest.mark.parametrize("entry", _builtin_entries(), ids=lambda e: f"{e.kind}-{e.name}")
def test_every_builtin_component_and_argument_is_documented(entry):
    sections = _sections((DOCS / "recipes.md").read_text(encoding="utf-8"))
    heading = f"{entry.kind} `{entry.name}`"
    assert heading in sections, f"docs/recipes.md has no '### {heading}' section"
    body = sections[heading]
    skip = CONTEXT if entry.kind != "dataset" else set()
    for name, param in inspect.signature(entry.factory).parameters.items():
        if param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
            continue  # **kwargs / *args: not a recipe key
        if name not in skip and not name.startswith("_"):
            assert f"`{name}`" in body, f"docs/recipes.md: {heading} does not document argument `{name}`"


def test_recipe_sections_and_train_keys_are_documented():
    text = (DOCS / "recipes.md").read_text(encoding="utf-8")
    for key in (*TOP_LEVEL, *(f"train.{k}" for k in TRAIN_DEFAULTS)):
        assert f"`{key}`" in text, f"docs/recipes.md does not mention `{key}`"


def test_the_train_table_gives_the_real_defaults():
    import yaml

    rows = dict(re.findall(r"^\| `train\.(\w+)` \| ([^|]*) \|", (DOCS / "recipes.md").read_text(encoding="utf-8"), flags=re.M))
    assert set(rows) == set(TRAIN_DEFAULTS)
    for key, default in TRAIN_DEFAULTS.items():
        assert yaml.safe_load(rows[key]) == default, f"docs/recipes.md: train.{key} defaults to {default!r}, the table says {rows[key].strip()}"
