"""The inpainting component: masks, loss, contract, saving, learning (kssl-inpainting must be installed)."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from kssl_inpainting.inpainting import Inpainting
from kssl_inpainting.inpainting_loss import InpaintingLoss, inpainting_loss
from kssl_inpainting.masking import hide_region, region_box, region_mask

import kssl
from kssl.errors import RecipeError
from kssl.testing import assert_round_trip, build_component, check_pretext, tiny_encoder, tiny_images


def numpy(t):
    return np.asarray(keras.ops.convert_to_numpy(t))


def numpy_loss(target, reconstruction, mask, context_weight=0.0):
    """Independent reference: per sample, the mean of the squared errors at hidden pixels (every channel), plus the context's."""
    out = []
    for t, r, m in zip(target, reconstruction, mask[..., 0].astype(bool)):
        hidden = ((t[m] - r[m]) ** 2).mean()  # t[m]: (hidden pixels, C)
        context = ((t[~m] - r[~m]) ** 2).mean()
        out.append(hidden + context_weight * context)
    return np.array(out)


# -- the loss ------------------------------------------------------------------------------------


@pytest.mark.parametrize("context_weight", [0.0, 0.1])
def test_loss_matches_numpy_on_random_masks(context_weight):
    rng = np.random.default_rng(0)
    target, reconstruction = rng.uniform(size=(2, 5, 6, 7, 3)).astype("float32")
    mask = (rng.uniform(size=(5, 6, 7, 1)) < 0.3).astype("float32")
    mask[:, 0, 0] = 1.0  # every sample hides at least one pixel
    mask[:, -1, -1] = 0.0  # and shows at least one
    got = numpy(inpainting_loss(target, reconstruction, mask, context_weight))
    np.testing.assert_allclose(got, numpy_loss(target, reconstruction, mask, context_weight), rtol=1e-5)
    batch = float(numpy(InpaintingLoss(context_weight)((target, mask), reconstruction)))
    assert batch == pytest.approx(numpy_loss(target, reconstruction, mask, context_weight).mean(), rel=1e-5)


def test_only_the_hidden_region_counts():
    rng = np.random.default_rng(1)
    target = rng.uniform(size=(3, 8, 8, 1)).astype("float32")
    mask = numpy(region_mask(3, (8, 8), (4, 4), "center"))
    wrong_context = np.where(mask == 1.0, target, target + 5.0)  # right inside the box, far off outside it
    assert numpy(inpainting_loss(target, wrong_context, mask)) == pytest.approx([0.0, 0.0, 0.0], abs=1e-7)
    # an error of 0.5 on every hidden pixel is an MSE of 0.25 whatever the box size; context_weight adds 25 * weight
    off = np.where(mask == 1.0, target + 0.5, target + 5.0)
    np.testing.assert_allclose(numpy(inpainting_loss(target, off, mask, 0.01)), 0.25 + 0.25, rtol=1e-5)


def test_the_loss_class_round_trips():
    restored = assert_round_trip(InpaintingLoss(context_weight=0.2))
    assert restored.context_weight == 0.2


# -- the masks -----------------------------------------------------------------------------------


def test_region_size_is_a_fraction_of_each_side():
    assert region_box((16, 16), 0.5) == (8, 8)
    assert region_box((16, 12), 0.25) == (4, 3)
    assert region_box((8, 8), 0.1) == (1, 1)  # 0.8 px rounds to one pixel


def test_the_center_mask_covers_exactly_the_central_box():
    mask = numpy(region_mask(4, (16, 16), (8, 6), "center"))
    expected = np.zeros((16, 16), "float32")
    expected[4:12, 5:11] = 1.0
    assert mask.shape == (4, 16, 16, 1)
    for m in mask:
        np.testing.assert_array_equal(m[..., 0], expected)


def _box_of(m):
    rows, cols = np.nonzero(m[..., 0])
    return rows.min(), cols.min(), rows.max() - rows.min() + 1, cols.max() - cols.min() + 1


def test_random_masks_are_one_box_of_the_configured_size_placed_per_sample():
    mask = numpy(region_mask(32, (16, 12), (6, 4), "random", seed=3))
    boxes = [_box_of(m) for m in mask]
    for m, (top, left, h, w) in zip(mask, boxes):
        assert (h, w) == (6, 4) and m.sum() == 24, "a random mask must be exactly one 6x4 box"
        assert 0 <= top <= 10 and 0 <= left <= 8
    positions = {(top, left) for top, left, _, _ in boxes}
    assert len(positions) > 10, f"32 samples share only {len(positions)} box positions"
    tops = {top for top, *_ in boxes}
    assert {0, 10} <= tops or len(tops) >= 8, "boxes should reach the borders of the image"


def test_the_model_draws_new_random_boxes_each_training_step_and_fixed_ones_otherwise():
    model = Inpainting(tiny_encoder((16, 16, 1)), region="random", region_size=0.25, decoder_width=4)
    x = tiny_images(16)
    first, second = (numpy(model(x, training=True)[2]) for _ in range(2))
    assert not np.array_equal(first, second)
    assert len({_box_of(m)[:2] for m in first}) > 4, "samples of one batch should have different boxes"
    np.testing.assert_array_equal(numpy(model(x)[2]), numpy(model(x)[2]))
    center = Inpainting(tiny_encoder((16, 16, 1)), region="center", region_size=0.25, decoder_width=4)
    np.testing.assert_array_equal(numpy(center(x, training=True)[2]), numpy(region_mask(16, (16, 16), (4, 4), "center")))


