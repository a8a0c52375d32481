"""Heads that pretext tasks put on top of an encoder."""

from kssl.heads.mlp_head import MLPHead
from kssl.heads.prototypes import Prototypes
from kssl.heads.vae_decoder import VAEDecoder

__all__ = ["MLPHead", "Prototypes", "VAEDecoder"]
