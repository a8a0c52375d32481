"""Self-supervised losses: pure ``keras.ops`` functions and thin ``keras.losses.Loss`` classes, and the
cross-replica helpers that make a batch-level loss see the global batch under every strategy."""

from kssl.losses.barlow_twins import BarlowTwinsLoss, barlow_twins_loss, cross_correlation
from kssl.losses.bernoulli_nll import BernoulliNLLLoss, bernoulli_nll
from kssl.losses.cross_replica import all_gather, num_replicas, on_global_batch, scale_for_replicas, with_model_losses
from kssl.losses.dec_loss import DECLoss, dec_kl, student_t_assignment, target_distribution
from kssl.losses.gaussian_kl import GaussianKLLoss, diagonal_gaussian_log_density, gaussian_kl
from kssl.losses.gaussian_nll import GaussianNLLLoss, gaussian_nll
from kssl.losses.masked_lm import MaskedLMLoss, masked_lm_loss
from kssl.losses.nt_xent import NTXentLoss, nt_xent, nt_xent_logits
from kssl.losses.sinkhorn import sinkhorn
from kssl.losses.swav_loss import SwAVLoss, swapped_prediction

__all__ = [
    "BarlowTwinsLoss",
    "BernoulliNLLLoss",
    "DECLoss",
    "GaussianKLLoss",
    "GaussianNLLLoss",
    "MaskedLMLoss",
    "NTXentLoss",
    "SwAVLoss",
    "all_gather",
    "barlow_twins_loss",
    "bernoulli_nll",
    "cross_correlation",
    "dec_kl",
    "diagonal_gaussian_log_density",
    "gaussian_kl",
    "gaussian_nll",
    "masked_lm_loss",
    "nt_xent",
    "nt_xent_logits",
    "num_replicas",
    "on_global_batch",
    "scale_for_replicas",
    "sinkhorn",
    "student_t_assignment",
    "swapped_prediction",
    "target_distribution",
    "with_model_losses",
]
