"""``kssl new-plugin NAME --kind pretext``: an example pretext task (VICReg, one projection head)."""

from kssl.templates.common import Scaffold, recipe

COMPONENT = '''\
"""The $name pretext task (an example, VICReg: replace it with your method).

VICReg: Bardes, Ponce and LeCun, "VICReg: Variance-Invariance-Covariance
Regularization for Self-Supervised Learning", ICLR 2022.
"""

from __future__ import annotations

import keras
import kssl
from keras import ops
from kssl.checks import check_int, check_number, check_widths
from kssl.heads import MLPHead
from kssl.losses import all_gather, scale_for_replicas, with_model_losses


def vicreg_terms(za, zb, gamma: float = 1.0, epsilon: float = 1e-4):
    """VICReg's (invariance, variance, covariance) terms of two (N, D) embeddings of the same N samples.

    - invariance: the mean squared difference of the two embeddings;
    - variance: for each view, the mean over the D dimensions of max(0, gamma - sqrt(var + epsilon))
      (var: the unbiased variance over the batch), summed over the two views;
    - covariance: for each view, the sum of the squared off-diagonal entries of the (D, D)
      covariance matrix divided by D, summed over the two views.

    Statistics are over the batch ``za`` and ``zb`` hold (``compute_loss`` gathers the global batch first).
    """
    za, zb = ops.cast(za, "float32"), ops.cast(zb, "float32")
    invariance = ops.mean(ops.square(za - zb))
    n = ops.cast(ops.shape(za)[0], "float32")
    d = ops.shape(za)[1]
    variance = covariance = 0.0
    for z in (za, zb):
        centred = z - ops.mean(z, axis=0, keepdims=True)
        cov = ops.matmul(ops.transpose(centred), centred) / (n - 1.0)
        std = ops.sqrt(ops.diagonal(cov) + epsilon)
        variance = variance + ops.mean(ops.relu(gamma - std))
        off_diagonal = cov * (1.0 - ops.eye(d, dtype="float32"))
        covariance = covariance + ops.sum(ops.square(off_diagonal)) / ops.cast(d, "float32")
    return invariance, variance, covariance


@keras.saving.register_keras_serializable(package="$package")
class $cls(kssl.PretextTask):
    """Two augmented views, encoder + projection head, VICReg's loss on the projections.

    ``call`` returns the two views' projections stacked as (2, N, projection_dim);
    ``compute_loss`` is ``invariance_weight * invariance + variance_weight * variance +
    covariance_weight * covariance`` (:func:`vicreg_terms`) plus the layers' own losses,
    and logs the three terms as metrics.

    Args:
        encoder: ``keras.Model`` from images to features.
        augmenter: random ``keras.layers.Layer`` (identity when not training), or None.
        projection_dim: output width of the projection head.
        projection_hidden_dims: hidden widths of the projection head.
        invariance_weight: weight of the invariance term (25 in the paper), >= 0.
        variance_weight: weight of the variance term (25 in the paper), >= 0.
        covariance_weight: weight of the covariance term (1 in the paper), >= 0.
    """

    def __init__(
        self,
        encoder,
        augmenter=None,
        projection_dim: int = 64,
        projection_hidden_dims=(256,),
        invariance_weight: float = 25.0,
        variance_weight: float = 25.0,
        covariance_weight: float = 1.0,
        **kwargs,
    ):
        super().__init__(encoder, augmenter, **kwargs)
        self.projection_dim = check_int("projection_dim", projection_dim, low=1)
        self.projection_hidden_dims = check_widths("projection_hidden_dims", projection_hidden_dims)
        self.invariance_weight = check_number("invariance_weight", invariance_weight, low=0.0)
        self.variance_weight = check_number("variance_weight", variance_weight, low=0.0)
        self.covariance_weight = check_number("covariance_weight", covariance_weight, low=0.0)
        self.projector = MLPHead(self.projection_hidden_dims, self.projection_dim, name="projector")
        self.term_metrics = [keras.metrics.Mean(name=term) for term in ("invariance", "variance", "covariance")]

    def call(self, x, training=False):
        va, vb = self.views(x, 2, training=training)
        za = self.projector(self.encoder(va, training=training), training=training)
        zb = self.projector(self.encoder(vb, training=training), training=training)
        return ops.stack([za, zb], axis=0)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        # The variance and covariance are batch statistics: gather every replica's rows (identity on one device).
        terms = vicreg_terms(all_gather(y_pred[0]), all_gather(y_pred[1]))
        for metric, value in zip(self.term_metrics, terms):
            metric.update_state(value)
        invariance, variance, covariance = terms
        loss = self.invariance_weight * invariance + self.variance_weight * variance + self.covariance_weight * covariance
        # Each replica computed the global loss: scale it as a keras.losses.Loss would, then add the layers' regularisers.
        return with_model_losses(self, scale_for_replicas(loss))

    def get_config(self):
        return {
            **super().get_config(),
            "projection_dim": self.projection_dim,
            "projection_hidden_dims": self.projection_hidden_dims,
            "invariance_weight": self.invariance_weight,
            "variance_weight": self.variance_weight,
            "covariance_weight": self.covariance_weight,
        }
'''

