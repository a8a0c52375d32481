"""The search space of ``kssl tune``: ``KEY=SPEC`` items, checked against a recipe and declared as KerasTuner hyperparameters.

KEY is a recipe key path as in ``--set`` (list items by index: ``augmenter.crop_scale.0``). SPEC:

=========================  ==============================================================  =====================
SPEC                       values                                                          KerasTuner
=========================  ==============================================================  =====================
``float:LOW:HIGH``         real numbers, uniform on [LOW, HIGH]                            ``hp.Float``
``float:LOW:HIGH:log``     real numbers, uniform in log space (LOW > 0)                    ``hp.Float(sampling="log")``
``float:LOW:HIGH:step=S``  LOW, LOW + S, ... up to HIGH                                     ``hp.Float(step=S)``
``int:LOW:HIGH``           the integers LOW..HIGH (both included)                          ``hp.Int``
``int:LOW:HIGH:log``       integers, uniform in log space (LOW > 0)                        ``hp.Int(sampling="log")``
``int:LOW:HIGH:step=S``    LOW, LOW + S, ... up to HIGH                                     ``hp.Int(step=S)``
``choice:V1,V2,...``       one of two or more values (YAML scalars: numbers, words, bools)  ``hp.Choice``
=========================  ==============================================================  =====================
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import yaml

from kssl.errors import KsslError, did_you_mean

KINDS = ("float", "int", "choice")
# Keys a search may not vary: what names the runs, what the search itself sets (--epochs), and recorded results.
RESERVED = ("name", "description", "backend", "train.epochs", "results", "tolerances")
GRAMMAR = "float:LOW:HIGH[:log|:step=S], int:LOW:HIGH[:log|:step=S] or choice:V1,V2,..."
EXAMPLES = (
    "e.g. --space augmenter.jitter_strength=float:0.1:1.0 --space optimizer.learning_rate=float:1e-4:1e-2:log --space pretext.temperature=choice:0.1,0.2,0.5"
)


@dataclass(frozen=True)
class Dimension:
    """One searched recipe key: ``kind`` float, int or choice, with its bounds or values, as written in ``spec``."""

    key: str
    kind: str
    spec: str
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: float | int | None = None
    choices: tuple = ()

    def declare(self, hp):
        """Declare this key on a ``keras_tuner.HyperParameters``; returns its default value."""
        if self.kind == "choice":
            return hp.Choice(self.key, list(self.choices))
        make = hp.Float if self.kind == "float" else hp.Int
        return make(self.key, self.low, self.high, step=self.step, sampling="log" if self.log else "linear")

    def extremes(self) -> list:
        """The values that bound this dimension: LOW and HIGH, or every choice (checked against the recipe up front)."""
        return list(self.choices) if self.kind == "choice" else [self.low, self.high]


def _fail(item: str, message: str):
    raise KsslError(f"--space {item!r}: {message} Expected KEY=SPEC with SPEC one of {GRAMMAR}; {EXAMPLES}.")


def _number(item: str, kind: str, text: str, what: str):
    try:
        value = int(text) if kind == "int" else float(text)
    except ValueError:
        _fail(item, f"{what} {text!r} is not {'an integer' if kind == 'int' else 'a number'}.")
    if not math.isfinite(value):
        _fail(item, f"{what} {text!r} is not finite.")
    return value


def _bounded(item: str, key: str, kind: str, fields: list[str]) -> Dimension:
    if len(fields) not in (2, 3):
        _fail(item, f"{kind} takes LOW:HIGH and an optional :log or :step=S, got {len(fields)} field(s) after {kind!r}.")
    low, high = (_number(item, kind, text.strip(), what) for text, what in zip(fields[:2], ("LOW", "HIGH")))
    if not low < high:
        _fail(item, f"LOW must be below HIGH, got LOW={low} and HIGH={high}.")
    log, step = False, None
    if len(fields) == 3:
        modifier = fields[2].strip()
        if modifier == "log":
            log = True
            if low <= 0:
                _fail(item, f"log sampling needs LOW > 0, got LOW={low}.")
        elif modifier.startswith("step="):
            step = _number(item, kind, modifier[len("step=") :].strip(), "step")
            if not 0 < step <= high - low:
                _fail(item, f"step must be positive and at most HIGH - LOW ({high - low}), got {step}.")
        else:
            _fail(item, f"unknown modifier {modifier!r}; use 'log' or 'step=S'.{did_you_mean(modifier, ('log', 'step='))}")
    return Dimension(key=key, kind=kind, spec=item.split("=", 1)[1].strip(), low=low, high=high, log=log, step=step)


def _choice(item: str, key: str, text: str) -> Dimension:
    values = []
    for part in text.split(","):
        try:
            value = yaml.safe_load(part.strip()) if part.strip() else None
        except yaml.YAMLError:
            value = None  # e.g. "[1": refused below
        if value is None or not isinstance(value, (str, numbers.Real)):
            _fail(item, f"choice value {part.strip()!r} is not a number, word or true/false (lists and mappings cannot be chosen: search their items).")
        if isinstance(value, float) and not math.isfinite(value):
            _fail(item, f"choice value {part.strip()!r} is not finite.")
        values.append(value)
    if len(values) < 2:
        _fail(item, "choice needs two or more values separated by commas.")
    kinds = {bool if isinstance(v, bool) else str if isinstance(v, str) else numbers.Real for v in values}
    if len(kinds) > 1:
        _fail(item, f"choice values must all be numbers, all words or all true/false, got {values}.")
    if kinds == {numbers.Real} and any(isinstance(v, float) for v in values):
        values = [float(v) for v in values]  # KerasTuner's Choice takes one type: 1 and 0.5 become 1.0 and 0.5
    if len(set(values)) != len(values):
        _fail(item, f"choice values repeat: {values}.")
    return Dimension(key=key, kind="choice", spec=item.split("=", 1)[1].strip(), choices=tuple(values))


def parse_item(item: str) -> Dimension:
    """``"augmenter.jitter_strength=float:0.1:1.0"`` -> a :class:`Dimension` (the key is not checked against a recipe here)."""
    if not isinstance(item, str) or "=" not in item:
        _fail(str(item), "no '=' between the key and the SPEC.")
    key, spec = (part.strip() for part in item.split("=", 1))
    if not key or any(not part for part in key.split(".")):
        _fail(item, f"the key path {key!r} is empty or has an empty part.")
    if not spec:
        _fail(item, "the SPEC is empty.")
    kind, _, rest = spec.partition(":")
    kind = kind.strip()
    if kind not in KINDS:
        _fail(item, f"unknown kind {kind!r}.{did_you_mean(kind, KINDS)}")
    if kind == "choice":
        return _choice(item, key, rest)
    return _bounded(item, key, kind, rest.split(":"))


def parse_space(items) -> list[Dimension]:
    """Every ``--space`` item parsed; an empty space or a key given twice is bad input."""
    if not items:
        raise KsslError(f"no --space given: name at least one recipe key to search, as KEY=SPEC with SPEC one of {GRAMMAR}; {EXAMPLES}.")
    dims = [parse_item(item) for item in items]
    seen = set()
    for dim in dims:
        if dim.key in seen:
            raise KsslError(f"--space {dim.key}: the key is given twice; search each key once.")
        seen.add(dim.key)
    return dims


def check_keys(dims: list[Dimension], recipe: dict) -> None:
    """Each searched key must name a value (not a section or a list) of the operative recipe, and not a reserved key."""
    for dim in dims:
        if dim.key in RESERVED or dim.key.split(".")[0] in ("results", "tolerances"):
            hint = "the number of epochs is --epochs" if dim.key == "train.epochs" else "it does not change what is trained"
            raise KsslError(f"--space {dim.key}: this key cannot be searched ({hint}). Searchable: component arguments, optimizer.*, train.*, seed.")
        node, here = recipe, []
        for part in dim.key.split("."):
            where = ".".join([*here, part])
            if isinstance(node, dict):
                if part not in node:
                    keys = ", ".join(map(str, node)) or "(none)"
                    raise KsslError(
                        f"--space {dim.key}: the recipe has no {where!r}.{did_you_mean(part, node)} Keys here: {keys}. "
                        f"To search a factory argument the recipe leaves at its default, add it first with --set {dim.key}=VALUE."
                    )
                node = node[part]
            elif isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise KsslError(f"--space {dim.key}: {'.'.join(here)!r} is a list of {len(node)}; expected an index below {len(node)}, got {part!r}.")
                node = node[int(part)]
            else:
                raise KsslError(f"--space {dim.key}: {'.'.join(here)!r} is a value ({node!r}), not a section; it has no keys.")
            here.append(part)
        if isinstance(node, (dict, list)):
            what = "a section" if isinstance(node, dict) else f"a list ({node!r})"
            raise KsslError(f"--space {dim.key}: this is {what}, not a single value; search its items, e.g. --space {dim.key}.0=float:0.1:0.5.")


def overrides(values: dict, dims: list[Dimension]) -> list[tuple[str, object]]:
    """The ``(key, value)`` overrides of a trial: its values of the searched keys, in the order of the space."""
    return [(dim.key, _plain(values[dim.key])) for dim in dims if dim.key in values]


def _plain(value):
    """A Python scalar for the recipe's YAML (numpy numbers become int/float)."""
    if isinstance(value, bool) or isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    return float(value)
