"""Self-supervised losses: pure ``keras.ops`` functions and thin ``keras.losses.Loss`` classes."""

from kssl.losses.nt_xent import NTXentLoss, nt_xent

__all__ = ["NTXentLoss", "nt_xent"]
