"""Built-in generative components (the VAE pretext task, the ELBO evaluator), registered through the same hook as third-party plugins."""

from kssl.hookspecs import hookimpl


@hookimpl
def kssl_register(registry):
    from kssl.eval.elbo import ELBOEvaluator
    from kssl.pretext.vae import VAE

    registry.add("pretext", "vae", VAE)
    registry.add("evaluator", "elbo", ELBOEvaluator)
