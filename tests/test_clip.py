"""CLIP / SigLIP: captions paired per epoch, embeddings for evaluators, saving without captions, learning."""

import json
import zipfile

import keras
import numpy as np
import pytest

from kssl.data.shape_scenes import shape_scenes
from kssl.encoders.cnn import cnn
from kssl.errors import ArgumentError, KsslError
from kssl.pretext.clip import CLIP, MAX_LOGIT_SCALE, clip

TINY_TEXT = {"type": "text_transformer", "width": 16, "depth": 1, "num_heads": 2}


def tiny(data, loss="clip", **kwargs):
    keras.utils.set_random_seed(0)
    kwargs.setdefault("vocabulary_size", 120)  # or a vocabulary: learning one costs a second or two
    model = clip(
        cnn(input_shape=data.input_shape, filters=[8, 16]),
        train_captions=data.context["train_captions"],
        sequence_length=20,
        text_encoder=TINY_TEXT,
        projection_dim=16,
        loss=loss,
        **kwargs,
    )
    model(data.x_train[:2])
    return model


@pytest.fixture(scope="module")
def data():
    return shape_scenes(num_train=32, num_test=16, image_size=16)


@pytest.fixture(scope="module")
def model(data):
    return tiny(data)


@pytest.fixture(scope="module")
def vocabulary(model):
    return model.vocabulary


def test_call_returns_both_projections_and_images_alone(model, data):
    tokens = model.tokenize(["a red circle", "two shapes: a big blue square and a small green cross"])
    assert tokens.shape == (2, 20) and tokens.dtype == np.int32
    assert tokens[0, 0] == model.tokenizer.cls_token_id and (tokens[0] == model.tokenizer.sep_token_id).sum() == 1
    out = model({"images": data.x_train[:2], "token_ids": tokens})
    assert tuple(out["image"].shape) == (2, 16) and tuple(out["text"].shape) == (2, 16)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(data.x_train[:2])), keras.ops.convert_to_numpy(out["image"]), atol=1e-6)


