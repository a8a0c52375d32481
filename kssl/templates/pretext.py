"""``kssl new-plugin NAME --kind pretext``: an example pretext task (alignment and uniformity, one projection head).

The example is a method kssl's core does not ship, so a generated plugin does not duplicate a built-in
(the core's VICReg, once the example here, is kssl.pretext.vicreg).
"""

from kssl.templates.common import Scaffold, recipe

COMPONENT = '''\
"""The $name pretext task (an example, alignment and uniformity: replace it with your method).

Wang and Isola, "Understanding Contrastive Representation Learning through Alignment and
Uniformity on the Hypersphere", ICML 2020.
"""

from __future__ import annotations

import keras
import kssl
from keras import ops
from kssl.checks import check_int, check_number, check_positive, check_widths
from kssl.heads import MLPHead
from kssl.losses import all_gather, scale_for_replicas, with_model_losses


def align_uniform_terms(za, zb, t: float = 2.0):
    """The (alignment, uniformity) terms of two (N, D) embeddings of the same N samples, after L2 normalisation.

    - alignment: the mean over samples of the squared distance ``||za_i - zb_i||^2`` of the two views;
    - uniformity: for each view, ``log mean_{i != j} exp(-t ||z_i - z_j||^2)`` over the pairs of
      different samples, averaged over the two views (low when the embeddings spread over the sphere).

    The uniformity is a statistic of the batch ``za`` and ``zb`` hold (``compute_loss`` gathers the global batch first).
    """
    za = ops.normalize(ops.cast(za, "float32"), axis=-1)
    zb = ops.normalize(ops.cast(zb, "float32"), axis=-1)
    alignment = ops.mean(ops.sum(ops.square(za - zb), axis=-1))
    n = ops.shape(za)[0]
    other = 1.0 - ops.eye(n, dtype="float32")
    pairs = ops.cast(n * (n - 1), "float32")
    uniformity = 0.0
    for z in (za, zb):
        squared = ops.maximum(2.0 - 2.0 * ops.matmul(z, ops.transpose(z)), 0.0)  # squared distances of unit vectors
        uniformity = uniformity + 0.5 * ops.log(ops.sum(ops.exp(-t * squared) * other) / pairs)
    return alignment, uniformity


@keras.saving.register_keras_serializable(package="$package")
class $cls(kssl.PretextTask):
    """Two augmented views, encoder + projection head, the alignment and uniformity loss on the projections.

    ``call`` returns the two views' projections stacked as (2, N, projection_dim);
    ``compute_loss`` is ``alignment + uniformity_weight * uniformity`` (:func:`align_uniform_terms`)
    plus the layers' own losses, and logs the two terms as metrics.

    Args:
        encoder: ``keras.Model`` from images to features.
        augmenter: random ``keras.layers.Layer`` (identity when not training), or None.
        projection_dim: output width of the projection head.
        projection_hidden_dims: hidden widths of the projection head.
        uniformity_weight: weight of the uniformity term (1 in the paper), >= 0.
        uniformity_t: the Gaussian potential's t > 0 (2 in the paper).
    """

    def __init__(
        self,
        encoder,
        augmenter=None,
        projection_dim: int = 64,
        projection_hidden_dims=(256,),
        uniformity_weight: float = 1.0,
        uniformity_t: float = 2.0,
        **kwargs,
    ):
        super().__init__(encoder, augmenter, **kwargs)
        self.projection_dim = check_int("projection_dim", projection_dim, low=1)
        self.projection_hidden_dims = check_widths("projection_hidden_dims", projection_hidden_dims)
        self.uniformity_weight = check_number("uniformity_weight", uniformity_weight, low=0.0)
        self.uniformity_t = check_positive("uniformity_t", uniformity_t)
        self.projector = MLPHead(self.projection_hidden_dims, self.projection_dim, name="projector")
        self.term_metrics = [keras.metrics.Mean(name=term) for term in ("alignment", "uniformity")]

    def call(self, x, training=False):
        va, vb = self.views(x, 2, training=training)
        za = self.projector(self.encoder(va, training=training), training=training)
        zb = self.projector(self.encoder(vb, training=training), training=training)
        return ops.stack([za, zb], axis=0)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        # The uniformity compares every pair of samples: gather every replica's rows (identity on one device).
        terms = align_uniform_terms(all_gather(y_pred[0]), all_gather(y_pred[1]), self.uniformity_t)
        for metric, value in zip(self.term_metrics, terms):
            metric.update_state(value)
        alignment, uniformity = terms
        loss = alignment + self.uniformity_weight * uniformity
        # Each replica computed the global loss: scale it as a keras.losses.Loss would, then add the layers' regularisers.
        return with_model_losses(self, scale_for_replicas(loss))

    def get_config(self):
        return {
            **super().get_config(),
            "projection_dim": self.projection_dim,
            "projection_hidden_dims": self.projection_hidden_dims,
            "uniformity_weight": self.uniformity_weight,
            "uniformity_t": self.uniformity_t,
        }
'''

