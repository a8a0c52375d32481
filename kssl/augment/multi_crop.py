"""Multi-crop: a few global views and several smaller local views of each image (SwAV, DINO)."""

from __future__ import annotations

import keras

from kssl.augment.random_resized_crop import RandomResizedCrop
from kssl.checks import check_int, check_range_pair
from kssl.errors import ArgumentError


@keras.saving.register_keras_serializable(package="kssl")
class MultiCrop(keras.layers.Layer):
    """Wraps a base augmenter and returns a list of views: ``global_crops`` global ones, then ``local_crops`` local ones.

    Multi-crop (Caron et al., "Unsupervised Learning of Visual Features by Contrasting Cluster
    Assignments", NeurIPS 2020, section 3.2; used again by DINO, ICCV 2021): besides the usual
    global views, each image gives several views of small regions, compared with the global ones.

    - A global view is ``augmenter(x)``; with ``global_scale`` it is then cropped to a random box of
      that area fraction; with ``global_size`` it is resized to ``global_size`` pixels square.
    - A local view is ``augmenter(x)`` cropped to a random box of ``local_scale`` of its area and
      resized to ``local_size`` pixels square (``None``: the image's size, for encoders with a fixed
      input shape such as the registry's ``resnet`` and ``cnn``).

    The crops are :class:`~kssl.augment.random_resized_crop.RandomResizedCrop` layers without a flip
    (the base augmenter flips when it should). With ``training=False`` the call returns the image
    itself ``global_crops`` times (resized to ``global_size`` when set) and no local views. Calling
    the layer returns a Python list (views of two sizes cannot be stacked), so it is used by a pretext
    task (``SwAV``, ``DINO`` build one from their own ``local_crops``-style arguments) rather than as
    a recipe's ``augmenter``. A ``global_size`` or ``local_size`` larger than the images raises an
    :class:`~kssl.errors.ArgumentError` naming that key when the layer is built.

    Args:
        augmenter: the base augmenter (a random ``keras.layers.Layer``), or None for crops of the image.
        global_crops: number of global views (>= 1).
        local_crops: number of local views (>= 0).
        global_size: side of the global views in pixels (None: the image's).
        local_size: side of the local views in pixels (None: the image's).
        global_scale: [low, high] area fraction of the global crops (None: no crop beyond the augmenter's).
        local_scale: [low, high] area fraction of the local crops.
        seed: seed of the crops' random streams (None: random).
    """

    def __init__(
        self,
        augmenter=None,
        global_crops: int = 2,
        local_crops: int = 0,
        global_size=None,
        local_size=None,
        global_scale=None,
        local_scale=(0.05, 0.4),
        seed=None,
        **kwargs,
    ):
        global_crops = check_int("global_crops", global_crops, low=1)
        local_crops = check_int("local_crops", local_crops, low=0)
        global_size = None if global_size is None else check_int("global_size", global_size, low=1)
        local_size = None if local_size is None else check_int("local_size", local_size, low=1)
        if global_scale is not None:
            global_scale = list(
                check_range_pair("global_scale", global_scale, low=0.0, high=1.0, low_inclusive=False, what="area fractions", example="[0.4, 1.0]")
            )
        local_scale = list(check_range_pair("local_scale", local_scale, low=0.0, high=1.0, low_inclusive=False, what="area fractions", example="[0.05, 0.4]"))
        super().__init__(**kwargs)
        if isinstance(augmenter, dict):  # from_config
            augmenter = keras.saving.deserialize_keras_object(augmenter)
        self.augmenter = augmenter
        self.global_crops = global_crops
        self.local_crops = local_crops
        self.global_size = global_size
        self.local_size = local_size
        self.global_scale = global_scale
        self.local_scale = local_scale
        self.seed = seed
        self.global_crop = None
        if global_scale is not None or global_size is not None:
            scale, ratio = (global_scale, (3 / 4, 4 / 3)) if global_scale is not None else ((1.0, 1.0), (1.0, 1.0))
            self.global_crop = RandomResizedCrop(scale=scale, ratio=ratio, flip_probability=0.0, seed=seed, size=global_size, name="global_crop")
        local_seed = None if seed is None else seed + 1
        self.local_crop = RandomResizedCrop(scale=local_scale, flip_probability=0.0, seed=local_seed, size=local_size, name="local_crop")

    def build(self, input_shape):
        side = min(int(input_shape[1]), int(input_shape[2]))
        for key, size in (("global_size", self.global_size), ("local_size", self.local_size)):
            if size is not None and size > side:
                raise ArgumentError(
                    key,
                    f"expected a crop side of at most the image's {side} pixels, got {size}. "
                    f"Crops are resized down from the image; use a value <= {side}, or null for the image's size.",
                )
        if self.augmenter is not None and not self.augmenter.built:
            self.augmenter.build(input_shape)
        if self.global_crop is not None:
            self.global_crop.build(input_shape)
        self.local_crop.build(input_shape)
        self.built = True

    def augment(self, images, training=False):
        """One view of the base augmenter (the images themselves without one or when not training)."""
        if self.augmenter is None or not training:
            return images
        return self.augmenter(images, training=True)

    def call(self, images, training=None):
        def global_view():
            view = self.augment(images, training)
            return view if self.global_crop is None else self.global_crop(view, training=training)

        views = [global_view() for _ in range(self.global_crops)]
        if training:
            views += [self.local_crop(self.augment(images, True), training=True) for _ in range(self.local_crops)]
        return views

    def compute_output_shape(self, input_shape):
        def shape(size):
            return tuple(input_shape) if size is None else (input_shape[0], size, size, *input_shape[3:])

        return [shape(self.global_size)] * self.global_crops + [shape(self.local_size)] * self.local_crops

    def get_config(self):
        config = super().get_config()
        config.update(
            augmenter=None if self.augmenter is None else keras.saving.serialize_keras_object(self.augmenter),
            global_crops=self.global_crops,
            local_crops=self.local_crops,
            global_size=self.global_size,
            local_size=self.local_size,
            global_scale=self.global_scale,
            local_scale=self.local_scale,
            seed=self.seed,
        )
        return config
