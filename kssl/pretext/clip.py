"""CLIP and SigLIP: contrastive image-text pre-training (Radford et al., ICML 2021; Zhai et al., ICCV 2023)."""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from kssl.checks import check_bool, check_choice, check_int, check_number
from kssl.data.caption_pairs import caption_pairs, caption_table, check_captions
from kssl.errors import ArgumentError, KsslError
from kssl.inference import map_batches
from kssl.losses.clip_loss import CLIPLoss, pair_logits
from kssl.losses.cross_replica import all_gather, with_model_losses
from kssl.losses.l2_normalize import l2_normalize
from kssl.losses.siglip_loss import SigLIPLoss
from kssl.pretext.pretext_task import PretextTask
from kssl.text.packed_tokens import check_packed, check_prompts, pack_texts
from kssl.text.vocabulary import learn_vocabulary, read_vocabulary, write_vocabulary

LOSSES = ("clip", "siglip")
# Initial temperature (1 / scale) and bias of each loss, as in the papers: CLIP 0.07; SigLIP scale 10, bias -10.
INITIAL = {"clip": (0.07, None), "siglip": (0.1, -10.0)}
MAX_LOGIT_SCALE = 100.0  # CLIP clips the learned scale so that logits are never multiplied by more than 100


@keras.saving.register_keras_serializable(package="kssl")
class CLIP(PretextTask):
    """An image tower (the recipe's ``encoder``) and a text tower, projected linearly into one space and trained so that
    matching image-caption pairs score above every other pair of the global batch.

    ``loss: clip`` is CLIP's symmetric InfoNCE (softmax over texts per image and over images per
    text, :mod:`kssl.losses.clip_loss`); ``loss: siglip`` is SigLIP's sigmoid loss over all pairs
    with a learned bias (:mod:`kssl.losses.siglip_loss`). The logit scale is learned as its log
    (``logit_scale``, initialised at ``log(1 / temperature)``) and kept at most log 100 (a weight
    constraint, as CLIP clamps it). Embeddings of every replica are gathered before the loss.

    Data: ``fit(images)`` pairs each image with one of its captions (set with
    :meth:`use_captions`; a recipe's dataset provides them as ``train_captions``), drawn anew each
    epoch by :meth:`make_dataset`; captions are tokenised data-side with the model's WordPiece
    vocabulary (``[CLS] tokens [SEP]``, padded to ``sequence_length``). Captions are not saved
    with the model; the vocabulary is. ``call`` on a dict ``{"images", "token_ids"}`` returns both
    projections; on an image array, the image projections.

    For evaluators: :meth:`embed` is the image encoder's features (kNN, linear probe);
    :meth:`embed_images` and :meth:`embed_texts` are unit-length projected embeddings (zero-shot, retrieval).

    Args:
        encoder: the image encoder, ``keras.Model`` from images to features.
        augmenter: optional random image augmentation, applied when training.
        text_encoder: ``keras.Model`` from token ids (N, ``sequence_length``) to features (e.g. ``text_transformer``).
        vocabulary: the WordPiece vocabulary (a list of tokens or a file) with BERT's special tokens.
        sequence_length: tokens per packed caption, [CLS] and [SEP] included.
        lowercase: lowercase text before tokenising.
        projection_dim: width of the shared embedding space.
        loss: ``clip`` or ``siglip``.
        temperature: initial temperature (1 / logit scale); default 0.07 (clip) or 0.1 (siglip).
    """

    def __init__(
        self,
        encoder,
        augmenter=None,
        *,
        text_encoder,
        vocabulary,
        sequence_length: int = 32,
        lowercase: bool = True,
        projection_dim: int = 64,
        loss: str = "clip",
        temperature: float | None = None,
        **kwargs,
    ):
        super().__init__(encoder, augmenter, **kwargs)
        if isinstance(text_encoder, dict):  # from a saved config
            text_encoder = keras.saving.deserialize_keras_object(text_encoder)
        if not isinstance(text_encoder, keras.Model):
            raise ArgumentError("text_encoder", f"expected a keras.Model from token ids to features, got {type(text_encoder).__name__}.")
        self.text_encoder = text_encoder
        self.sequence_length = check_int("sequence_length", sequence_length, low=3)
        longest = getattr(text_encoder, "sequence_length", None)  # a text_transformer's position embeddings
        if longest is not None and int(longest) != self.sequence_length:
            raise ArgumentError("sequence_length", f"{self.sequence_length} differs from the text encoder's {longest} positions; they must match.")
        self.lowercase = check_bool("lowercase", lowercase)
        self.projection_dim = check_int("projection_dim", projection_dim, low=1)
        self.loss_name = check_choice("loss", loss, LOSSES)
        initial_temperature, initial_bias = INITIAL[self.loss_name]
        if temperature is not None:
            initial_temperature = check_number("temperature", temperature, low=1.0 / MAX_LOGIT_SCALE, high=10.0)
        self.temperature = temperature
        self._vocabulary = read_vocabulary(vocabulary)  # a private name: Keras does not wrap it in a tracked list
        import keras_hub  # TensorFlow Text (seconds to import): only when an image-text model is made

        self.tokenizer = keras_hub.models.BertTokenizer(vocabulary=self._vocabulary, lowercase=self.lowercase, name="tokenizer")
        self.packer = keras_hub.layers.StartEndPacker(
            self.sequence_length, self.tokenizer.cls_token_id, self.tokenizer.sep_token_id, self.tokenizer.pad_token_id, name="packer"
        )
        self.image_projection = keras.layers.Dense(self.projection_dim, use_bias=False, name="image_projection")
        self.text_projection = keras.layers.Dense(self.projection_dim, use_bias=False, name="text_projection")
        self.logit_scale = self.add_weight(
            shape=(1,),
            initializer=keras.initializers.Constant(math.log(1.0 / initial_temperature)),
            constraint=keras.constraints.MinMaxNorm(0.0, math.log(MAX_LOGIT_SCALE), rate=1.0, axis=0),
            name="logit_scale",
        )
        self.logit_bias = None
        if initial_bias is not None:
            self.logit_bias = self.add_weight(shape=(1,), initializer=keras.initializers.Constant(initial_bias), name="logit_bias")
        self.pair_loss = CLIPLoss() if self.loss_name == "clip" else SigLIPLoss()
        self.pair_accuracy = keras.metrics.Mean(name="pair_accuracy")
        self.scale_metric = keras.metrics.Mean(name="logit_scale")
        self._captions = None
        self._caption_rows = None

    # -- building ------------------------------------------------------------------------
    def build(self, input_shape):
        super().build(input_shape["images"] if isinstance(input_shape, dict) else input_shape)

    def build_heads(self, input_shape):
        sample = tuple(int(d) for d in input_shape[1:])
        tokens = ops.zeros((2, self.sequence_length), dtype="int32")
        self.call({"images": ops.zeros((2, *sample), dtype=self.compute_dtype), "token_ids": tokens}, training=False)

    # -- the model -----------------------------------------------------------------------
    def call(self, inputs, training=False):
        if not isinstance(inputs, dict):
            return self.image_projection(self.encoder(inputs, training=training))
        images = self.views(inputs["images"], 1, training=training)[0]
        return {
            "image": self.image_projection(self.encoder(images, training=training)),
            "text": self.text_projection(self.text_encoder(inputs["token_ids"], training=training)),
        }

    def logits(self, image_embeddings, text_embeddings):
        """The (N, M) pair logits: ``exp(logit_scale) * cos`` (+ the bias with SigLIP)."""
        bias = None if self.logit_bias is None else self.logit_bias[0]
        return pair_logits(image_embeddings, text_embeddings, self.logit_scale[0], bias)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        logits = self.logits(all_gather(y_pred["image"]), all_gather(y_pred["text"]))
        positives = ops.arange(ops.shape(logits)[0])
        loss = self.pair_loss(positives, logits)
        hits = ops.equal(ops.argmax(logits, axis=1), ops.cast(positives, "int64"))
        self.pair_accuracy.update_state(ops.cast(hits, "float32"))
        self.scale_metric.update_state(ops.exp(self.logit_scale[0]))
        return with_model_losses(self, loss)

    # -- captions and tokens -------------------------------------------------------------
    @property
    def vocabulary(self) -> list[str]:
        return list(self._vocabulary)

    def use_captions(self, captions) -> None:
        """Set the training captions: one list of captions per training image (not saved with the model)."""
        self._captions = check_captions(captions)
        self._caption_rows = None

    def use_context(self, context: dict) -> None:
        """A reloaded model (``kssl train --resume``) takes the dataset's ``train_captions`` again."""
        if context.get("train_captions") is not None:
            self.use_captions(context["train_captions"])

    def tokenize(self, texts, batch_size: int = 1024) -> np.ndarray:
        """Packed token ids (N, ``sequence_length``) int32 of a list of strings (data-side, in ``tf.data``); long texts are cut."""
        return pack_texts(self.tokenizer, self.packer, texts, self.sequence_length, batch_size)[0]

    def make_dataset(self, x, batch_size: int = 32, shuffle: bool = True, seed=None):
        """``tf.data`` batches of images, each with one of its captions drawn anew every epoch (:func:`~kssl.data.caption_pairs.caption_pairs`)."""
        from kssl.distribution import model_replicas

        if self._captions is None:
            raise KsslError(
                "CLIP.fit: CLIP trains on images paired with captions, and this model has none. Give one list of captions per "
                "training image with model.use_captions(captions), or train from a recipe whose dataset provides train_captions "
                "(shape_scenes, image_captions). A model reloaded from .keras does not keep its captions."
            )
        if len(x) != len(self._captions):
            raise KsslError(f"CLIP.fit: got {len(x)} images but captions for {len(self._captions)}; give the images the captions belong to.")
        if self._caption_rows is None:
            flat, starts, counts = caption_table(self._captions)
            self._caption_rows = (self.tokenize(flat), starts, counts)
        token_ids, starts, counts = self._caption_rows
        replicas = model_replicas(self) if keras.backend.backend() == "jax" else 1
        return caption_pairs(np.asarray(x), token_ids, starts, counts, batch_size, shuffle, seed, replicas)

    # -- embeddings for evaluators ---------------------------------------------------------
    def embed_images(self, x, batch_size: int = 256) -> np.ndarray:
        """Unit-length projected image embeddings (N, projection_dim) of float images in [0, 1]."""

        def project(batch):
            return l2_normalize(ops.cast(self.image_projection(self.encoder(batch, training=False)), "float32"), axis=1)

        return map_batches(project, np.asarray(x, "float32"), batch_size, (0, self.projection_dim)).astype("float32")

    def embed_texts(self, texts, batch_size: int = 256) -> np.ndarray:
        """Unit-length projected text embeddings (M, projection_dim), tokenised with the model's vocabulary.

        Raises :class:`KsslError` for an empty text, one of unknown words only (nothing to embed), or one longer than
        ``sequence_length - 2`` tokens (the model would read only its beginning).
        """
        texts = check_prompts(texts)
        ids, lengths = pack_texts(self.tokenizer, self.packer, texts, self.sequence_length)
        check_packed(texts, ids, lengths, self._vocabulary, self.sequence_length)

        def project(batch):
            return l2_normalize(ops.cast(self.text_projection(self.text_encoder(batch, training=False)), "float32"), axis=1)

        return map_batches(project, ids, batch_size, (0, self.projection_dim)).astype("float32")

    def write_artifacts(self, run_dir, data=None) -> list:
        """Save the vocabulary (``vocabulary.txt``, one token per line) in the run directory; returns its path."""
        from pathlib import Path

        return [write_vocabulary(self._vocabulary, Path(run_dir) / "vocabulary.txt")]

    # -- serialisation -------------------------------------------------------------------
    def get_config(self):
        return {
            **super().get_config(),
            "text_encoder": keras.saving.serialize_keras_object(self.text_encoder),
            "vocabulary": list(self._vocabulary),
            "sequence_length": self.sequence_length,
            "lowercase": self.lowercase,
            "projection_dim": self.projection_dim,
            "loss": self.loss_name,
            "temperature": self.temperature,
        }


