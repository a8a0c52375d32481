"""``MomentumPretextTask``: the base of every method with a momentum (EMA) target network."""

from __future__ import annotations

import keras
from keras import ops

from kssl.checks import check_number
from kssl.errors import ArgumentError
from kssl.pretext.momentum_update import MomentumUpdate
from kssl.pretext.pretext_task import PretextTask


def copy_network(model, prefix: str = "target_"):
    """A new, unbuilt network with the architecture of ``model`` (its own, fresh weights), named ``prefix + name``.

    The copy is made from ``model``'s Keras config, so it works for any serialisable
    encoder or head. Its weights become a copy of ``model``'s in
    :meth:`MomentumPretextTask.freeze_target`.
    """
    config = keras.saving.serialize_keras_object(model)
    if isinstance(config.get("config"), dict) and "name" in config["config"]:
        config["config"]["name"] = f"{prefix}{config['config']['name']}"
    return keras.saving.deserialize_keras_object(config)


def paired_weights(online_networks, target_networks) -> list:
    """(online variable, target variable) for every trainable weight of the online networks, in order.

    ``target_networks[i]`` is a copy (:func:`copy_network`) of ``online_networks[i]``, so their
    weights line up one to one. A target's batch-norm moving statistics are its own (they
    follow the batches the target sees), so only trainable online weights are paired.
    """
    pairs = []
    for online, target in zip(online_networks, target_networks):
        if len(online.weights) != len(target.weights):
            raise ValueError(f"the target {target.name!r} has {len(target.weights)} weights, its online network {online.name!r} {len(online.weights)}.")
        pairs.extend((o, t) for o, t in zip(online.weights, target.weights) if o.trainable)
    return pairs


@keras.saving.register_keras_serializable(package="kssl")
class MomentumPretextTask(PretextTask):
    """A pretext task with a momentum target: ``target ← m · target + (1 - m) · online`` after every step.

    The one mechanism for BYOL, MoCo v2, MoCo v3 and DINO. A subclass

    - creates its target networks in ``__init__``, usually with :func:`copy_network`
      (``self.target_encoder = copy_network(encoder)``);
    - implements :meth:`target_pairs`: the (online variable, target variable) pairs the
      update moves (:func:`paired_weights` lines up copies);
    - calls :meth:`freeze_target` at the end of its ``build_heads`` (after
      ``super().build_heads(input_shape)`` has created every weight): the target
      variables become non-trainable, so the optimizer never sees them, and a copy of
      the online ones. The target's layers stay trainable, so its batch-norm layers
      still normalise with batch statistics while training, as in the papers;
    - stops the gradient of what the target computes (``ops.stop_gradient``).

    The base provides :meth:`update_target` (the EMA step; momentum 0 copies) and
    :meth:`training_callbacks`, which returns :class:`~kssl.pretext.momentum_update.MomentumUpdate`:
    after every optimizer step it calls ``update_target(m)`` with ``m`` rising from
    ``base_momentum`` to 1 on a cosine over the run
    (:func:`~kssl.pretext.momentum_update.momentum_at`). ``fit`` adds the callback by itself,
    so ``model.fit(x)`` is all a user writes; on JAX it syncs the trainer's state first.

    A method with a momentum target compares augmented views, so it needs an augmenter
    (``needs_augmenter``): ``augmenter=None`` raises an error naming ``augmenter``.

    Args:
        encoder: ``keras.Model`` from samples to features (the online encoder).
        augmenter: random ``keras.layers.Layer`` making the views (training only).
        base_momentum: the target momentum at the start of training, in [0, 1).
    """

    needs_augmenter = True

    def __init__(self, encoder, augmenter=None, base_momentum: float = 0.99, **kwargs):
        super().__init__(encoder, augmenter, **kwargs)
        self.base_momentum = check_number("base_momentum", base_momentum)
        if not 0.0 <= self.base_momentum < 1.0:
            raise ArgumentError(
                "base_momentum",
                f"expected a momentum in [0, 1), got {base_momentum!r}. Typical values are 0.99 to 0.996 "
                "(1 would never move the target; the schedule itself rises to 1 by the end of training).",
            )

    def target_pairs(self) -> list:
        """(online variable, target variable) for every weight the momentum update moves. Subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} must implement target_pairs() (see kssl.pretext.momentum_task.paired_weights).")

    def freeze_target(self) -> None:
        """Make every target variable non-trainable and a copy of its online variable (call it from ``build_heads``)."""
        for _, target in self.target_pairs():
            target.trainable = False
        self.update_target(0.0)

    def update_target(self, momentum: float) -> None:
        """``target ← momentum * target + (1 - momentum) * online`` for every pair of :meth:`target_pairs`."""
        for online, target in self.target_pairs():
            if momentum == 0.0:
                target.assign(ops.copy(online))  # a copy: on JAX, sharing one buffer breaks buffer donation
            else:
                target.assign(momentum * target + (1.0 - momentum) * online)

    def training_callbacks(self, data=None) -> list:
        """The :class:`MomentumUpdate` of the target (``fit`` adds it unless the caller passes one)."""
        return [MomentumUpdate(self.base_momentum)]

    def get_config(self):
        return {**super().get_config(), "base_momentum": self.base_momentum}
