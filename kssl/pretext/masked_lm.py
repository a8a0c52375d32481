"""Masked language modelling: BERT's pretext task (Devlin et al., NAACL 2019)."""

from __future__ import annotations

import math

import keras
import numpy as np

from kssl.checks import check_bool, check_int, check_number
from kssl.data.epoch_steps import with_epoch_steps
from kssl.errors import ArgumentError, KsslError
from kssl.inference import map_batches
from kssl.losses.cross_replica import with_model_losses
from kssl.losses.masked_lm import MaskedLMLoss
from kssl.pretext.pretext_task import PretextTask
from kssl.text.vocabulary import read_vocabulary, write_vocabulary

MODEL_INPUTS = ("token_ids", "segment_ids", "padding_mask")
POOLINGS = ("mean", "cls")


def as_texts(x, where: str = "x") -> np.ndarray:
    """A 1-D numpy array of str from a list/array of strings (bytes are decoded as UTF-8)."""
    if isinstance(x, str):
        x = [x]
    try:
        array = np.asarray(x, dtype=object)
    except Exception:  # ragged nested input
        array = None
    if array is None or array.ndim != 1 or len(array) == 0 or not all(isinstance(t, (str, bytes, np.str_, np.bytes_)) for t in array):
        got = f"an array of shape {getattr(array, 'shape', '?')} and dtype {getattr(np.asarray(x), 'dtype', '?')}" if array is not None else type(x).__name__
        raise KsslError(f"{where}: a masked language model trains on raw text: expected a non-empty 1-D list or array of strings, got {got}.")
    return np.asarray([t.decode("utf-8") if isinstance(t, (bytes, np.bytes_)) else str(t) for t in array], dtype=str)


def pad_batch(batch: dict, size: int) -> dict:
    """``batch`` (numpy arrays) padded with zero rows to ``size`` rows: one traced shape for every batch."""
    n = len(next(iter(batch.values())))
    if n >= size:
        return batch
    return {k: np.concatenate([v, np.zeros((size - n, *v.shape[1:]), dtype=v.dtype)]) for k, v in batch.items()}