@pytest.mark.parametrize("fill", ["mean", 0.0, 0.7])
def test_hidden_pixels_get_the_fill_and_the_context_is_kept(fill):
    x = tiny_images(3, 8, 2)
    mask = numpy(region_mask(3, (8, 8), (4, 4), "random", seed=0))
    hidden = numpy(hide_region(x, mask, fill))
    keep = np.broadcast_to(mask == 0.0, x.shape)
    np.testing.assert_array_equal(hidden[keep], x[keep])
    for image, original, m in zip(hidden, x, mask[..., 0].astype(bool)):
        value = original[~m].mean(axis=0) if fill == "mean" else np.full(2, fill)  # per channel, over the context only
        np.testing.assert_allclose(image[m], np.broadcast_to(value, image[m].shape), rtol=1e-5)


def test_the_encoder_never_sees_the_hidden_pixels_and_embeds_whole_images():
    model = Inpainting(tiny_encoder((16, 16, 1)), region_size=0.5, decoder_width=4)
    x = tiny_images(4)
    scribbled = x.copy()
    scribbled[:, 4:12, 4:12] = np.random.default_rng(5).uniform(size=(4, 8, 8, 1))  # only the hidden centre changes
    np.testing.assert_allclose(numpy(model(scribbled)[0]), numpy(model(x)[0]), atol=1e-6)
    np.testing.assert_allclose(model.embed(x), numpy(model.encoder(x)), atol=1e-6)  # evaluation: unmasked input
    assert not np.allclose(model.embed(scribbled), model.embed(x))
    masked, reconstruction = model.inpaint(x, batch_size=3)  # what the encoder saw, and the decoder's image
    np.testing.assert_allclose(masked, numpy(hide_region(x, region_mask(4, (16, 16), (8, 8)), "mean")), atol=1e-6)
    np.testing.assert_allclose(reconstruction, numpy(model(x)[0]), atol=1e-5)


# -- contract and saving ---------------------------------------------------------------------------


@pytest.mark.parametrize("region", ["center", "random"])
def test_component_contract_and_round_trip(region, tmp_path):
    args = {"region": region, "region_size": 0.375, "fill": 0.0, "context_weight": 0.1, "decoder_width": 8}
    model = check_pretext(Inpainting, args, augmenter=keras.layers.RandomTranslation(0.1, 0.1, seed=0), tmp_path=tmp_path)
    assert isinstance(model, kssl.PretextTask)
    assert {**args, "input_shape": [16, 16, 1]}.items() <= model.get_config().items()
    reloaded = keras.models.load_model(tmp_path / "inpainting_round_trip.keras")
    x = tiny_images(4)
    for before, after in zip(model(x), reloaded(x)):
        np.testing.assert_allclose(numpy(after), numpy(before), atol=1e-5)
    assert type(reloaded.reconstruction_loss) is InpaintingLoss and reloaded.reconstruction_loss.context_weight == 0.1


def test_the_image_shape_comes_from_the_encoder_when_not_given():
    model = Inpainting(tiny_encoder((12, 10, 3)), region_size=0.5, decoder_width=4)
    assert model.input_shape == (12, 10, 3) and model.box == (6, 5)
    reconstruction, target, mask = model(tiny_images(2, 12, 3)[:, :, :10])
    assert numpy(reconstruction).shape == (2, 12, 10, 3) and numpy(mask).shape == (2, 12, 10, 1)


@pytest.mark.parametrize(
    "args, path",
    [
        ({"region_size": 0}, r"pretext.region_size: expected a number > 0.0"),
        ({"region_size": 1.0}, r"pretext.region_size: expected a number < 1.0"),
        ({"region_size": float("nan")}, r"pretext.region_size: .*NaN"),
        ({"region_size": 0.03}, r"pretext.region_size: .*smaller than one pixel"),
        ({"region_size": 0.98}, r"pretext.region_size: .*leaves no context"),
        ({"region": "middle"}, r"pretext.region: expected one of 'center', 'random'"),
        ({"fill": "median"}, r"pretext.fill: expected 'mean'"),
        ({"context_weight": -1}, r"pretext.context_weight: expected a number >= 0.0"),
        ({"decoder_width": 0}, r"pretext.decoder_width"),
    ],
)
def test_bad_arguments_name_the_key(args, path):
    with pytest.raises(RecipeError, match=path):
        build_component("pretext", Inpainting, args, context={"input_shape": (16, 16, 1)}, objects={"encoder": tiny_encoder()})


def test_flat_data_is_refused():
    with pytest.raises(RecipeError, match=r"^pretext.input_shape: the inpainting pretext .* needs image data .* shape \(64,\)"):
        build_component("pretext", Inpainting, {}, context={"input_shape": (64,)}, objects={"encoder": tiny_encoder()})


def test_trains_on_jax(tmp_path):
    code = textwrap.dedent(
        f"""
        from kssl.testing import check_pretext
        from kssl_inpainting.inpainting import Inpainting
        check_pretext(Inpainting, {{"region": "random", "decoder_width": 4}}, tmp_path={str(tmp_path)!r})
        import keras; print("backend", keras.backend.backend())
        """
    )
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "backend jax" in result.stdout
