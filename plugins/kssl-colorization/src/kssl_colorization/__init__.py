"""kssl-colorization: the colorization pretext task and offline colour data as a kssl plugin.

Installing the distribution is enough: kssl finds this module through the ``kssl`` entry point and
calls :func:`kssl_register`. The components are registered as lazy references: this module stays
light (no Keras, no scikit-image), and kssl imports a component only when a recipe uses it.
"""

import kssl

__version__ = "0.1.0"
__all__ = ["kssl_register"]


@kssl.hookimpl
def kssl_register(registry):
    registry.add("pretext", "colorization", "kssl_colorization.colorization:Colorization")
    registry.add("dataset", "colour_tiles", "kssl_colorization.colour_tiles:colour_tiles")