@keras.saving.register_keras_serializable(package="kssl")
class MaskedLanguageModel(PretextTask):
    """BERT's masked-LM pretext task around a keras-hub ``BertBackbone``, trained on raw strings.

    Tokenisation and masking are data-side (the keras-hub preprocessor pattern):
    :meth:`make_dataset` turns raw strings into a ``tf.data`` pipeline that
    tokenises with a WordPiece ``BertTokenizer``, packs ``[CLS] ... [SEP]`` to
    ``sequence_length`` and selects ``ceil(mask_rate * tokens)`` non-special
    positions of every sequence afresh each time it is iterated (dynamic masking:
    new masks every epoch). A selected token becomes ``[MASK]`` with probability
    ``mask_token_rate``, a random token with ``random_token_rate``, and stays
    otherwise. ``fit`` and ``evaluate`` accept raw strings (a list, an array, or a
    ``tf.data`` dataset of strings) and mask them themselves; labels come from the
    text, so ``y`` must be None.

    ``call`` takes the packed inputs plus ``mask_positions`` and returns the
    logits (N, M, vocabulary) at the M selected positions from a keras-hub
    ``MaskedLMHead`` tied to the encoder's token embedding; the loss
    (:class:`~kssl.losses.masked_lm.MaskedLMLoss`) counts the masked positions only.

    Args:
        encoder: a keras-hub ``BertBackbone`` (or a model with the same inputs and a
            ``sequence_output``), exposed as ``.encoder``.
        augmenter: not used (masking is the corruption); must be None.
        vocabulary: the WordPiece vocabulary: a list of tokens or a file, with the special tokens.
        sequence_length: tokens per packed sequence, [CLS] and [SEP] included.
        lowercase: lowercase text before tokenising (as when the vocabulary was learned).
        mask_rate: fraction of the (non-special) tokens selected for prediction, in (0, 1].
        mask_token_rate: probability that a selected token is replaced by [MASK].
        random_token_rate: probability that a selected token is replaced by a random token.
    """

    uses_augmenter = False  # the masking is the corruption, drawn data-side

    def __init__(
        self,
        encoder,
        augmenter=None,
        *,
        vocabulary,
        sequence_length: int = 128,
        lowercase: bool = True,
        mask_rate: float = 0.15,
        mask_token_rate: float = 0.8,
        random_token_rate: float = 0.1,
        **kwargs,
    ):
        super().__init__(encoder, augmenter, **kwargs)
        self.sequence_length = check_int("sequence_length", sequence_length, low=3)
        self.lowercase = check_bool("lowercase", lowercase)
        self.mask_rate = check_number("mask_rate", mask_rate, low=0.0, high=1.0, low_inclusive=False)
        self.mask_token_rate = check_number("mask_token_rate", mask_token_rate, low=0.0, high=1.0)
        self.random_token_rate = check_number("random_token_rate", random_token_rate, low=0.0, high=1.0)
        if self.mask_token_rate + self.random_token_rate > 1.0:
            raise ArgumentError(
                "random_token_rate",
                f"mask_token_rate + random_token_rate must be at most 1 (the rest stays unchanged), got {mask_token_rate} + {random_token_rate}.",
            )
        tokens = read_vocabulary(vocabulary)
        self._vocabulary = tokens  # a private name: Keras does not wrap it in a tracked list
        self._check_encoder(encoder, len(tokens))
        import keras_hub

        self.tokenizer = keras_hub.models.BertTokenizer(vocabulary=tokens, lowercase=self.lowercase, name="tokenizer")
        # ceil(rate * n) positions are selected per sequence (TensorFlow Text's RandomItemSelector);
        # sized for the longest sequence, so the selection is never cut short.
        self.mask_selection_length = max(1, math.ceil((self.sequence_length - 2) * self.mask_rate))
        self.preprocessor = keras_hub.models.BertMaskedLMPreprocessor(
            tokenizer=self.tokenizer,
            sequence_length=self.sequence_length,
            mask_selection_rate=self.mask_rate,
            mask_selection_length=self.mask_selection_length,
            mask_token_rate=self.mask_token_rate,
            random_token_rate=self.random_token_rate,
            name="preprocessor",
        )
        self.packer = keras_hub.layers.MultiSegmentPacker(
            start_value=self.tokenizer.cls_token_id,
            end_value=self.tokenizer.sep_token_id,
            pad_value=self.tokenizer.pad_token_id,
            sequence_length=self.sequence_length,
            name="packer",
        )
        embedding = getattr(encoder, "token_embedding", None)
        self.head = keras_hub.layers.MaskedLMHead(
            vocabulary_size=len(tokens),
            token_embedding=embedding,
            intermediate_activation="gelu",
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
            name="mlm_head",
        )
        hidden = int(encoder.output["sequence_output"].shape[-1])
        self.head.build((None, self.sequence_length, hidden), (None, self.mask_selection_length))
        self.mlm_loss = MaskedLMLoss()
        self.masked_accuracy = keras.metrics.SparseCategoricalAccuracy(name="masked_accuracy")
        self.built = True

    def _check_encoder(self, encoder, vocabulary_size: int) -> None:
        outputs = getattr(encoder, "output", None) if isinstance(encoder, keras.Model) else None
        if not isinstance(outputs, dict) or "sequence_output" not in outputs:
            raise ArgumentError(
                "encoder",
                f"the masked-LM task needs a BERT-style encoder (inputs {', '.join(MODEL_INPUTS)}; output sequence_output), "
                f"got {type(encoder).__name__}. Use `encoder: {{type: bert}}`.",
            )
        size = getattr(encoder, "vocabulary_size", None)
        if size is not None and int(size) != vocabulary_size:
            raise ArgumentError("vocabulary", f"has {vocabulary_size} tokens but the encoder embeds {size} token ids; they must match.")
        longest = getattr(encoder, "max_sequence_length", None)
        if longest is not None and self.sequence_length > int(longest):
            raise ArgumentError(
                "sequence_length", f"{self.sequence_length} exceeds the encoder's {longest} position embeddings; lower it or raise the encoder's."
            )

    # -- the vocabulary --------------------------------------------------------------
    @property
    def vocabulary(self) -> list[str]:
        return list(self._vocabulary)

    @property
    def mask_token_id(self) -> int:
        return int(self.tokenizer.mask_token_id)

    @property
    def special_token_ids(self) -> list[int]:
        return [int(i) for i in self.tokenizer.special_token_ids]

    # -- the model -----------------------------------------------------------------------
    def call(self, inputs, training=False):
        features = self.encoder({k: inputs[k] for k in MODEL_INPUTS}, training=training)
        return self.head(features["sequence_output"], mask_positions=inputs["mask_positions"])

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        loss = self.mlm_loss(y, y_pred, sample_weight=sample_weight)
        self.masked_accuracy.update_state(y, y_pred, sample_weight=sample_weight)
        return with_model_losses(self, loss)

    # -- data ------------------------------------------------------------------------------
    def make_dataset(self, x, batch_size: int = 32, shuffle: bool = True, seed: int | None = None):
        """A ``tf.data`` pipeline of ``(inputs, labels, weights)`` batches from raw strings, masked anew each epoch."""
        import tensorflow as tf

        texts = as_texts(x)
        batch_size = check_int("batch_size", batch_size, low=1)
        ds = tf.data.Dataset.from_tensor_slices(texts)
        if shuffle:
            ds = ds.shuffle(len(texts), seed=seed, reshuffle_each_iteration=True)
        ds = ds.batch(batch_size).map(self.preprocessor, num_parallel_calls=tf.data.AUTOTUNE)
        return ds.prefetch(tf.data.AUTOTUNE)

    def _pipeline(self, x, batch_size, shuffle):
        """What ``fit``/``evaluate`` train on: raw strings (an array, a list or a ``tf.data``
        dataset of strings) masked by the preprocessor; a dataset of masked batches as it is."""
        import tensorflow as tf

        if not isinstance(x, tf.data.Dataset):
            return self.make_dataset(x, batch_size or 32, shuffle=shuffle)
        spec = x.element_spec
        if isinstance(spec, tf.TensorSpec) and spec.dtype == tf.string:
            if spec.shape.rank == 0:
                x = x.batch(batch_size or 32)
            return x.map(self.preprocessor, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
        return x  # already (inputs, labels, weights)

    # fit and evaluate stay: the base's fit masks only raw arrays (through make_dataset), not a
    # tf.data dataset of strings nor validation data, and would pass labels on instead of refusing them.
    def fit(self, x=None, y=None, batch_size=None, shuffle=True, validation_data=None, **kwargs):
        """``fit`` on raw strings: masks are drawn by the preprocessor (labels come from the text, ``y`` must be None)."""
        _refuse_labels("fit", y)
        import warnings

        if validation_data is not None:
            validation_data = self._pipeline(validation_data, batch_size, False)
        with warnings.catch_warnings():
            # BERT's pooler serves next-sentence prediction, which this task does not train.
            warnings.filterwarnings("ignore", message=r"Gradients do not exist for variables \['pooled_dense")
            # the pipeline shuffles its texts itself; Keras cannot shuffle a tf.data pipeline
            stream, kwargs = _one_stream(self._pipeline(x, batch_size, shuffle), kwargs)
            return super().fit(stream, validation_data=validation_data, shuffle=False, **kwargs)

    def evaluate(self, x=None, y=None, batch_size=None, **kwargs):
        """Loss and masked accuracy on raw strings, with freshly drawn (random) masks."""
        _refuse_labels("evaluate", y)
        return super().evaluate(self._pipeline(x, batch_size, False), **kwargs)

    def tokenize(self, x, batch_size: int = 256) -> dict:
        """Packed, unmasked encoder inputs for raw strings: numpy ``token_ids``, ``segment_ids``, ``padding_mask`` (N, L)."""
        import tensorflow as tf

        texts = as_texts(x)
        pad = self.tokenizer.pad_token_id

        def pack(batch):
            token_ids, segment_ids = self.packer(self.tokenizer(batch))
            return {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": token_ids != pad}

        ds = tf.data.Dataset.from_tensor_slices(texts).batch(batch_size).map(pack)
        parts = list(ds.as_numpy_iterator())
        return {k: np.concatenate([p[k] for p in parts]) for k in MODEL_INPUTS}

    def embed(self, x, batch_size: int = 256, pooling: str = "mean") -> np.ndarray:
        """Features (N, hidden) of raw strings: the encoder's ``sequence_output`` averaged over the
        non-padding tokens (``pooling="mean"``) or taken at ``[CLS]`` (``"cls"``). BERT's pooler is
        trained by next-sentence prediction only, so it is not used here."""
        if pooling not in POOLINGS:
            raise ArgumentError("pooling", f"expected one of {', '.join(POOLINGS)}, got {pooling!r}.")
        inputs = self.tokenize(x, batch_size)

        def features(rows):
            batch = {k: v[rows] for k, v in inputs.items()}
            output = self.encoder.predict_on_batch(pad_batch(batch, batch_size))["sequence_output"]  # one traced shape
            sequence = np.asarray(output, dtype=np.float32)[: len(rows)]
            if pooling == "cls":
                return sequence[:, 0]
            mask = batch["padding_mask"][..., None].astype(np.float32)
            return (sequence * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1.0)

        return map_batches(features, np.arange(len(inputs["token_ids"])), batch_size).astype(np.float32)

    def write_artifacts(self, run_dir, data=None) -> list:
        """Save the vocabulary (``vocabulary.txt``, one token per line) in the run directory; returns its path."""
        from pathlib import Path

        return [write_vocabulary(self._vocabulary, Path(run_dir) / "vocabulary.txt")]

    # -- serialisation -----------------------------------------------------------------
    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary": list(self._vocabulary),
            "sequence_length": self.sequence_length,
            "lowercase": self.lowercase,
            "mask_rate": self.mask_rate,
            "mask_token_rate": self.mask_token_rate,
            "random_token_rate": self.random_token_rate,
        }

    @classmethod
    def from_config(cls, config):
        # keras-hub registers BertBackbone (the usual encoder) when imported; it is imported here,
        # not at module level, so that kssl loads without keras-hub until a text task is used.
        import keras_hub  # noqa: F401

        return super().from_config(config)


def _refuse_labels(method: str, y) -> None:
    if y is not None:
        raise KsslError(f"MaskedLanguageModel.{method}: the labels are the masked tokens themselves; pass only raw strings (y=None).")


def _one_stream(pipeline, kwargs: dict) -> tuple:
    """A finite pipeline repeated, with its length as ``steps_per_epoch``: Keras then keeps one iterator for all
    epochs, so the masking's random ops go on drawing (new masks each epoch); a new iterator per epoch may repeat them."""
    passes = int(pipeline.cardinality()) if kwargs.get("steps_per_epoch") is None else -1
    return (with_epoch_steps(pipeline, passes), {**kwargs, "steps_per_epoch": passes}) if passes > 0 else (pipeline, kwargs)
