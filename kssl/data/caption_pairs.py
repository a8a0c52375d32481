"""Image-caption training pairs: a ``tf.data`` pipeline that pairs each image with one of its captions, drawn afresh each epoch."""

from __future__ import annotations

import numpy as np

from kssl.errors import KsslError


def check_captions(captions, where: str = "train_captions") -> list[list[str]]:
    """``captions`` as a list (one entry per image) of non-empty lists of non-empty str; :class:`KsslError` naming ``where`` otherwise."""
    if isinstance(captions, (str, bytes)) or not isinstance(captions, (list, tuple, np.ndarray)):
        raise KsslError(f"{where}: expected a list with one list of captions per image, got {type(captions).__name__}.")
    checked = []
    for i, texts in enumerate(captions):
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, (list, tuple, np.ndarray)) or len(texts) == 0:
            raise KsslError(f"{where}[{i}]: expected a non-empty list of captions for image {i}, got {texts!r}.")
        for text in texts:
            if not isinstance(text, str) or not text.strip():
                raise KsslError(f"{where}[{i}]: image {i} has an empty or non-text caption {text!r}; every caption must be non-empty text.")
        checked.append([str(t) for t in texts])
    if not checked:
        raise KsslError(f"{where}: no captions (an empty list); give one list of captions per training image.")
    return checked


def caption_table(captions: list[list[str]]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The captions flattened, and each image's first row in the flat list and its number of captions."""
    flat = [t for texts in captions for t in texts]
    counts = np.array([len(texts) for texts in captions], "int64")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype("int64")
    return flat, starts, counts


def caption_pairs(images, token_ids, starts, counts, batch_size: int, shuffle: bool = True, seed=None, replicas: int = 1):
    """``tf.data`` batches of ``{"images": (B, H, W, C), "token_ids": (B, L)}``.

    Image ``i`` is paired with row ``starts[i] + r % counts[i]`` of ``token_ids`` for a random ``r``
    drawn anew every time the dataset is iterated (every epoch), so each epoch sees a different
    caption of each image. With ``shuffle`` the images are reshuffled every epoch. Deterministic
    given ``seed``. With ``replicas`` > 1 (JAX data parallelism) a batch is cut to a multiple of
    ``replicas`` rows, so that it splits evenly over the devices.
    """
    import tensorflow as tf

    images = tf.constant(np.asarray(images, "float32"))
    token_ids = tf.constant(np.asarray(token_ids, "int32"))
    starts, counts = tf.constant(starts, tf.int64), tf.constant(counts, tf.int64)
    index = tf.data.Dataset.range(int(images.shape[0]))
    if shuffle:
        index = index.shuffle(int(images.shape[0]), seed=seed, reshuffle_each_iteration=True)
    draws = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)

    def pair(i, r):
        row = starts[i] + tf.math.floormod(r, counts[i])
        return {"images": tf.gather(images, i), "token_ids": tf.gather(token_ids, row)}

    def even(batch):  # rows that split evenly over the replicas
        rows = tf.shape(batch["images"])[0] // replicas * replicas
        return {key: value[:rows] for key, value in batch.items()}

    def not_empty(batch):
        return tf.shape(batch["images"])[0] > 0

    ds = tf.data.Dataset.zip((index, draws)).map(pair, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).batch(batch_size)
    if replicas > 1:
        ds = ds.map(even).filter(not_empty)
    return ds.prefetch(tf.data.AUTOTUNE)
