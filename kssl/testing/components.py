"""Build a component through kssl's own factory call, train it one step, and check its contract."""

from __future__ import annotations

import numpy as np


def tiny_images(n: int = 8, size: int = 16, channels: int = 1, seed: int = 0) -> np.ndarray:
    """``n`` random float32 images (n, size, size, channels) in [0, 1]."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.0, 1.0, size=(n, size, size, channels)).astype("float32")


def tiny_encoder(input_shape=(16, 16, 1), features: int = 8):
    """A 2-layer functional encoder (conv, pool, dense) from images to (N, ``features``).

    Made of stock Keras layers, so it saves and reloads anywhere; use it to test a
    pretext task without depending on kssl's built-in encoders.
    """
    import keras

    inputs = keras.Input(tuple(input_shape))
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="tiny_conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="tiny_pool")(x)
    x = keras.layers.Dense(features, name="tiny_dense")(x)
    return keras.Model(inputs, x, name="tiny_encoder")


def build_component(kind: str, factory, args: dict | None = None, *, context: dict | None = None, objects: dict | None = None):
    """Call ``factory`` exactly as a recipe section ``{type: ..., **args}`` would.

    The factory is built with :func:`kssl.factories.call_factory`, as the builder does:
    recipe arguments are checked against its signature, ``context`` values
    (``input_shape``, ``num_classes``, ...) and ``objects`` (``encoder``,
    ``augmenter``) are passed only when it names them, and an ``ArgumentError``
    comes back as a ``RecipeError`` naming ``<kind>.<argument>``.
    """
    from kssl.factories import call_factory

    return call_factory(factory, dict(args or {}), kind, f"{kind} {getattr(factory, '__name__', 'factory')!r}", context, objects)


def _numpy(value):
    import keras

    return np.asarray(keras.ops.convert_to_numpy(value))


def fit_one_step(model, x, batch_size: int | None = None, optimizer=None) -> float:
    """One ``fit`` step on ``x`` (through the model's ``make_dataset`` when it has one).

    Compiles with Adam when the model is not compiled yet. Asserts the loss is
    finite and that training changed at least one trainable weight. Returns the loss.
    """
    import keras

    from kssl.training import fit_input

    if not getattr(model, "compiled", False):
        model.compile(optimizer=optimizer or keras.optimizers.Adam(1e-2))
    batch_size = batch_size or len(x)
    if not model.built:
        model(x[:2])
    before = [_numpy(v).copy() for v in model.trainable_variables]
    assert before, f"{type(model).__name__} has no trainable weights: nothing would be learned."
    data, kwargs = fit_input(model, x, batch_size, shuffle=False)
    detached = f"{type(model).__name__}: one fit step changed no trainable weight; is the loss connected to the weights?"
    try:
        history = model.fit(data, epochs=1, steps_per_epoch=1, verbose=0, **kwargs)
    except ValueError as exc:  # TensorFlow's way of saying the same
        if "No gradients provided" in str(exc):
            raise AssertionError(detached) from exc
        raise
    loss = history.history.get("loss", [None])[-1]
    assert loss is not None, f"{type(model).__name__}.fit logged no 'loss'; compute_loss must return the training loss."
    assert np.isfinite(loss), f"{type(model).__name__}: the first training step gave a non-finite loss ({loss})."
    after = [_numpy(v) for v in model.trainable_variables]
    assert any(not np.array_equal(b, a) for b, a in zip(before, after)), detached
    return float(loss)


def check_augmenter(factory, args: dict | None = None, *, x=None, random: bool = True, tmp_path=None):
    """Build an augmenter and check the contract: a Layer, identity-shaped, random only when training.

    ``x`` defaults to four 16x16 RGB images. ``random=False`` skips the check that two
    training calls differ (for deterministic transforms). Returns the layer.
    """
    import keras

    from kssl.testing.serialization import assert_round_trip

    x = tiny_images(4, 16, 3) if x is None else x
    layer = build_component("augmenter", factory, args, context={"input_shape": tuple(x.shape[1:])})
    name = type(layer).__name__
    assert isinstance(layer, keras.layers.Layer), f"an augmenter factory must return a keras.layers.Layer, got {name}."
    first = _numpy(layer(x, training=True))
    assert first.shape == tuple(x.shape), f"{name} changed the shape {tuple(x.shape)} -> {first.shape}; augmenters are identity-shaped."
    assert np.all(np.isfinite(first)), f"{name} produced non-finite values."
    if random:
        second = _numpy(layer(x, training=True))
        assert not np.allclose(first, second), f"{name}: two calls with training=True gave the same output; augmenters are random."
    still = _numpy(layer(x, training=False))
    assert np.allclose(still, x, atol=1e-6), f"{name}: with training=False the output differs from the input; augmenters are identity at inference."
    assert_round_trip(layer, x=x, tmp_path=tmp_path)
    return layer


def check_encoder(factory, args: dict | None = None, *, input_shape=(16, 16, 1), x=None, tmp_path=None):
    """Build an encoder for ``input_shape`` and check it maps (N, ...) to finite (N, D) features; round-trip it."""
    import keras

    from kssl.testing.serialization import assert_round_trip

    x = tiny_images(4, input_shape[0], input_shape[-1]) if x is None else x
    model = build_component("encoder", factory, args, context={"input_shape": tuple(input_shape)})
    name = type(model).__name__
    assert isinstance(model, keras.Model), f"an encoder factory must return a keras.Model, got {name}."
    features = _numpy(model(x, training=False))
    assert features.ndim == 2 and features.shape[0] == len(x), f"{name}: expected (N, D) features, got shape {features.shape}."
    assert np.all(np.isfinite(features)), f"{name} produced non-finite features."
    assert_round_trip(model, x=x, tmp_path=tmp_path)
    return model


def check_pretext(factory, args: dict | None = None, *, x=None, encoder=None, augmenter=None, batch_size: int | None = None, tmp_path=None):
    """Build a pretext task around a tiny encoder, train it one step, embed, and round-trip it.

    ``x`` defaults to eight 16x16 grayscale images (pass strings for a text task with
    ``make_dataset``). ``encoder`` defaults to :func:`tiny_encoder`; ``augmenter`` is
    passed when given. Checks: a ``kssl.PretextTask`` exposing the ``.encoder`` it was
    given, a finite loss and changed weights after one step, finite (N, D) features,
    and a ``.keras`` round trip with equal weights, outputs and features.
    Returns the trained model.
    """

    from kssl.pretext.pretext_task import PretextTask
    from kssl.testing.serialization import assert_round_trip

    x = tiny_images(8, 16, 1) if x is None else x
    input_shape = tuple(np.shape(x)[1:])
    if encoder is None:
        encoder = tiny_encoder(input_shape)
    objects = {"encoder": encoder}
    if augmenter is not None:
        objects["augmenter"] = augmenter
    context = {"input_shape": input_shape, "batch_size": batch_size or len(x)}
    model = build_component("pretext", factory, args, context=context, objects=objects)
    name = type(model).__name__
    assert isinstance(model, PretextTask), f"a pretext factory must return a kssl.PretextTask subclass, got {name}."
    assert getattr(model, "encoder", None) is encoder, f"{name} must expose the encoder it was given as `.encoder`."
    fit_one_step(model, x, batch_size=batch_size)
    features = model.embed(x, batch_size=batch_size or len(x))
    assert features.shape[0] == len(x) and np.all(np.isfinite(features)), f"{name}: bad features {features.shape} from embed()."
    numeric = isinstance(x, np.ndarray) and x.dtype.kind in "fiu"  # raw text goes through the task's own pipeline
    reloaded = assert_round_trip(model, x=x if numeric else None, tmp_path=tmp_path)
    again = reloaded.embed(x, batch_size=batch_size or len(x))
    np.testing.assert_allclose(again, features, rtol=1e-5, atol=1e-5, err_msg=f"{name}: features differ after a .keras round trip.")
    return model
