"""A SimCLR recipe with a one-layer MLP on 8x8 digits (a run of a few epochs takes seconds), and helpers to look inside a run."""

import copy

import numpy as np

TINY_MLP = {
    "name": "tiny-mlp",
    "seed": 0,
    "data": {"type": "digits", "image_size": 8, "batch_size": 32, "limit": 128},
    "augmenter": {"type": "simclr", "crop_scale": [0.5, 1.0], "blur_probability": 0.0},
    "encoder": {"type": "mlp", "hidden_units": [16]},
    "pretext": {"type": "simclr", "projection_dim": 8, "projection_hidden_dims": [16], "temperature": 0.2},
    "optimizer": {"type": "adam", "learning_rate": 1.0e-2},
    "train": {"epochs": 2, "log_images": 0, "verbose": 0},
    "eval": [],
}
STEPS = 4  # 128 samples (digits' train split of the 160 kept) in batches of 32


def tiny_mlp(epochs: int = 2, **sections) -> dict:
    recipe = copy.deepcopy(TINY_MLP)
    recipe["train"]["epochs"] = epochs
    recipe.update(copy.deepcopy(sections))
    return recipe


def weights(model) -> list:
    return [np.array(w) for w in model.get_weights()]


def spy_on_fit(monkeypatch) -> list:
    """Record, each time kssl.training starts fitting, the model's and encoder's weights, the optimizer's step
    count and learning rate, and the initial epoch (a dict per call)."""
    import kssl.training

    seen = []
    real = kssl.training._fit_and_finish

    def spy(run_dir, recipe, model, data, evaluators, initial_epoch):
        seen.append(
            {
                "weights": weights(model),
                "encoder": weights(model.encoder),
                "iterations": int(np.asarray(model.optimizer.iterations)),
                "learning_rate": float(np.asarray(model.optimizer.learning_rate)),
                "initial_epoch": initial_epoch,
            }
        )
        return real(run_dir, recipe, model, data, evaluators, initial_epoch=initial_epoch)

    monkeypatch.setattr(kssl.training, "_fit_and_finish", spy)
    return seen


class Killed(Exception):
    """Stands for a kill -9 in the middle of a run (nothing of kssl catches it)."""


def kill_at_epoch_end(monkeypatch, epochs_done: int, before_checkpoint: bool = False):
    """Interrupt a run at the end of its ``epochs_done``-th epoch: after that epoch's history row, and after its
    checkpoint unless ``before_checkpoint``."""
    import kssl.callbacks

    real = kssl.callbacks.EpochCheckpoint.on_epoch_end

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == epochs_done and before_checkpoint:
            raise Killed
        real(self, epoch, logs)
        if epoch + 1 == epochs_done:
            raise Killed

    monkeypatch.setattr(kssl.callbacks.EpochCheckpoint, "on_epoch_end", on_epoch_end)
