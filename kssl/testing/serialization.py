"""The ``.keras`` save/load round trip every kssl component must survive (house rule 3)."""

from __future__ import annotations

import inspect
import json
import tempfile
from pathlib import Path

import numpy as np


def _init_arguments(cls) -> set[str]:
    params = inspect.signature(cls.__init__).parameters
    return {n for n, p in params.items() if n != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _constructor_arguments(cls) -> list[str]:
    """The constructor arguments ``cls`` adds to its Keras base class (whose own the base class serialises)."""
    base = next((b for b in cls.__mro__[1:] if b.__module__.startswith("keras.")), object)
    inherited = _init_arguments(base) if base is not object else set()
    return sorted(_init_arguments(cls) - inherited)


def _normalised(config):
    return json.loads(json.dumps(config, default=repr, sort_keys=True))


def _outputs(model, x):
    import keras

    return [np.asarray(keras.ops.convert_to_numpy(t)) for t in keras.tree.flatten(model(x, training=False))]


def assert_round_trip(obj, *, x=None, tmp_path=None, atol: float = 1e-5):
    """Save ``obj`` to a ``.keras`` file, reload it without ``custom_objects``, and compare.

    ``obj`` is a ``keras.Model``, a ``keras.layers.Layer`` (wrapped in a functional
    model on ``x``'s shape, or round-tripped through its config when ``x`` is None)
    or a ``keras.losses.Loss`` (through its config). Checks that the class is the
    same, that ``get_config()`` names every constructor argument and is unchanged,
    that weights are equal, and (given ``x``) that inference outputs are equal.
    Returns the reloaded object.
    """
    import keras

    cls = type(obj)
    name = cls.__name__
    if not cls.__module__.startswith("keras."):  # a component class of the plugin's own
        missing = [a for a in _constructor_arguments(cls) if a not in obj.get_config()]
        assert not missing, f"{name}.get_config() lacks constructor argument(s) {missing}; it must return exactly them."
    if isinstance(obj, keras.losses.Loss) or (not isinstance(obj, keras.Model) and x is None):
        restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(obj))
        assert type(restored) is cls, f"{name} deserialised as {type(restored).__name__}; is it registered with keras.saving.register_keras_serializable?"
        assert _normalised(restored.get_config()) == _normalised(obj.get_config()), f"{name}: get_config() changed in the round trip."
        return restored

    if isinstance(obj, keras.Model):
        model = obj
        assert getattr(model, "built", False), f"{name} is not built; call it on data (or fit one step) before saving."
    else:
        inputs = keras.Input(tuple(np.shape(x)[1:]))
        model = keras.Model(inputs, obj(inputs), name="round_trip")

    folder = Path(tmp_path) if tmp_path is not None else Path(tempfile.mkdtemp(prefix="kssl-round-trip-"))
    path = folder / f"{name.lower()}_round_trip.keras"
    model.save(path)
    try:
        loaded = keras.models.load_model(path)
    except Exception as exc:  # the message a user would get, plus what to check
        raise AssertionError(
            f"{name} saved to {path} but does not reload without custom_objects: {type(exc).__name__}: {exc}. "
            "Register the class with @keras.saving.register_keras_serializable(package=...), return every "
            "constructor argument from get_config(), and rebuild nested objects in from_config()."
        ) from exc
    assert type(loaded) is type(model), f"{name} reloaded as {type(loaded).__name__}."
    assert _normalised(loaded.get_config()) == _normalised(model.get_config()), f"{name}: get_config() changed in the round trip."
    assert len(loaded.weights) == len(model.weights), f"{name}: {len(model.weights)} weights saved, {len(loaded.weights)} reloaded."
    for before, after in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(after), keras.ops.convert_to_numpy(before), err_msg=f"{name}: weight {before.path} changed in the round trip."
        )
    if x is not None:
        for before, after in zip(_outputs(model, x), _outputs(loaded, x)):
            np.testing.assert_allclose(after, before, atol=atol, rtol=1e-5, err_msg=f"{name}: outputs differ after the round trip.")
    if model is obj:
        return loaded
    [layer] = [found for found in loaded.layers if type(found) is cls]
    return layer
