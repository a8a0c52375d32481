"""What the image-text evaluators and ``kssl search`` need of a model: images and texts embedded in one space."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from kssl.errors import KsslError
from kssl.eval.knn import unit_rows

__all__ = ["ImageTextModel", "captions_of", "embed_images", "embed_texts", "heldout_mask", "require_image_text"]


@runtime_checkable
class ImageTextModel(Protocol):
    """The contract of an image-text (CLIP-style) pretext model: an image tower and a text tower, one embedding space.

    ``embed_images(x, batch_size)`` -> (N, D) and ``embed_texts(texts, batch_size)`` -> (M, D),
    both L2-normalised float arrays; ``embed_texts`` raises :class:`kssl.KsslError` for a text
    it cannot encode (empty, only unknown words, longer than the text tower's context).
    """

    def embed_images(self, x, batch_size: int = 256) -> np.ndarray: ...

    def embed_texts(self, texts: list, batch_size: int = 256) -> np.ndarray: ...


def require_image_text(who: str, model) -> None:
    """Raise :class:`KsslError` unless ``model`` has a text tower beside its image tower (``who`` starts the message)."""
    if not isinstance(model, ImageTextModel):
        raise KsslError(
            f"{who} needs an image-text model with a text tower (embed_images and embed_texts, e.g. `pretext: {{type: clip}}`), "
            f"but the model is a {type(model).__name__}, which does not embed both images and texts. Train an image-text pretext task "
            "(see docs/clip.md), or score this model with an image-only evaluator such as knn or linear_probe."
        )


def embed_images(model, x, batch_size: int) -> np.ndarray:
    """``model.embed_images(x)`` as float64 unit rows (N, D)."""
    return unit_rows(np.asarray(model.embed_images(x, batch_size=batch_size)).reshape(len(x), -1))


def embed_texts(who: str, model, texts: list, batch_size: int, what: str = "text") -> np.ndarray:
    """``model.embed_texts(texts)`` as float64 unit rows (M, D); a text the model refuses is named in the error."""
    texts = [str(t) for t in texts]
    try:
        embedded = model.embed_texts(texts, batch_size=batch_size)
    except KsslError as exc:
        raise KsslError(f"{who}: {_offender(model, texts, what) or str(exc)}") from None
    return unit_rows(np.asarray(embedded).reshape(len(texts), -1))


def _offender(model, texts: list, what: str) -> str:
    """The first text ``model.embed_texts`` refuses on its own, with the model's reason ('' if each passes alone)."""
    for text in texts:
        try:
            model.embed_texts([text], batch_size=1)
        except KsslError as exc:
            return f"the {what} {text!r} cannot be embedded: {exc}"
    return ""


def captions_of(who: str, data) -> list:
    """``data.context["test_captions"]``: per test image, a list of str (checked); raises :class:`KsslError` if absent or malformed."""
    captions = (data.context or {}).get("test_captions")
    n = 0 if data.x_test is None else len(data.x_test)
    if captions is None:
        raise KsslError(
            f"{who} needs captions of the test images (the dataset's context['test_captions']), but the dataset has none. "
            "Use an image-text dataset such as shape_scenes or image_captions."
        )
    if len(captions) != n:
        raise KsslError(f"{who}: the dataset gives captions for {len(captions)} test images but has {n}; expected one list of captions per test image.")
    for i, caps in enumerate(captions):
        if isinstance(caps, str) or not all(isinstance(c, str) for c in caps):
            raise KsslError(f"{who}: test_captions[{i}] is {caps!r}; expected a list of str (the captions of test image {i}).")
    if not any(len(caps) for caps in captions):
        raise KsslError(f"{who}: the dataset's test_captions are all empty lists; give each test image at least one caption.")
    return [list(caps) for caps in captions]


def heldout_mask(who: str, data):
    """``data.context["heldout_test"]`` as a bool array over ``x_test``, or None when the dataset has none."""
    mask = (data.context or {}).get("heldout_test")
    if mask is None:
        return None
    mask = np.asarray(mask)
    n = 0 if data.x_test is None else len(data.x_test)
    if mask.dtype != bool or mask.shape != (n,):
        raise KsslError(
            f"{who}: the dataset's heldout_test has dtype {mask.dtype} and shape {mask.shape}; expected a bool array of shape ({n},), one flag per test image."
        )
    return mask
