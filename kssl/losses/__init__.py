"""Self-supervised losses: pure ``keras.ops`` functions and thin ``keras.losses.Loss`` classes, and the
cross-replica helpers that make a batch-level loss see the global batch under every strategy."""

from kssl.losses.barlow_twins import BarlowTwinsLoss, barlow_twins_loss, cross_correlation
from kssl.losses.bernoulli_nll import BernoulliNLLLoss, bernoulli_nll
from kssl.losses.byol import BYOLLoss, byol_loss
from kssl.losses.clip_loss import CLIPLoss, clip_loss
from kssl.losses.cola_loss import COLALoss, cola_logits, cola_loss
from kssl.losses.cross_replica import all_gather, num_replicas, on_global_batch, scale_for_replicas, with_model_losses
from kssl.losses.dec_loss import DECLoss, dec_kl, student_t_assignment, target_distribution
from kssl.losses.dino import DINOLoss, dino_loss, updated_center
from kssl.losses.gaussian_kl import GaussianKLLoss, diagonal_gaussian_log_density, gaussian_kl
from kssl.losses.gaussian_nll import GaussianNLLLoss, gaussian_nll
from kssl.losses.masked_lm import MaskedLMLoss, masked_lm_loss
from kssl.losses.masked_patch_mse import MaskedPatchMSELoss, masked_patch_mse
from kssl.losses.moco import MoCoLoss, enqueue, moco_logits, moco_loss
from kssl.losses.moco_v3 import MoCoV3Loss, moco_v3_contrastive, moco_v3_logits
from kssl.losses.nt_xent import NTXentLoss, nt_xent, nt_xent_logits
from kssl.losses.siglip_loss import SigLIPLoss, siglip_loss
from kssl.losses.simsiam import SimSiamLoss, negative_cosine, simsiam_loss
from kssl.losses.sinkhorn import sinkhorn
from kssl.losses.swav_loss import SwAVLoss, swapped_prediction
from kssl.losses.vicreg import VICRegLoss, vicreg_loss, vicreg_terms

__all__ = [
    "BarlowTwinsLoss",
    "BernoulliNLLLoss",
    "BYOLLoss",
    "CLIPLoss",
    "COLALoss",
    "DECLoss",
    "DINOLoss",
    "GaussianKLLoss",
    "GaussianNLLLoss",
    "MaskedLMLoss",
    "MaskedPatchMSELoss",
    "MoCoLoss",
    "MoCoV3Loss",
    "NTXentLoss",
    "SigLIPLoss",
    "SimSiamLoss",
    "SwAVLoss",
    "VICRegLoss",
    "all_gather",
    "barlow_twins_loss",
    "bernoulli_nll",
    "byol_loss",
    "clip_loss",
    "cola_logits",
    "cola_loss",
    "cross_correlation",
    "dec_kl",
    "diagonal_gaussian_log_density",
    "dino_loss",
    "enqueue",
    "gaussian_kl",
    "gaussian_nll",
    "masked_lm_loss",
    "masked_patch_mse",
    "moco_logits",
    "moco_loss",
    "moco_v3_contrastive",
    "moco_v3_logits",
    "negative_cosine",
    "nt_xent",
    "nt_xent_logits",
    "num_replicas",
    "on_global_batch",
    "scale_for_replicas",
    "simsiam_loss",
    "siglip_loss",
    "sinkhorn",
    "student_t_assignment",
    "swapped_prediction",
    "target_distribution",
    "updated_center",
    "vicreg_loss",
    "vicreg_terms",
    "with_model_losses",
]