TESTS = '''\
"""The $name pretext task: its contract, its loss against numpy, and its argument checks."""

import keras
import numpy as np
import pytest
from kssl.errors import RecipeError
from kssl.testing import build_component, check_pretext, tiny_encoder

from $package.$name import $cls, vicreg_terms


def numpy_terms(za, zb, gamma=1.0, epsilon=1e-4):
    """VICReg's terms written out in numpy, one dimension pair at a time."""
    d = za.shape[1]
    invariance = np.mean((za - zb) ** 2)
    variance = covariance = 0.0
    for z in (za, zb):
        variance += np.mean([max(0.0, gamma - np.sqrt(np.var(z[:, j], ddof=1) + epsilon)) for j in range(d)])
        for i in range(d):
            for j in range(d):
                if i != j:
                    covariance += np.cov(z[:, i], z[:, j])[0, 1] ** 2 / d
    return invariance, variance, covariance


def test_component(tmp_path):
    check_pretext($cls, {"projection_dim": 8, "projection_hidden_dims": [16]}, tmp_path=tmp_path)


def test_the_loss_terms_match_numpy():
    rng = np.random.default_rng(0)
    za = rng.normal(size=(12, 5)).astype("float32")
    zb = (za + 0.3 * rng.normal(size=(12, 5))).astype("float32")
    got = [float(keras.ops.convert_to_numpy(t)) for t in vicreg_terms(za, zb)]
    np.testing.assert_allclose(got, numpy_terms(za.astype("float64"), zb.astype("float64")), rtol=1e-4)


def test_the_loss_weighs_the_terms():
    rng = np.random.default_rng(1)
    y_pred = rng.normal(size=(2, 10, 4)).astype("float32")
    model = $cls(tiny_encoder(), invariance_weight=2.0, variance_weight=3.0, covariance_weight=0.5)
    loss = float(keras.ops.convert_to_numpy(model.compute_loss(y_pred=y_pred)))
    invariance, variance, covariance = numpy_terms(y_pred[0].astype("float64"), y_pred[1].astype("float64"))
    np.testing.assert_allclose(loss, 2.0 * invariance + 3.0 * variance + 0.5 * covariance, rtol=1e-4)


def test_bad_argument_names_the_recipe_key():
    with pytest.raises(RecipeError, match="pretext.projection_dim: expected an integer >= 1"):
        build_component("pretext", $cls, {"projection_dim": 0}, objects={"encoder": tiny_encoder()})
'''

RECIPE = recipe(
    "$title (the VICReg example) with a small CNN on the scikit-learn digits ($dist); offline, CPU minutes",
    pretext="{type: $name, projection_dim: 64, projection_hidden_dims: [128]}",
)

SCAFFOLD = Scaffold(
    kind="pretext",
    is_class=True,
    summary="VICReg with one projection head, an example to replace with your method",
    usage="pretext: {type: $name, projection_dim: 64, projection_hidden_dims: [256]}",
    develop="a `kssl.PretextTask` subclass; replace the example\n  with your method, keeping `__init__(encoder, augmenter=None, <your arguments>)`, `call`,\n  `compute_loss`, and `get_config` returning your arguments merged into the base's.",
    recipe=RECIPE,
    smoke_overrides=("data.limit=128", "data.image_size=16"),
    smoke_check='recipe["pretext"]["type"] == "$name"',
    component=COMPONENT,
    tests=TESTS,
)
