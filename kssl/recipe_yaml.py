"""Reading a recipe's YAML: safe, YAML 1.2 floats, duplicate keys refused, and its size bounded."""

from __future__ import annotations

import re

import yaml

from kssl.errors import RecipeError

MAX_VALUES = 100_000  # values in a recipe, YAML aliases counted as often as they are used (an alias "bomb" expands to 9**9)


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, key, first, second):
        super().__init__(f"duplicate key {key!r}")
        self.key, self.first, self.second = key, first, second


class _Loader(yaml.SafeLoader):
    """Safe YAML with YAML 1.2 floats: ``1e-3`` is a number (YAML 1.1 reads it as a string).

    A key given twice in one mapping is an error (plain YAML keeps the last one silently).
    """

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key, line = self.construct_object(key_node, deep=True), key_node.start_mark.line + 1
                try:
                    hash(key)
                except TypeError:  # an unhashable key: SafeLoader's own error reports it
                    continue
                if key in seen:
                    raise _DuplicateKey(key, seen[key], line)
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def parse_yaml(text: str, where: str):
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except _DuplicateKey as exc:
        lines = f"lines {exc.first} and {exc.second}" if exc.first != exc.second else f"line {exc.first}"
        raise RecipeError(
            "",
            f"{where}: the key {exc.key!r} appears twice in one mapping ({lines}); YAML would silently keep the last one. Remove or rename one of them.",
        ) from None
    except yaml.constructor.ConstructorError as exc:
        tag = getattr(exc, "problem", "") or ""
        raise RecipeError(
            "",
            f"{where}: YAML tags such as python objects are not allowed in recipes ({tag.strip()}). "
            "Recipes are plain data: use strings, numbers, lists and mappings.",
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise RecipeError("", f"{where}: malformed YAML{at}: {problem}. Fix the syntax and try again.") from None


def check_size(recipe: dict) -> None:
    """Refuse a recipe with more than MAX_VALUES values (lists and mappings nested through YAML aliases count in full)."""
    for key, section in recipe.items():
        count, stack = 0, [section]
        while stack:
            node = stack.pop()
            count += 1
            if count > MAX_VALUES:
                raise RecipeError(
                    str(key),
                    f"holds more than {MAX_VALUES:,} values (YAML aliases such as *name count each time they are used). "
                    "A recipe is a short configuration: put large data in files that the dataset reads.",
                )
            if isinstance(node, dict):
                stack.extend(node.values())
            elif isinstance(node, (list, tuple)):
                stack.extend(node)
