"""kssl-inpainting: the context-encoder pretext task (inpainting a hidden region) as a kssl plugin.

Installing the distribution is enough: kssl finds this module through the
``kssl`` entry point and calls :func:`kssl_register`. Keras is imported only
inside the hook, after kssl has chosen the backend.
"""

import kssl

__version__ = "0.1.0"
__all__ = ["kssl_register"]


@kssl.hookimpl
def kssl_register(registry):
    from kssl_inpainting.inpainting import Inpainting

    registry.add("pretext", "inpainting", Inpainting)
