"""Built-in text components, registered through the same hook as third-party plugins.

Each factory is a lazy reference (``"module:attribute"``): nothing registered here imports
Keras, keras-hub or TensorFlow Text until it is used.
"""

from kssl.hookspecs import hookimpl


@hookimpl
def kssl_register(registry):
    registry.add("encoder", "bert", "kssl.encoders.bert:bert")
    registry.add("pretext", "masked_lm", "kssl.pretext.masked_lm:MaskedLanguageModel")
    registry.add("dataset", "python_docs", "kssl.data.python_docs:python_docs")
    registry.add("dataset", "text_files", "kssl.data.text_files:text_files")
    registry.add("evaluator", "masked_lm", "kssl.eval.masked_lm:MaskedLMEvaluator")
    registry.add("evaluator", "text_probe", "kssl.eval.text_probe:TextProbeEvaluator")
    registry.add("encoder", "gpt", "kssl.encoders.gpt:gpt")
    registry.add("pretext", "causal_lm", "kssl.pretext.causal_lm:CausalLanguageModel")
    registry.add("evaluator", "perplexity", "kssl.eval.perplexity:PerplexityEvaluator")
