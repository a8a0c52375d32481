"""Built-in generative components (the VAE pretext task, the ELBO evaluator), registered through the same hook as third-party plugins.

Each factory is a lazy reference (``"module:attribute"``): registering imports nothing, so
`kssl plugins` and recipe checks answer before Keras is imported.
"""

from kssl.hookspecs import hookimpl


@hookimpl
def kssl_register(registry):
    registry.add("pretext", "vae", "kssl.pretext.vae:VAE")
    registry.add("evaluator", "elbo", "kssl.eval.elbo:ELBOEvaluator")
