"""Heads that pretext tasks put on top of an encoder."""

from kssl.heads.mlp_head import MLPHead

__all__ = ["MLPHead"]