def test_embeddings_for_evaluators(model, data):
    images = model.embed_images(data.x_test, batch_size=5)
    texts = model.embed_texts(["a red circle", "a big blue square", "circle"], batch_size=2)
    assert images.shape == (16, 16) and texts.shape == (3, 16) and images.dtype == texts.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(images, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(model.embed_images(data.x_test), images, atol=1e-5)  # batching does not matter
    features = model.embed(data.x_test)  # the image encoder's features (kNN, linear probe)
    np.testing.assert_allclose(features, keras.ops.convert_to_numpy(model.encoder(data.x_test)), atol=1e-5)


@pytest.mark.parametrize(
    "texts,message",
    [
        (["a red circle", ""], r"texts: '' is empty"),
        (["   "], r"texts: '   ' is empty"),
        ("a red circle", r"texts: expected a list of strings"),
        (["a red circle", "§§§ ¤¤"], r"texts: unknown token-only prompt '§§§ ¤¤'"),
        ([" ".join(["red"] * 19)], r"texts: 'red red .*' has 19 tokens, more than the 18 the model reads \(sequence_length 20"),
    ],
)
def test_embed_texts_refuses_empty_and_unknown_prompts(model, texts, message):
    with pytest.raises(KsslError, match=message):
        model.embed_texts(texts)


def test_each_image_gets_one_of_its_own_captions_drawn_anew_each_epoch(model, data):
    captions = data.context["train_captions"]
    rows = iter(map(tuple, model.tokenize([t for c in captions for t in c])))  # one tokenisation of every caption
    own = [{next(rows) for _ in c} for c in captions]
    ds = model.make_dataset(data.x_train, batch_size=32, shuffle=False, seed=3)
    seen, epochs = [set() for _ in own], []
    for _ in range(4):  # four epochs
        batch = next(iter(ds))
        np.testing.assert_array_equal(batch["images"].numpy(), data.x_train)
        epochs.append(batch["token_ids"].numpy())
        for i, row in enumerate(epochs[-1]):
            assert tuple(row) in own[i]
            seen[i].add(tuple(row))
    assert np.mean([len(s) for s in seen]) > 2.0  # several captions per image over the epochs
    again = next(iter(model.make_dataset(data.x_train, batch_size=32, shuffle=False, seed=3)))["token_ids"].numpy()
    np.testing.assert_array_equal(again, epochs[0])  # the same seed draws the same captions


def test_make_dataset_refuses_images_without_their_captions(model, data):
    with pytest.raises(KsslError, match=r"got 31 images but captions for 32"):
        model.make_dataset(data.x_train[:31])
    bare = CLIP(model.encoder, text_encoder=model.text_encoder, vocabulary=model.vocabulary, sequence_length=20, projection_dim=16)
    with pytest.raises(KsslError, match=r"CLIP trains on images paired with captions, and this model has none"):
        bare.make_dataset(data.x_train)
    with pytest.raises(KsslError, match=r"train_captions\[1\]: image 1 has an empty or non-text caption"):
        bare.use_captions([["a red circle"], ["a cross", " "]])


@pytest.mark.slow  # fit + save + reload + resume hand-over, ~11 s under load
def test_fit_trains_and_saving_keeps_the_vocabulary_not_the_captions(data, vocabulary, tmp_path):
    from kssl.testing import fit_one_step
    from kssl.testing.serialization import assert_round_trip

    model = tiny(data, loss="siglip", vocabulary=vocabulary)
    assert model.logit_bias is not None and float(model.logit_bias.numpy()[0]) == -10.0
    fit_one_step(model, data.x_train, batch_size=16)
    reloaded = assert_round_trip(model, x=data.x_test, tmp_path=tmp_path)
    assert reloaded.vocabulary == model.vocabulary and reloaded.loss_name == "siglip"
    np.testing.assert_allclose(reloaded.embed_texts(["a red circle"]), model.embed_texts(["a red circle"]), atol=1e-5)
    with zipfile.ZipFile(tmp_path / "clip_round_trip.keras") as archive:
        config = archive.read("config.json").decode("utf-8")
    assert "vocabulary" in json.loads(config)["config"]
    assert not any(caption in config for captions in data.context["train_captions"] for caption in captions if " " in caption)
    assert reloaded._captions is None
    reloaded.use_context(data.context)  # what kssl train --resume does after loading a checkpoint
    fit_one_step(reloaded, data.x_train, batch_size=16)
    paths = model.write_artifacts(tmp_path, data)
    assert paths[0].read_text(encoding="utf-8").splitlines() == model.vocabulary


def test_logit_scale_is_clipped_at_log_100(data, vocabulary):
    model = tiny(data, vocabulary=vocabulary)
    assert float(model.logit_scale.numpy()[0]) == pytest.approx(np.log(1 / 0.07), rel=1e-6)
    model.logit_scale.assign([8.0])
    model.compile(optimizer=keras.optimizers.SGD(0.0))
    model.fit(data.x_train, batch_size=32, epochs=1, verbose=0)
    assert float(model.logit_scale.numpy()[0]) == pytest.approx(np.log(MAX_LOGIT_SCALE), rel=1e-5)


def test_factory_errors_name_the_argument(data, vocabulary):
    encoder = cnn(input_shape=data.input_shape, filters=[4])
    with pytest.raises(ArgumentError) as info:
        clip(encoder, train_captions=None)
    assert info.value.argument == "vocabulary"
    with pytest.raises(ArgumentError) as info:
        clip(encoder, vocabulary=vocabulary, text_encoder="big")
    assert info.value.argument == "text_encoder"
    with pytest.raises(ArgumentError) as info:
        clip(encoder, vocabulary=vocabulary, text_encoder=TINY_TEXT, loss="triplet")
    assert info.value.argument == "loss"


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["clip", "siglip"])
def test_brief_training_ranks_matching_captions_above_mismatched_ones(loss):
    scenes = shape_scenes(num_train=256, num_test=64, image_size=16, captions_per_image=3)
    model = tiny(scenes, loss=loss)

    def matched_rate(m):
        """How often an image's own caption scores above the caption of another, different-looking test image."""
        images = m.embed_images(scenes.x_test)
        texts = m.embed_texts([c[0] for c in scenes.context["test_captions"]])
        sims = images @ texts.T
        other = np.roll(np.arange(len(sims)), 1)
        return float(np.mean(np.diag(sims) > sims[np.arange(len(sims)), other]))

    before = matched_rate(model)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.fit(scenes.x_train, batch_size=64, epochs=15 if loss == "clip" else 25, verbose=0)  # SigLIP's bias of -10 starts slower
    after = matched_rate(model)
    assert after >= 0.7 and after > before + 0.2, (before, after)
