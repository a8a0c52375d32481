"""kssl-byol: BYOL (Bootstrap Your Own Latent) as a kssl plugin.

Adds the pretext task ``byol``. It brings its own loss (:mod:`kssl_byol.byol_loss`)
and its own training callback (:class:`kssl_byol.momentum_update.MomentumUpdate`),
which ``BYOL.training_callbacks`` returns and ``fit`` adds by itself, so a plain
``model.fit(x)`` updates the target.
"""

import kssl

__version__ = "0.1.0"
__all__ = ["kssl_register"]


@kssl.hookimpl
def kssl_register(registry):
    from kssl_byol.byol import BYOL

    registry.add("pretext", "byol", BYOL)
