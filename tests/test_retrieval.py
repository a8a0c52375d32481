"""The ``retrieval`` evaluator: image->text and text->image recall@k, checked against a brute-force numpy ranking."""

import numpy as np
import pytest
from fake_clip import ArrayCLIP, text_vectors

from kssl.data.splits import DataSplits
from kssl.errors import ArgumentError, KsslError, RecipeError
from kssl.eval.retrieval import RetrievalEvaluator, retrieval_ranks

DIM = 16


def _unit(a):
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def _gallery(n=60, noise=3.0, seed=0):
    """Image embeddings, caption embeddings near their image's (0-3 captions per image) and each caption's image."""
    rng = np.random.default_rng(seed)
    images = _unit(rng.normal(size=(n, DIM)))
    owner = np.repeat(np.arange(n), rng.integers(0, 4, n))
    texts = _unit(images[owner] + noise * rng.normal(size=(len(owner), DIM)) / np.sqrt(DIM))
    return images, texts, owner


def _brute_force(images, texts, owner, ks, queries=None, text_of=None):
    """Full similarity matrix, full sort: an image is a hit at k if one of its own captions is in its top k; a caption if an
    image it describes is. ``texts``: the distinct captions' embeddings; caption j is text ``text_of[j]`` (default: j) of image
    ``owner[j]``; ``queries``: the images that query (and whose captions query), default all.
    """
    text_of = np.arange(len(owner)) if text_of is None else np.asarray(text_of)
    sims = images @ texts.T
    i2t_order = np.argsort(-sims, axis=1, kind="stable")
    t2i_order = np.argsort(-sims.T, axis=1, kind="stable")
    queries = range(len(images)) if queries is None else queries
    captioned = [i for i in queries if (owner == i).any()]
    captions = [j for j in range(len(owner)) if owner[j] in queries]
    scores = {}
    for k in ks:
        scores[f"i2t_r{k}"] = np.mean([np.isin(i2t_order[i, :k], text_of[owner == i]).any() for i in captioned])
        scores[f"t2i_r{k}"] = np.mean([np.isin(t2i_order[text_of[j], :k], owner[text_of == text_of[j]]).any() for j in captions])
    return scores


def _recalls(images, texts, owner, ks, chunk_size=1024):
    return RetrievalEvaluator(ks=ks, chunk_size=chunk_size).recalls(*retrieval_ranks(images, texts, owner, np.arange(len(owner)), chunk_size), prefix="")


@pytest.mark.parametrize("chunk_size", [1, 7, 1024])
def test_recalls_match_a_brute_force_ranking(chunk_size):
    images, texts, owner = _gallery()
    scores = _recalls(images, texts, owner, [1, 5, 10], chunk_size)
    expected = _brute_force(images, texts, owner, [1, 5, 10])
    assert scores == pytest.approx(expected)
    assert 0.1 < scores["i2t_r1"] < scores["i2t_r5"] < scores["i2t_r10"] < 1.0
    assert 0.1 < scores["t2i_r1"] < scores["t2i_r5"] < scores["t2i_r10"] < 1.0


def _data(images, owner, words, heldout=None):
    captions = [[" ".join(words[j]) for j in np.flatnonzero(owner == i)] for i in range(len(images))]
    context = {"test_captions": captions} | ({"heldout_test": heldout} if heldout is not None else {})
    return DataSplits(images[:4], None, images, None, batch_size=16, context=context)


def test_the_evaluator_embeds_each_distinct_caption_once_and_scores_heldout_queries_on_the_whole_gallery():
    rng = np.random.default_rng(3)
    vocabulary = [f"w{i}" for i in range(9)]
    n = 45
    owner = np.repeat(np.arange(n), rng.integers(1, 4, n))
    words = [sorted(rng.choice(vocabulary, 2, replace=False)) for _ in owner]  # 36 possible captions (bags of words): some repeat
    strings, text_of = np.unique([" ".join(w) for w in words], return_inverse=True)
    assert len(strings) < len(owner)
    texts = text_vectors(list(strings), vocabulary, DIM)
    images = np.stack([texts[text_of[owner == i]].mean(axis=0) for i in range(n)]) + 0.3 * rng.normal(size=(n, DIM)) / np.sqrt(DIM)
    heldout = rng.random(n) < 0.4
    model = ArrayCLIP(vocabulary, DIM)
    scores = RetrievalEvaluator(ks=[1, 5], chunk_size=8).evaluate(model, _data(images, owner, words, heldout))
    assert model.text_calls == [list(strings)]
    expected = {f"retrieval_{k}": v for k, v in _brute_force(_unit(images), texts, owner, [1, 5], text_of=text_of).items()}
    held = list(np.flatnonzero(heldout))
    expected |= {f"retrieval_heldout_{k}": v for k, v in _brute_force(_unit(images), texts, owner, [1, 5], held, text_of).items()}
    assert scores == pytest.approx(expected)
    assert scores["retrieval_i2t_r1"] > 0.3 and scores["retrieval_heldout_t2i_r1"] > 0.3
    assert set(RetrievalEvaluator(ks=[1]).evaluate(model, _data(images, owner, words))) == {"retrieval_i2t_r1", "retrieval_t2i_r1"}


