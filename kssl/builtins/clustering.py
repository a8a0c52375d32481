"""Built-in clustering components (DEC, SwAV, the clustering evaluator), registered through the same hook as third-party plugins.

Each factory is a lazy reference (``"module:attribute"``): registering imports nothing, so
`kssl plugins` and recipe checks answer before Keras is imported.
"""

from kssl.hookspecs import hookimpl


@hookimpl
def kssl_register(registry):
    registry.add("pretext", "dec", "kssl.pretext.dec:DEC")
    registry.add("pretext", "swav", "kssl.pretext.swav:SwAV")
    registry.add("evaluator", "clustering", "kssl.eval.clustering:ClusteringEvaluator")
