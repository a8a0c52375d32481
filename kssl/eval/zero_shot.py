"""Zero-shot classification: each test image gets the class whose text prompts it is most similar to (no training)."""

from __future__ import annotations

import numpy as np

from kssl.checks import check_int
from kssl.errors import ArgumentError, KsslError, did_you_mean
from kssl.eval._image_text import embed_images, embed_texts, heldout_mask, require_image_text
from kssl.eval._labels import labels
from kssl.eval.evaluator import Evaluator
from kssl.eval.knn import unit_rows

__all__ = ["ZeroShotEvaluator"]


class ZeroShotEvaluator(Evaluator):
    """Classify test images by prompts alone, as in Radford et al., "Learning Transferable Visual Models From
    Natural Language Supervision" (CLIP, ICML 2021), sections 3.1.2 and 3.1.4 (prompt ensembling).

    Each class gets one prompt per template (``"a photo of a {}"`` with ``{}`` replaced by
    the class's name); the text embeddings of a class's prompts are averaged and L2-normalised
    (prompt ensembling), and each test image is assigned the class with the highest cosine
    similarity to its image embedding. Class names come from the dataset (underscores read as
    spaces) or from ``class_prompts``, which maps a class name to the words (or a list of
    alternative wordings) put into the templates. Needs an image-text model
    (``embed_images``/``embed_texts``, e.g. ``pretext: {type: clip}``) and a dataset with test
    labels and class names; training labels are never used.

    Returns ``{"zero_shot_accuracy": ...}`` on the test split and, when the dataset marks test
    images whose compositions never occur in training (``context["heldout_test"]``, e.g.
    ``shape_scenes``), ``zero_shot_heldout_accuracy`` on those alone.

    Args:
        templates: prompt templates, each with exactly one ``{}``.
        class_prompts: optional ``{class name: words or [words, ...]}``; classes not named use their name.
        batch_size: images and prompts embedded at once (default: the dataset's batch size).
    """

    name = "zero_shot"
    requires_labels = False  # test labels and class names only: checked by check_data

    def __init__(self, templates=("{}",), class_prompts: dict | None = None, batch_size: int | None = None):
        self.templates = _check_templates(templates)
        self.class_prompts = _check_class_prompts(class_prompts)
        self.batch_size = None if batch_size is None else check_int("batch_size", batch_size, low=1)
        self._checked_prompts = None  # set by check_data, so that check_model can try them on the model before training

    def get_config(self) -> dict:
        return {"templates": list(self.templates), "class_prompts": self.class_prompts, "batch_size": self.batch_size}

    def check_model(self, model) -> None:
        require_image_text(f"evaluator {self.name!r}", model)
        if self._checked_prompts:  # the dataset is known (check_data ran first, as the builder does): embed them now, not after training
            embed_texts(f"evaluator {self.name!r}", model, [p for ps in self._checked_prompts for p in ps], self.batch_size or 256, what="prompt")

    def check_data(self, data) -> None:
        self._checked_prompts = self.prompts(data)
        heldout_mask(f"evaluator {self.name!r}", data)

    def prompts(self, data) -> list:
        """Per class (in class-id order), the list of its prompts; raises :class:`KsslError` when the data cannot serve."""
        who = f"evaluator {self.name!r}"
        if data.x_test is None or data.y_test is None or len(data.x_test) == 0:
            raise KsslError(
                f"{who} needs a labeled test split (x_test, y_test), but the dataset has none. Use a labeled image-text dataset such as shape_scenes."
            )
        names = data.class_names
        if not names or len(names) < 2:
            raise KsslError(
                f"{who} needs the names of two or more classes to write prompts from (the dataset's class_names), got {names!r}. "
                "Use a dataset with named classes (class sub-folders, shape_scenes, ...)."
            )
        names = [str(n) for n in names]
        y = labels(data.y_test)
        if y.min() < 0 or y.max() >= len(names):
            raise KsslError(f"{who}: test labels range over {y.min()}..{y.max()}, but the dataset names {len(names)} classes.")
        unknown = [k for k in self.class_prompts if k not in names]
        if unknown:
            raise ArgumentError(
                "class_prompts",
                f"{unknown[0]!r} is not a class of the dataset (its classes: {', '.join(map(repr, names))}).{did_you_mean(unknown[0], names)}",
            )
        wordings = [self.class_prompts.get(n, [n.replace("_", " ")]) for n in names]
        return [[t.replace("{}", w) for w in ws for t in self.templates] for ws in wordings]

    def class_embeddings(self, model, prompts: list, batch_size: int) -> np.ndarray:
        """(C, D) unit rows: the mean text embedding of each class's prompts, L2-normalised."""
        flat = [p for ps in prompts for p in ps]
        embedded = embed_texts(f"evaluator {self.name!r}", model, flat, batch_size, what="prompt")
        ends = np.cumsum([len(ps) for ps in prompts])
        return unit_rows(np.stack([embedded[end - len(ps) : end].mean(axis=0) for ps, end in zip(prompts, ends, strict=True)]))

    def predict(self, model, x, prompts: list, batch_size: int = 256) -> np.ndarray:
        """The predicted class id of each image of ``x`` (N,)."""
        classes = self.class_embeddings(model, prompts, batch_size)
        return (embed_images(model, x, batch_size) @ classes.T).argmax(axis=1)

    def evaluate(self, model, data, features=None) -> dict:
        require_image_text(f"evaluator {self.name!r}", model)
        prompts = self.prompts(data)
        heldout = heldout_mask(f"evaluator {self.name!r}", data)
        correct = self.predict(model, data.x_test, prompts, self.batch_size or data.batch_size) == labels(data.y_test)
        scores = {"zero_shot_accuracy": float(correct.mean())}
        if heldout is not None and heldout.any():
            scores["zero_shot_heldout_accuracy"] = float(correct[heldout].mean())
        return scores


def _check_templates(templates) -> list:
    if isinstance(templates, str) or not isinstance(templates, (list, tuple)) or not templates:
        raise ArgumentError("templates", f'expected a non-empty list of prompt templates such as ["a photo of a {{}}"], got {templates!r}.')
    for t in templates:
        if not isinstance(t, str) or t.count("{}") != 1:
            raise ArgumentError(
                "templates",
                f"each template needs exactly one {{}} where the class name goes, got {t!r}. Write e.g. 'a photo of a {{}}'.",
            )
    return list(templates)


def _check_class_prompts(class_prompts) -> dict:
    if class_prompts is None:
        return {}
    if not isinstance(class_prompts, dict):
        raise ArgumentError("class_prompts", f"expected a mapping {{class name: words or [words, ...]}}, got {class_prompts!r}.")
    checked = {}
    for name, words in class_prompts.items():
        wordings = [words] if isinstance(words, str) else words
        if not isinstance(wordings, (list, tuple)) or not wordings or not all(isinstance(w, str) and w.strip() for w in wordings):
            raise ArgumentError(f"class_prompts.{name}", f"expected words (a non-empty str) or a non-empty list of them, got {words!r}.")
        checked[str(name)] = list(wordings)
    return checked
