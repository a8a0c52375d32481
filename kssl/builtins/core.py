"""Built-in components, registered through the same hook as third-party plugins.

Each factory is a lazy reference (``"module:attribute"``): registering imports nothing, so
`kssl plugins` and recipe checks answer before Keras is imported.
"""

from kssl.hookspecs import hookimpl


@hookimpl
def kssl_register(registry):
    # pretext tasks
    registry.add("pretext", "simclr", "kssl.pretext.simclr:SimCLR")
    registry.add("pretext", "barlow_twins", "kssl.pretext.barlow_twins:BarlowTwins")
    registry.add("pretext", "vicreg", "kssl.pretext.vicreg:VICReg")
    registry.add("pretext", "mae", "kssl.pretext.mae:MAE")

    # methods with a momentum target or a predictor (one EMA mechanism: kssl.pretext.momentum_task)
    registry.add("pretext", "byol", "kssl.pretext.byol:BYOL")
    registry.add("pretext", "dino", "kssl.pretext.dino:DINO")
    registry.add("pretext", "simsiam", "kssl.pretext.simsiam:SimSiam")
    registry.add("pretext", "moco_v2", "kssl.pretext.moco_v2:MoCoV2")
    registry.add("pretext", "moco_v3", "kssl.pretext.moco_v3:MoCoV3")

    # encoders and augmenters
    registry.add("encoder", "resnet", "kssl.encoders.resnet:resnet")
    registry.add("encoder", "cnn", "kssl.encoders.cnn:cnn")
    registry.add("encoder", "mlp", "kssl.encoders.mlp:mlp")
    registry.add("encoder", "vit", "kssl.encoders.vit:vit")
    registry.add("augmenter", "simclr", "kssl.augment.simclr_augment:SimCLRAugment")
    registry.add("augmenter", "affine", "kssl.augment.random_affine:RandomAffine")

    # datasets and evaluators
    registry.add("dataset", "digits", "kssl.data.digits:digits")
    registry.add("dataset", "coloured_digits", "kssl.data.coloured_digits:coloured_digits")
    registry.add("dataset", "numpy", "kssl.data.numpy_file:numpy_file")
    registry.add("dataset", "image_folder", "kssl.data.image_folder:image_folder")
    registry.add("dataset", "manifest", "kssl.data.manifest:manifest")
    registry.add("dataset", "tfrecord", "kssl.data.tfrecord_dataset:tfrecord")
    registry.add("dataset", "keras", "kssl.data.keras_dataset:keras_dataset")
    registry.add("evaluator", "knn", "kssl.eval.knn:KNNEvaluator")
    registry.add("evaluator", "linear_probe", "kssl.eval.linear_probe:LinearProbeEvaluator")
    registry.add("evaluator", "few_shot", "kssl.eval.few_shot:FewShotEvaluator")
    registry.add("evaluator", "fine_tune", "kssl.eval.fine_tune:FineTuneEvaluator")
    registry.add("evaluator", "label_efficiency", "kssl.eval.label_efficiency:LabelEfficiencyEvaluator")
    registry.add("evaluator", "invariance", "kssl.eval.invariance:InvarianceEvaluator")
