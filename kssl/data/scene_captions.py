"""Captions of generated shape scenes: several phrasings of the same scene, with attributes and spatial relations.

A scene is a list of one or two :class:`SceneObject` s. Captions name each object's colour and
shape and, depending on the phrasing, its size, where it is in the picture, or where it is
relative to the other object ("a small red circle to the left of a big blue square"). The same
scene is described in many ways, so a caption is never just a class name: a model must read the
colour, the shape, the size and the relation from the words.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Relations between the first object (left or top) and the second one, by layout.
RELATIONS = {
    "horizontal": (("to the left of", "to the right of"), ("on the left", "on the right")),
    "vertical": (("above", "below"), ("at the top", "at the bottom")),
}


@dataclass(frozen=True)
class SceneObject:
    """One shape of a scene: its shape and colour names, ``size`` (``small`` or ``big``), centre (x, y) and radius in pixels."""

    shape: str
    colour: str
    size: str
    x: float
    y: float
    radius: float

    @property
    def composition(self) -> str:
        """``"<colour> <shape>"``, the unit that held-out compositions are made of."""
        return f"{self.colour} {self.shape}"


def _a(obj: SceneObject, size: bool) -> str:
    return f"a {obj.size} {obj.colour} {obj.shape}" if size else f"a {obj.colour} {obj.shape}"


def _place(obj: SceneObject, image_size: int) -> str:
    """Where a lone object is: ``in the top left``, ``in the centre``, ... (thirds of the picture)."""
    third = image_size / 3.0
    row = ("top", "middle", "bottom")[min(2, int(obj.y // third))]
    col = ("left", "centre", "right")[min(2, int(obj.x // third))]
    if row == "middle":
        return "in the centre" if col == "centre" else f"on the {col}"
    return f"at the {row}" if col == "centre" else f"in the {row} {col}"


def _single(obj: SceneObject, image_size: int) -> list[str]:
    place = _place(obj, image_size)
    return [
        _a(obj, True),
        _a(obj, False),
        f"{_a(obj, True)} {place}",
        f"{_a(obj, False)} {place}",
        f"one {obj.colour} {obj.shape} on a dark background",
        f"there is {_a(obj, True)} {place}",
        f"a {obj.shape} that is {obj.colour} and {obj.size}",
        f"a single {obj.size} {obj.shape}, coloured {obj.colour}",
        f"{obj.colour} {obj.shape} alone {place}",
        f"a picture of {_a(obj, True)}",
    ]


def _pair(first: SceneObject, second: SceneObject, layout: str) -> list[str]:
    (rel, inverse), (side1, side2) = RELATIONS[layout]
    big, small = (first, second) if first.size == "big" else (second, first)
    return [
        f"{_a(first, True)} {rel} {_a(second, True)}",
        f"{_a(second, True)} {inverse} {_a(first, True)}",
        f"{_a(first, False)} {rel} {_a(second, False)}",
        f"{_a(second, False)} {inverse} {_a(first, False)}",
        f"two shapes: {_a(first, False)} and {_a(second, False)}",
        f"two shapes: {_a(second, True)} and {_a(first, True)}",
        f"{_a(first, False)} {side1} and {_a(second, False)} {side2}",
        f"{_a(big, False)} next to a smaller {small.colour} {small.shape}",
        f"a {small.colour} {small.shape} beside a larger {big.colour} {big.shape}",
        f"a {big.size} {big.shape} and a {small.size} {small.shape}, {big.colour} and {small.colour}",
    ]


def phrasings(objects: list[SceneObject], layout: str, image_size: int) -> list[str]:
    """Every caption template filled in for a scene of one object, or two in ``layout`` (``horizontal``: the first is
    on the left; ``vertical``: the first is on top)."""
    if len(objects) == 1:
        return _single(objects[0], image_size)
    first, second = objects
    return _pair(first, second, layout)


def describe(objects: list[SceneObject], layout: str, image_size: int, n: int, rng: np.random.Generator) -> list[str]:
    """``n`` different captions of one scene, drawn without replacement from :func:`phrasings` (all of them when ``n`` is larger)."""
    options = phrasings(objects, layout, image_size)
    picks = rng.permutation(len(options))[: min(n, len(options))]
    return [options[i] for i in picks]
