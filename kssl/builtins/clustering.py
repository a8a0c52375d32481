"""Built-in clustering components (DEC, SwAV, the clustering evaluator), registered through the same hook as third-party plugins."""

from kssl.hookspecs import hookimpl


@hookimpl
def kssl_register(registry):
    from kssl.eval.clustering import ClusteringEvaluator
    from kssl.pretext.dec import DEC
    from kssl.pretext.swav import SwAV

    registry.add("pretext", "dec", DEC)
    registry.add("pretext", "swav", SwAV)
    registry.add("evaluator", "clustering", ClusteringEvaluator)
