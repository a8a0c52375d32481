"""``kssl.classifier``: an encoder with a new softmax head, a plain ``keras.Model`` from inputs to class probabilities."""

from __future__ import annotations

from kssl.checks import check_int, check_number

HEAD = "classifier_head"


def classifier(encoder, num_classes: int, dropout: float = 0.0, seed: int | None = None):
    """A ``keras.Model``: ``encoder`` (its weights shared, not copied) followed by a new softmax head.

    Images (or whatever ``encoder`` takes) in, class probabilities out; compile and ``fit``
    it like any Keras model (``sparse_categorical_crossentropy`` on integer labels). Feature
    maps of more than one dimension are flattened; the features are then standardised by a
    ``BatchNormalization`` without scale or offset (as in MAE's linear classifier: without
    it, fine-tuning SwAV's encoder on 10 labels per class scored 0.73 instead of 0.82, the
    head's learning rate being wrong for the features' scale) and fed to a ``Dense`` softmax. Built from standard
    layers only: saved as ``.keras`` it reloads without ``custom_objects`` whenever the
    encoder does (kssl's ResNet, CNN and MLP encoders do).

    Args:
        encoder: a ``keras.Model`` from inputs to features (e.g. ``model.encoder`` of a
            trained pretext task, or ``kssl.load_model("run/encoder.keras")``).
        num_classes: outputs of the head.
        dropout: dropout rate before the head (0: none).
        seed: seed of the head's initial weights and dropout.
    """
    import keras

    num_classes = check_int("num_classes", num_classes, low=2)
    dropout = check_number("dropout", dropout, low=0.0, high=1.0, high_inclusive=False)
    inputs = keras.Input(tuple(encoder.input.shape[1:]), dtype=encoder.input.dtype, name="inputs")
    x = encoder(inputs)
    if len(x.shape) > 2:
        x = keras.layers.Flatten(name="flatten")(x)
    # Features standardised over the batch (moving statistics at inference) before the head, as MAE's linear
    # classifier does: the head then trains at one learning rate whatever the encoder's feature scale.
    x = keras.layers.BatchNormalization(center=False, scale=False, name="feature_norm")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, seed=seed, name="dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", kernel_initializer=keras.initializers.GlorotUniform(seed=seed), dtype="float32", name=HEAD)(
        x
    )
    return keras.Model(inputs, outputs, name=f"{encoder.name}_classifier")


def copy_encoder(encoder, fresh: bool = False, seed: int | None = None):
    """A new encoder of the same architecture: the same weights, or (``fresh=True``) newly initialised ones.

    A fresh copy is what "the same network trained from scratch" starts from; its
    initialisers draw from ``keras.utils.set_random_seed(seed)`` when a seed is given.
    """
    import keras

    if seed is not None:
        keras.utils.set_random_seed(seed)
    copy = keras.models.clone_model(encoder)
    if not fresh:
        copy.set_weights(encoder.get_weights())
    return copy
