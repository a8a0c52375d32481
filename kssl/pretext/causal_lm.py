"""Causal language modelling: GPT's next-token pretext task (Radford et al., 2018, 2019)."""

from __future__ import annotations

import keras
import numpy as np

from kssl.checks import check_bool, check_int
from kssl.errors import ArgumentError, KsslError
from kssl.inference import map_batches
from kssl.losses.cross_replica import with_model_losses
from kssl.losses.masked_lm import MaskedLMLoss
from kssl.pretext.masked_lm import as_texts, pad_batch
from kssl.pretext.pretext_task import PretextTask
from kssl.text.vocabulary import read_vocabulary, write_vocabulary

MODEL_INPUTS = ("token_ids", "padding_mask")
POOLINGS = ("mean", "last")
NEVER_PREDICTED = ("[PAD]", "[CLS]", "[MASK]")  # tokens that never follow another: not next-token targets


def texts_of(x) -> np.ndarray:
    """Raw strings as a 1-D numpy array of str (:func:`kssl.pretext.masked_lm.as_texts`, this task's wording)."""
    try:
        return as_texts(x)
    except KsslError as exc:
        raise KsslError(str(exc).replace("a masked language model", "a causal language model")) from None


@keras.saving.register_keras_serializable(package="kssl")
class CausalLanguageModel(PretextTask):
    """GPT's pretext task: predict every token from the ones before it, on raw strings.

    Tokenisation is data-side and shared with ``masked_lm``: the same WordPiece vocabulary
    (learned by the text datasets) and keras-hub ``BertTokenizer``. Each text becomes
    ``[CLS] tokens [SEP]`` packed (truncated, then right-padded with ``[PAD]``) to
    ``sequence_length + 1`` ids: ``[CLS]`` marks the start of a text, ``[SEP]`` its end.
    The model reads the first ``sequence_length`` ids and predicts the last
    ``sequence_length`` (the same ids shifted by one); padding targets have weight 0.
    :meth:`make_dataset` yields ``(inputs, labels, weights)`` so stock ``fit`` trains it.

    ``call`` returns next-token logits (N, L, vocabulary) from the decoder's hidden states
    and its token embedding, transposed (weight tying, as GPT-2). The loss is the mean
    cross-entropy over the real (non-padding) targets, ``sum(w * ce) / sum(w)`` — the
    weighted token cross-entropy of :class:`~kssl.losses.masked_lm.MaskedLMLoss`, logged
    here as ``causal_lm``.

    Args:
        encoder: a causal decoder with inputs ``token_ids`` and ``padding_mask``, output
            the hidden states (N, L, hidden) and a ``token_embedding`` (``encoder: {type: gpt}``).
        augmenter: not used; must be None.
        vocabulary: the WordPiece vocabulary: a list of tokens or a file, with the special tokens.
        sequence_length: the model's context, in tokens ([CLS] included).
        lowercase: lowercase text before tokenising (as when the vocabulary was learned).
    """

    uses_augmenter = False

    def __init__(self, encoder, augmenter=None, *, vocabulary, sequence_length: int = 128, lowercase: bool = True, **kwargs):
        super().__init__(encoder, augmenter, **kwargs)
        self.sequence_length = check_int("sequence_length", sequence_length, low=2)
        self.lowercase = check_bool("lowercase", lowercase)
        tokens = read_vocabulary(vocabulary)
        self._vocabulary = tokens  # a private name: Keras does not wrap it in a tracked list
        self._check_encoder(encoder, len(tokens))
        import keras_hub  # heavy (TensorFlow Text): only when a text task is built

        self.tokenizer = keras_hub.models.BertTokenizer(vocabulary=tokens, lowercase=self.lowercase, name="tokenizer")
        self.packer = keras_hub.layers.StartEndPacker(
            start_value=self.tokenizer.cls_token_id,
            end_value=self.tokenizer.sep_token_id,
            pad_value=self.tokenizer.pad_token_id,
            sequence_length=self.sequence_length + 1,
            return_padding_mask=True,
            name="packer",
        )
        self.lm_loss = MaskedLMLoss(name="causal_lm")
        self.next_token_accuracy = keras.metrics.SparseCategoricalAccuracy(name="next_token_accuracy")
        self.built = True

    def _check_encoder(self, encoder, vocabulary_size: int) -> None:
        inputs = getattr(encoder, "input", None) if isinstance(encoder, keras.Model) else None
        embedding = getattr(encoder, "token_embedding", None)
        if not isinstance(inputs, dict) or set(inputs) != set(MODEL_INPUTS) or not isinstance(embedding, keras.layers.Embedding):
            raise ArgumentError(
                "encoder",
                f"the causal-LM task needs a GPT-style decoder (inputs {', '.join(MODEL_INPUTS)}; a token_embedding), "
                f"got {type(encoder).__name__}. Use `encoder: {{type: gpt}}`.",
            )
        if int(embedding.input_dim) != vocabulary_size:
            raise ArgumentError("vocabulary", f"has {vocabulary_size} tokens but the encoder embeds {embedding.input_dim} token ids; they must match.")
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
    def never_predicted_ids(self) -> list[int]:
        """Ids of ``[PAD]``, ``[CLS]`` and ``[MASK]``: never a next token (the baselines give them no probability)."""
        return [self._vocabulary.index(t) for t in NEVER_PREDICTED]

    @property
    def start_token_id(self) -> int:
        return int(self.tokenizer.cls_token_id)

    @property
    def end_token_id(self) -> int:
        return int(self.tokenizer.sep_token_id)

    # -- the model -----------------------------------------------------------------------
    def hidden_states(self, inputs, training=False):
        """The decoder's last hidden states (N, L, hidden)."""
        return self.encoder({k: inputs[k] for k in MODEL_INPUTS}, training=training)

    def call(self, inputs, training=False):
        return self.encoder.token_embedding(self.hidden_states(inputs, training=training), reverse=True)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        loss = self.lm_loss(y, y_pred, sample_weight=sample_weight)
        self.next_token_accuracy.update_state(y, y_pred, sample_weight=sample_weight)
        return with_model_losses(self, loss)

    # -- data ------------------------------------------------------------------------------
    def _pack(self, texts):
        """tf: ``[CLS] tokens [SEP]`` packed to ``sequence_length + 1`` ids, and their padding mask."""
        return self.packer(self.tokenizer(texts))

    def _shift(self, texts):
        ids, mask = self._pack(texts)
        inputs = {"token_ids": ids[:, :-1], "padding_mask": mask[:, :-1]}
        import tensorflow as tf

        return inputs, ids[:, 1:], tf.cast(mask[:, 1:], "float32")

    def make_dataset(self, x, batch_size: int = 32, shuffle: bool = True, seed: int | None = None):
        """A ``tf.data`` pipeline of ``(inputs, next-token labels, weights)`` batches from raw strings."""
        import tensorflow as tf

        texts = texts_of(x)
        batch_size = check_int("batch_size", batch_size, low=1)
        ds = tf.data.Dataset.from_tensor_slices(texts)
        if shuffle:
            ds = ds.shuffle(len(texts), seed=seed, reshuffle_each_iteration=True)
        ds = ds.batch(batch_size).map(self._shift, num_parallel_calls=tf.data.AUTOTUNE)
        return ds.prefetch(tf.data.AUTOTUNE)

    def fit(self, x=None, y=None, batch_size=None, **kwargs):
        """``fit`` on raw strings (the labels are the texts' next tokens: ``y`` must be None)."""
        if y is not None:
            raise KsslError("CausalLanguageModel.fit: the labels are the texts' own next tokens; pass only raw strings (y=None).")
        return super().fit(x, batch_size=batch_size, **kwargs)

    def tokenize(self, x, batch_size: int = 256) -> dict:
        """Packed ids of raw strings as numpy: ``token_ids`` and ``padding_mask`` (N, sequence_length + 1).

        The model reads ``[:, :-1]`` and predicts ``[:, 1:]`` where ``padding_mask[:, 1:]`` is true.
        """
        import tensorflow as tf

        def pack(batch):
            ids, mask = self._pack(batch)
            return {"token_ids": ids, "padding_mask": mask}

        ds = tf.data.Dataset.from_tensor_slices(texts_of(x)).batch(batch_size).map(pack)
        parts = list(ds.as_numpy_iterator())
        return {k: np.concatenate([p[k] for p in parts]) for k in MODEL_INPUTS}

    def next_token_logits(self, packed: dict, batch_size: int = 64):
        """Yields ``(rows, logits)``: float32 next-token logits (n, L, V) for rows of :meth:`tokenize`'s output."""
        n = len(packed["token_ids"])
        for start in range(0, n, batch_size):
            rows = slice(start, min(n, start + batch_size))
            batch = {k: packed[k][rows, :-1] for k in MODEL_INPUTS}
            logits = self.predict_on_batch(pad_batch(batch, batch_size))  # one traced shape for every batch
            yield rows, np.asarray(keras.ops.convert_to_numpy(logits), dtype=np.float32)[: rows.stop - rows.start]

    def embed(self, x, batch_size: int = 256, pooling: str = "mean") -> np.ndarray:
        """Features (N, hidden) of raw strings: the last hidden states averaged over the real tokens
        (``pooling="mean"``, ``[CLS]`` included) or taken at the last real token (``"last"``, which has
        seen the whole text)."""
        if pooling not in POOLINGS:
            raise ArgumentError("pooling", f"a causal language model pools its hidden states by {' or '.join(POOLINGS)}, got {pooling!r}.")
        packed = self.tokenize(x, batch_size)
        inputs = {k: v[:, :-1] for k, v in packed.items()}

        def features(rows):
            batch = {k: v[rows] for k, v in inputs.items()}
            output = self.encoder.predict_on_batch(pad_batch(batch, batch_size))
            sequence = np.asarray(keras.ops.convert_to_numpy(output), dtype=np.float32)[: len(rows)]
            mask = batch["padding_mask"].astype(np.float32)
            if pooling == "last":
                last = np.maximum(mask.sum(axis=1).astype(int) - 1, 0)
                return sequence[np.arange(len(rows)), last]
            return (sequence * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1.0)

        return map_batches(features, np.arange(len(inputs["token_ids"])), batch_size).astype(np.float32)

    def write_artifacts(self, run_dir, data=None) -> list:
        """Save the vocabulary (``vocabulary.txt``, one token per line) in the run directory; returns its path."""
        from pathlib import Path

        return [write_vocabulary(self._vocabulary, Path(run_dir) / "vocabulary.txt")]

    # -- serialisation -----------------------------------------------------------------
    def get_config(self):
        return {**super().get_config(), "vocabulary": list(self._vocabulary), "sequence_length": self.sequence_length, "lowercase": self.lowercase}

    @classmethod
    def from_config(cls, config):
        import keras_hub  # noqa: F401  registers GPT2Backbone (the usual encoder) before it is deserialised

        return super().from_config(config)
