"""A stand-in image-text model for the zero-shot, retrieval and search tests: the CLIP interface, nothing trained.

Images: the encoder's output (a Dense layer on the flattened pixels), L2-normalised.
Texts: the sum of fixed random vectors of the known words (unknown words are dropped),
L2-normalised; an empty text, a text of unknown words only, or one with more words than
``context_length`` raises :class:`kssl.KsslError`, as the real text tower does.
"""

import zlib

import keras
import numpy as np

from kssl.errors import KsslError
from kssl.pretext.pretext_task import PretextTask


def word_vector(word: str, dim: int) -> np.ndarray:
    return np.random.default_rng(zlib.crc32(word.encode())).normal(size=dim)


def text_vectors(texts, vocabulary, dim) -> np.ndarray:
    """The fake's text embeddings, computed independently of the class (unit rows)."""
    rows = np.stack([sum(word_vector(w, dim) for w in t.split() if w in vocabulary) for t in texts])
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@keras.saving.register_keras_serializable(package="kssl_tests")
class FakeCLIP(PretextTask):
    def __init__(self, encoder, augmenter=None, vocabulary=(), context_length=8, **kwargs):
        super().__init__(encoder, augmenter, **kwargs)
        self.vocabulary = list(vocabulary)
        self.context_length = context_length
        self.text_calls = []

    def call(self, x, training=False):
        return self.encoder(x)

    def embed_images(self, x, batch_size=256):
        features = self.embed(x, batch_size=batch_size)
        return features / np.linalg.norm(features, axis=1, keepdims=True)

    def embed_texts(self, texts, batch_size=256):
        self.text_calls.append(list(texts))
        for t in texts:
            words = t.split()
            if not words:
                raise KsslError("the text is empty.")
            if len(words) > self.context_length:
                raise KsslError(f"the text has {len(words)} tokens, more than the text tower's context of {self.context_length}.")
            if not any(w in self.vocabulary for w in words):
                raise KsslError(f"none of the words of {t!r} is in the vocabulary.")
        dim = int(self.encoder.outputs[0].shape[-1])
        return text_vectors(texts, self.vocabulary, dim).astype("float32")

    def get_config(self):
        return {**super().get_config(), "vocabulary": self.vocabulary, "context_length": self.context_length}


def fake_clip(input_shape, vocabulary, dim=16, context_length=8, seed=0) -> FakeCLIP:
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(input_shape)
    outputs = keras.layers.Dense(dim)(keras.layers.Flatten()(inputs))
    model = FakeCLIP(keras.Model(inputs, outputs), vocabulary=vocabulary, context_length=context_length)
    model.build((None, *input_shape))
    return model


class ArrayCLIP:
    """The interface without Keras: an image (a vector) is its own embedding (unit rows); texts embed as in :func:`text_vectors`."""

    def __init__(self, vocabulary, dim):
        self.vocabulary, self.dim = list(vocabulary), dim
        self.text_calls = []

    def embed_images(self, x, batch_size=256):
        x = np.asarray(x).reshape(len(x), -1)
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    def embed_texts(self, texts, batch_size=256):
        self.text_calls.append(list(texts))
        for t in texts:
            if not any(w in self.vocabulary for w in t.split()):
                raise KsslError(f"none of the words of {t!r} is in the vocabulary.")
        return text_vectors(texts, self.vocabulary, self.dim)


@keras.saving.register_keras_serializable(package="kssl_tests")
class ImageOnlyTask(PretextTask):
    """A pretext model with an image tower only (no ``embed_texts``): not an image-text model."""

    def call(self, x, training=False):
        return self.encoder(x)


def image_only(input_shape, dim=16) -> ImageOnlyTask:
    inputs = keras.Input(input_shape)
    model = ImageOnlyTask(keras.Model(inputs, keras.layers.Dense(dim)(keras.layers.Flatten()(inputs))))
    model.build((None, *input_shape))
    return model
