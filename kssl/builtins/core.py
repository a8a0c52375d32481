"""Built-in components, registered through the same hook as third-party plugins."""

from kssl.hookspecs import hookimpl


@hookimpl
def kssl_register(registry):
    # pretext tasks
    from kssl.pretext.barlow_twins import BarlowTwins
    from kssl.pretext.simclr import SimCLR
    from kssl.pretext.vicreg import VICReg

    registry.add("pretext", "simclr", SimCLR)
    registry.add("pretext", "barlow_twins", BarlowTwins)
    registry.add("pretext", "vicreg", VICReg)

    # methods with a momentum target or a predictor (one EMA mechanism: kssl.pretext.momentum_task)
    from kssl.pretext.byol import BYOL
    from kssl.pretext.dino import DINO
    from kssl.pretext.moco_v2 import MoCoV2
    from kssl.pretext.moco_v3 import MoCoV3
    from kssl.pretext.simsiam import SimSiam

    registry.add("pretext", "byol", BYOL)
    registry.add("pretext", "dino", DINO)
    registry.add("pretext", "simsiam", SimSiam)
    registry.add("pretext", "moco_v2", MoCoV2)
    registry.add("pretext", "moco_v3", MoCoV3)

    # encoders and augmenters
    from kssl.augment.random_affine import RandomAffine
    from kssl.augment.simclr_augment import SimCLRAugment
    from kssl.encoders.cnn import cnn
    from kssl.encoders.mlp import mlp
    from kssl.encoders.resnet import resnet

    registry.add("encoder", "resnet", resnet)
    registry.add("encoder", "cnn", cnn)
    registry.add("encoder", "mlp", mlp)
    registry.add("augmenter", "simclr", SimCLRAugment)
    registry.add("augmenter", "affine", RandomAffine)

    # datasets and evaluators
    from kssl.data.digits import digits
    from kssl.data.image_folder import image_folder
    from kssl.data.keras_dataset import keras_dataset
    from kssl.data.numpy_file import numpy_file
    from kssl.eval.few_shot import FewShotEvaluator
    from kssl.eval.fine_tune import FineTuneEvaluator
    from kssl.eval.knn import KNNEvaluator
    from kssl.eval.label_efficiency import LabelEfficiencyEvaluator
    from kssl.eval.linear_probe import LinearProbeEvaluator

    registry.add("dataset", "digits", digits)
    registry.add("dataset", "numpy", numpy_file)
    registry.add("dataset", "image_folder", image_folder)
    registry.add("dataset", "keras", keras_dataset)
    registry.add("evaluator", "knn", KNNEvaluator)
    registry.add("evaluator", "linear_probe", LinearProbeEvaluator)
    registry.add("evaluator", "few_shot", FewShotEvaluator)
    registry.add("evaluator", "fine_tune", FineTuneEvaluator)
    registry.add("evaluator", "label_efficiency", LabelEfficiencyEvaluator)
