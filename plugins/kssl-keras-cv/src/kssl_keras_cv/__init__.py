"""kssl-keras-cv: keras-cv augmentation layers as kssl augmenters.

Registers ``keras_cv_rand_augment`` and ``keras_cv_random_crop_and_resize``.
Registration imports neither keras-cv nor TensorFlow; building one of the
augmenters checks the Keras backend first (keras-cv 0.9 layers run only on
TensorFlow) and then imports keras-cv, so other backends get a clear error and
recipes that do not use these names never pay for the import.
"""

import kssl

__version__ = "0.1.0"
__all__ = ["kssl_register"]


@kssl.hookimpl
def kssl_register(registry):
    from kssl_keras_cv.keras_cv_rand_augment import KerasCVRandAugment
    from kssl_keras_cv.keras_cv_random_crop_and_resize import KerasCVRandomCropAndResize

    registry.add("augmenter", "keras_cv_rand_augment", KerasCVRandAugment)
    registry.add("augmenter", "keras_cv_random_crop_and_resize", KerasCVRandomCropAndResize)
