"""Built-in multimodal components, registered through the same hook as third-party plugins.

Each factory is a lazy reference (``"module:attribute"``): registering imports nothing heavy.
"""

from kssl.hookspecs import hookimpl


@hookimpl
def kssl_register(registry):
    registry.add("evaluator", "zero_shot", "kssl.eval.zero_shot:ZeroShotEvaluator")
    registry.add("evaluator", "retrieval", "kssl.eval.retrieval:RetrievalEvaluator")
    registry.add("pretext", "clip", "kssl.pretext.clip:clip")
    registry.add("encoder", "text_transformer", "kssl.encoders.text_transformer:text_transformer")
    registry.add("dataset", "shape_scenes", "kssl.data.shape_scenes:shape_scenes")
    registry.add("dataset", "image_captions", "kssl.data.image_captions:image_captions")
