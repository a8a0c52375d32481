"""Image-text retrieval: recall@k of image->text and text->image search over the test split's images and captions."""

from __future__ import annotations

import numpy as np

from kssl.checks import check_int
from kssl.errors import ArgumentError
from kssl.eval._image_text import captions_of, embed_images, embed_texts, heldout_mask, require_image_text
from kssl.eval.evaluator import Evaluator

__all__ = ["RetrievalEvaluator", "retrieval_ranks"]


class RetrievalEvaluator(Evaluator):
    """Recall@k of cross-modal retrieval (image->text and text->image), as CLIP reports it (Radford et al., ICML 2021).

    The gallery is the test split: its images and all their captions
    (``context["test_captions"]``, one list of str per image). Image->text: each image
    queries the captions and is a hit at k when one of its own captions ranks in the top k.
    Text->image: each caption queries the images and is a hit when its image ranks in the
    top k. A caption string that several images share (generated captions repeat: "a red
    circle") is one text of the gallery and belongs to each of them, so an identical copy
    is never counted as a miss. Similarities are cosine; a tie with a wrong item counts
    against the query (a model whose embeddings are all alike scores no better than
    chance). Images without captions do not query (they stay in the gallery).

    Returns ``retrieval_i2t_r{k}`` and ``retrieval_t2i_r{k}`` for every k in ``ks``, and,
    when the dataset marks test images whose compositions never occur in training
    (``context["heldout_test"]``), the same again as ``retrieval_heldout_*`` with those images
    (image->text) and their captions (text->image) as the only queries, searching the same
    whole gallery: directly comparable with the overall recalls.

    Args:
        ks: the cut-offs k (integers >= 1).
        chunk_size: queries scored at once (the similarity block is chunk_size x gallery size).
        batch_size: images and captions embedded at once (default: the dataset's batch size).
    """

    name = "retrieval"
    requires_labels = False  # captions, not labels: checked by check_data

    def __init__(self, ks=(1, 5, 10), chunk_size: int = 1024, batch_size: int | None = None):
        if isinstance(ks, (str, bytes)) or not isinstance(ks, (list, tuple)) or not ks:
            raise ArgumentError("ks", f"expected a non-empty list of cut-offs such as [1, 5, 10], got {ks!r}.")
        self.ks = sorted({check_int("ks", k, low=1) for k in ks})
        self.chunk_size = check_int("chunk_size", chunk_size, low=1)
        self.batch_size = None if batch_size is None else check_int("batch_size", batch_size, low=1)

    def get_config(self) -> dict:
        return {"ks": list(self.ks), "chunk_size": self.chunk_size, "batch_size": self.batch_size}

    def check_model(self, model) -> None:
        require_image_text(f"evaluator {self.name!r}", model)

    def check_data(self, data) -> None:
        captions_of(f"evaluator {self.name!r}", data)
        heldout_mask(f"evaluator {self.name!r}", data)

    def evaluate(self, model, data, features=None) -> dict:
        who = f"evaluator {self.name!r}"
        self.check_model(model)
        captions = captions_of(who, data)
        heldout = heldout_mask(who, data)
        batch_size = self.batch_size or data.batch_size
        owner = np.repeat(np.arange(len(captions)), [len(c) for c in captions])  # the image of each caption
        strings, text_of = np.unique(np.array([c for caps in captions for c in caps], dtype=object), return_inverse=True)
        images = embed_images(model, data.x_test, batch_size)
        texts = embed_texts(who, model, list(strings), batch_size, what="caption")  # each distinct caption once
        i2t, t2i = retrieval_ranks(images, texts, owner, text_of.reshape(-1), self.chunk_size)
        t2i = t2i[text_of.reshape(-1)]  # one query per caption, as many as the captions
        scores = self.recalls(i2t, t2i, "retrieval_")
        if heldout is not None and heldout.any():
            scores.update(self.recalls(i2t[heldout], t2i[heldout[owner]], "retrieval_heldout_"))
        return scores

    def recalls(self, i2t, t2i, prefix: str = "retrieval_") -> dict:
        """``{prefix}i2t_r{k}`` and ``{prefix}t2i_r{k}`` from 0-based ranks (-1: an item that does not query)."""
        scores = {}
        for direction, ranks in (("i2t", i2t[i2t >= 0]), ("t2i", t2i[t2i >= 0])):
            for k in self.ks:
                scores[f"{prefix}{direction}_r{k}"] = float(np.mean(ranks < k)) if len(ranks) else 0.0
        return scores


def retrieval_ranks(images, texts, pair_images, pair_texts, chunk_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """0-based ranks of the first correct answer: (per image (N,), image->text; per text (U,), text->image).

    ``images`` (N, D) and ``texts`` (U, D) are unit rows; text ``pair_texts[p]`` describes image
    ``pair_images[p]`` (a text may describe several images, an image have several texts). A
    rank counts the wrong items at least as similar as the best correct one (ties count
    against the query); an item without a match gets -1. Queries are scored ``chunk_size``
    at a time, so memory stays at chunk_size x max(N, U) similarities.
    """
    from scipy.sparse import csr_matrix

    images, texts = np.asanyarray(images), np.asanyarray(texts)
    pair_images, pair_texts = np.asarray(pair_images, dtype=int), np.asarray(pair_texts, dtype=int)
    pairs = csr_matrix((np.ones(len(pair_images), bool), (pair_images, pair_texts)), shape=(len(images), len(texts)), dtype=bool)
    return _ranks(images, texts, pairs, chunk_size), _ranks(texts, images, pairs.T.tocsr(), chunk_size)


def _ranks(queries, gallery, correct, chunk_size: int) -> np.ndarray:
    """Per query, how many wrong gallery items are at least as similar as its most similar correct one (-1: none correct)."""
    ranks = np.full(len(queries), -1)
    matched = np.flatnonzero(np.diff(correct.indptr) > 0)
    for start in range(0, len(matched), chunk_size):
        rows = matched[start : start + chunk_size]
        sims = queries[rows] @ gallery.T  # (chunk, gallery size)
        right = correct[rows].toarray()
        best = np.where(right, sims, -np.inf).max(axis=1, keepdims=True)
        ranks[rows] = ((sims >= best) & ~right).sum(axis=1)
    return ranks