TESTS = '''\
"""The $name pretext task: its contract, its loss against numpy, and its argument checks."""

import keras
import numpy as np
import pytest
from kssl.errors import RecipeError
from kssl.testing import build_component, check_pretext, tiny_encoder

from $package.$name import $cls, align_uniform_terms


def numpy_terms(za, zb, t=2.0):
    """Alignment and uniformity written out in numpy, one sample pair at a time."""
    za = za / np.linalg.norm(za, axis=1, keepdims=True)
    zb = zb / np.linalg.norm(zb, axis=1, keepdims=True)
    n = len(za)
    alignment = np.mean([np.sum((za[i] - zb[i]) ** 2) for i in range(n)])
    uniformity = 0.0
    for z in (za, zb):
        potentials = [np.exp(-t * np.sum((z[i] - z[j]) ** 2)) for i in range(n) for j in range(n) if i != j]
        uniformity += 0.5 * np.log(np.mean(potentials))
    return alignment, uniformity


def test_component(tmp_path):
    check_pretext($cls, {"projection_dim": 8, "projection_hidden_dims": [16]}, tmp_path=tmp_path)


def test_the_loss_terms_match_numpy():
    rng = np.random.default_rng(0)
    za = rng.normal(size=(12, 5)).astype("float32")
    zb = (za + 0.3 * rng.normal(size=(12, 5))).astype("float32")
    got = [float(keras.ops.convert_to_numpy(t)) for t in align_uniform_terms(za, zb)]
    np.testing.assert_allclose(got, numpy_terms(za.astype("float64"), zb.astype("float64")), rtol=1e-4)


def test_the_loss_weighs_the_terms():
    rng = np.random.default_rng(1)
    y_pred = rng.normal(size=(2, 10, 4)).astype("float32")
    model = $cls(tiny_encoder(), uniformity_weight=0.5, uniformity_t=3.0)
    loss = float(keras.ops.convert_to_numpy(model.compute_loss(y_pred=y_pred)))
    alignment, uniformity = numpy_terms(y_pred[0].astype("float64"), y_pred[1].astype("float64"), t=3.0)
    np.testing.assert_allclose(loss, alignment + 0.5 * uniformity, rtol=1e-4)


def test_bad_argument_names_the_recipe_key():
    with pytest.raises(RecipeError, match="pretext.projection_dim: expected an integer >= 1"):
        build_component("pretext", $cls, {"projection_dim": 0}, objects={"encoder": tiny_encoder()})
'''

RECIPE = recipe(
    "$title (the alignment and uniformity example) with a small CNN on the scikit-learn digits ($dist); offline, CPU minutes",
    pretext="{type: $name, projection_dim: 64, projection_hidden_dims: [128]}",
)

SCAFFOLD = Scaffold(
    kind="pretext",
    is_class=True,
    summary="alignment and uniformity with one projection head, an example to replace with your method",
    usage="pretext: {type: $name, projection_dim: 64, projection_hidden_dims: [256]}",
    develop="a `kssl.PretextTask` subclass; replace the example\n  with your method, keeping `__init__(encoder, augmenter=None, <your arguments>)`, `call`,\n  `compute_loss`, and `get_config` returning your arguments merged into the base's.",
    recipe=RECIPE,
    smoke_overrides=("data.limit=128", "data.image_size=16"),
    smoke_check='recipe["pretext"]["type"] == "$name"',
    component=COMPONENT,
    tests=TESTS,
)