def test_an_identical_caption_of_another_image_is_no_miss():
    """Two images captioned "w0 w1": whichever ranks first, both images' image->text queries hit; so does the caption."""
    images = _unit(np.array([[1.0, 0.1, 0.0], [1.0, -0.1, 0.0], [0.0, 0.0, 1.0]]))
    texts = _unit(np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]))  # the distinct captions: "w0 w1" and "w2"
    i2t, t2i = retrieval_ranks(images, texts, pair_images=[0, 1, 2], pair_texts=[0, 0, 1])
    assert i2t.tolist() == [0, 0, 0] and t2i.tolist() == [0, 0]
    i2t, t2i = retrieval_ranks(images, np.concatenate([texts[:1], texts]), pair_images=[0, 1, 2], pair_texts=[0, 1, 2])  # as two texts
    assert i2t.tolist() == [1, 1, 0] and t2i.tolist() == [1, 1, 0]  # an exact tie counts against: each copy ranks behind the other


class _RecordsMatmul(np.ndarray):
    """An array that records the shape of every matrix product it takes part in."""

    shapes: list = []

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = getattr(ufunc, method)(*(np.asarray(i) for i in inputs), **kwargs)
        if ufunc is np.matmul:
            _RecordsMatmul.shapes.append(np.shape(out))
        return out


def test_memory_stays_bounded_by_the_chunk_size():
    images, texts, owner = _gallery(n=50)
    _RecordsMatmul.shapes = []
    ranks = retrieval_ranks(images.view(_RecordsMatmul), texts.view(_RecordsMatmul), owner, np.arange(len(owner)), chunk_size=4)
    assert max(rows * cols for rows, cols in _RecordsMatmul.shapes) <= 4 * max(len(images), len(texts))
    assert all(np.array_equal(a, b) for a, b in zip(ranks, retrieval_ranks(images, texts, owner, np.arange(len(owner)), chunk_size=10_000), strict=True))


def test_closed_forms_perfect_and_all_alike():
    rng = np.random.default_rng(0)
    images = _unit(rng.normal(size=(12, DIM)))
    perfect = _recalls(images, images, np.arange(12), [1, 11, 12])
    assert set(perfect.values()) == {1.0}
    alike = np.ones((12, DIM)) / np.sqrt(DIM)
    # every similarity ties: a tie counts against the query, so each ranks behind the 11 wrong items
    assert _recalls(alike, alike, np.arange(12), [1, 11, 12]) == {
        "i2t_r1": 0.0, "i2t_r11": 0.0, "i2t_r12": 1.0, "t2i_r1": 0.0, "t2i_r11": 0.0, "t2i_r12": 1.0
    }  # fmt: skip


def test_config_round_trips_and_bad_arguments_name_the_key():
    evaluator = RetrievalEvaluator(ks=[10, 1, 5, 1], chunk_size=64, batch_size=8)
    assert evaluator.get_config() == {"ks": [1, 5, 10], "chunk_size": 64, "batch_size": 8}
    assert RetrievalEvaluator(**evaluator.get_config()).get_config() == evaluator.get_config()
    for kwargs, key in (({"ks": []}, "ks"), ({"ks": 5}, "ks"), ({"ks": [0]}, "ks"), ({"ks": [1.5]}, "ks"), ({"chunk_size": 0}, "chunk_size")):
        with pytest.raises(ArgumentError) as info:
            RetrievalEvaluator(**kwargs)
        assert info.value.argument == key


class _ImageOnly:
    def embed(self, x, batch_size=256):
        return np.asarray(x)


def test_bad_models_and_data_are_refused_with_one_clear_message():
    images, owner = np.eye(3, DIM), np.array([0, 1, 2])
    words = [["a"], ["b"], ["zebra"]]
    evaluator = RetrievalEvaluator()
    with pytest.raises(KsslError, match="text tower"):
        evaluator.check_model(_ImageOnly())
    no_captions = DataSplits(images, None, images, None)
    with pytest.raises(KsslError, match="needs captions of the test images"):
        evaluator.check_data(no_captions)
    with pytest.raises(KsslError, match="captions for 2 test images but has 3"):
        evaluator.check_data(DataSplits(images, None, images, None, context={"test_captions": [["a"], ["b"]]}))
    with pytest.raises(KsslError, match="test_captions are all empty lists"):
        evaluator.check_data(DataSplits(images, None, images, None, context={"test_captions": [[], [], []]}))
    with pytest.raises(KsslError, match=r"test_captions\[1\] is 'b'; expected a list of str"):
        evaluator.check_data(DataSplits(images, None, images, None, context={"test_captions": [["a"], "b", ["c"]]}))
    with pytest.raises(KsslError, match="the caption 'zebra' cannot be embedded"):
        evaluator.evaluate(ArrayCLIP(["a", "b"], DIM), _data(images, owner, words))


def test_a_recipe_gets_it_from_the_registry():
    from kssl.plugins import get_registry

    assert get_registry().get("evaluator", "retrieval") is RetrievalEvaluator
    from kssl.builder import build_inputs
    from kssl.recipe import load_recipe

    recipe = {"name": "r", "data": {"type": "digits", "image_size": 8, "limit": 64}, "encoder": {"type": "mlp"}, "pretext": {"type": "simclr"}}
    with pytest.raises(RecipeError, match=r"eval\.0: evaluator 'retrieval' needs captions"):
        build_inputs(load_recipe({**recipe, "eval": [{"type": "retrieval"}]}))
    with pytest.raises(RecipeError, match=r"eval\.0\.ks"):
        build_inputs(load_recipe({**recipe, "eval": [{"type": "retrieval", "ks": [0]}]}))