def clip(
    encoder,
    augmenter=None,
    train_captions=None,
    vocabulary=None,
    vocabulary_size: int = 1000,
    sequence_length: int = 32,
    lowercase: bool = True,
    text_encoder=None,
    projection_dim: int = 64,
    loss: str = "clip",
    temperature: float | None = None,
) -> CLIP:
    """A :class:`CLIP` (or SigLIP, ``loss: siglip``) model whose text tower is built from ``text_encoder``.

    Args:
        encoder: the image encoder (the recipe's ``encoder``).
        augmenter: optional image augmentation (the recipe's ``augmenter``).
        train_captions: one list of captions per training image (from the dataset).
        vocabulary: a WordPiece vocabulary file (one token per line); default: learned from ``train_captions``.
        vocabulary_size: size of the vocabulary learned from the captions.
        sequence_length: tokens per packed caption, [CLS] and [SEP] included.
        lowercase: lowercase text before tokenising.
        text_encoder: the text tower, an encoder section such as ``{type: text_transformer, width: 64, depth: 2}``
            (default ``{type: text_transformer}``); it receives ``vocabulary_size``, ``sequence_length`` and ``padding_id``.
        projection_dim: width of the shared embedding space.
        loss: ``clip`` (symmetric InfoNCE) or ``siglip`` (pairwise sigmoid with a learned bias).
        temperature: initial temperature (1 / logit scale); default 0.07 (clip) or 0.1 (siglip).
    """
    from kssl.factories import make_component
    from kssl.plugins import get_registry

    captions = None if train_captions is None else check_captions(train_captions)
    check_bool("lowercase", lowercase)
    sequence_length = check_int("sequence_length", sequence_length, low=3)
    if vocabulary is None:
        if captions is None:
            raise ArgumentError("vocabulary", "give a vocabulary file, or a dataset with train_captions to learn one from.")
        tokens = learn_vocabulary([t for texts in captions for t in texts], vocabulary_size, lowercase)
    else:
        tokens = read_vocabulary(vocabulary)
    spec = {"type": "text_transformer"} if text_encoder is None else text_encoder
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        raise ArgumentError("text_encoder", f"expected an encoder section such as {{type: text_transformer, width: 64}}, got {text_encoder!r}.")
    context = {"vocabulary_size": len(tokens), "sequence_length": sequence_length, "padding_id": tokens.index("[PAD]")}
    tower = make_component(get_registry(), "encoder", spec, "pretext.text_encoder", context)
    model = CLIP(
        encoder,
        augmenter,
        text_encoder=tower,
        vocabulary=tokens,
        sequence_length=sequence_length,
        lowercase=lowercase,
        projection_dim=projection_dim,
        loss=loss,
        temperature=temperature,
    )
    if captions is not None:
        model.use_captions(captions)
    return model
