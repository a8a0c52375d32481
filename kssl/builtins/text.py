"""Built-in text components, registered through the same hook as third-party plugins.

Nothing registered here imports keras-hub or TensorFlow Text until it is used.
"""

from kssl.hookspecs import hookimpl


@hookimpl
def kssl_register(registry):
    from kssl.data.python_docs import python_docs
    from kssl.data.text_files import text_files
    from kssl.encoders.bert import bert
    from kssl.eval.masked_lm import MaskedLMEvaluator
    from kssl.eval.text_probe import TextProbeEvaluator
    from kssl.pretext.masked_lm import MaskedLanguageModel

    registry.add("encoder", "bert", bert)
    registry.add("pretext", "masked_lm", MaskedLanguageModel)
    registry.add("dataset", "python_docs", python_docs)
    registry.add("dataset", "text_files", text_files)
    registry.add("evaluator", "masked_lm", MaskedLMEvaluator)
    registry.add("evaluator", "text_probe", TextProbeEvaluator)
