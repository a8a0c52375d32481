"""Saving pretext models: the ``encoder`` and ``augmenter`` entries of their Keras config.

A pretext model holds its encoder (and augmenter) as constructor arguments, so its
``get_config`` serialises them and its ``from_config`` rebuilds them::

    def get_config(self):
        return {**super().get_config(), **components_config(self.encoder, self.augmenter), "temperature": self.temperature}

    @classmethod
    def from_config(cls, config):
        return cls(**components_from_config(config))
"""

from __future__ import annotations

import keras


def components_config(encoder, augmenter=None) -> dict:
    """``{"encoder": ..., "augmenter": ...}`` serialised (``augmenter`` None when there is none)."""
    serialize = keras.saving.serialize_keras_object
    return {"encoder": serialize(encoder), "augmenter": serialize(augmenter) if augmenter is not None else None}


def components_from_config(config: dict) -> dict:
    """A copy of ``config`` with its ``encoder`` and ``augmenter`` (when present and set) deserialised."""
    config = dict(config)
    for key in ("encoder", "augmenter"):
        if config.get(key) is not None:
            config[key] = keras.saving.deserialize_keras_object(config[key])
    return config
