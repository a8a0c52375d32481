"""The waveform augmentation pipeline of kssl's audio recipes (recipe name ``audio``)."""

from __future__ import annotations

import keras

from kssl.augment.background_noise import BackgroundNoise
from kssl.augment.random_gain import RandomGain
from kssl.augment.random_noise import RandomNoise
from kssl.augment.random_time_crop import RandomTimeCrop
from kssl.checks import check_int
from kssl.errors import ArgumentError


@keras.saving.register_keras_serializable(package="kssl")
class AudioAugment(keras.layers.Layer):
    """Random time crop -> background mix -> gain -> additive noise, each clip drawing its own parameters.

    The stages are :class:`~kssl.augment.random_time_crop.RandomTimeCrop`,
    :class:`~kssl.augment.background_noise.BackgroundNoise`,
    :class:`~kssl.augment.random_gain.RandomGain` and
    :class:`~kssl.augment.random_noise.RandomNoise`; a stage whose range is a single
    point at its neutral value (crop ``[1, 1]``, gain ``[0, 0]``) or whose probability is 0
    is left out. Input and output: waveforms (N, T, 1) or (N, T) in [-1, 1]. Random only when
    called with ``training=True``; identity otherwise. ``keras.ops`` only (TensorFlow, JAX, torch).
    Spectrogram masking (:class:`~kssl.augment.spec_masking.SpecMasking`) belongs after the
    encoder's log-mel front end, not here.

    Args:
        crop_scale: kept fraction of the clip (RandomTimeCrop ``scale``).
        crop_fit: ``pad`` (zeros after the kept stretch) or ``resize`` (stretched back).
        mix_ratio: range of the background's weight (BackgroundNoise ``ratio``).
        mix_probability: chance that a clip is mixed with a background.
        mix_source: ``batch`` (another clip of the batch) or ``noise`` (generated brown noise).
        gain_db: range of the gain in dB.
        snr_db: range of the additive white noise's SNR in dB.
        noise_probability: chance that a clip gets white noise.
        seed: seed of the stages' random streams (None: random).
    """

    def __init__(
        self,
        crop_scale=(0.6, 1.0),
        crop_fit: str = "pad",
        mix_ratio=(0.0, 0.4),
        mix_probability: float = 0.5,
        mix_source: str = "batch",
        gain_db=(-6.0, 6.0),
        snr_db=(10.0, 40.0),
        noise_probability: float = 0.8,
        seed=None,
        **kwargs,
    ):
        if seed is not None:
            seed = check_int("seed", seed, low=0)

        def sub_seed(offset):
            return None if seed is None else seed + offset

        # The stages check their arguments; an error names the composite's key (crop_scale, not scale).
        crop = _stage({"scale": "crop_scale", "fit": "crop_fit"}, RandomTimeCrop, scale=crop_scale, fit=crop_fit, seed=sub_seed(0), name="time_crop")
        mix_keys = {"ratio": "mix_ratio", "probability": "mix_probability", "source": "mix_source"}
        mix = _stage(mix_keys, BackgroundNoise, ratio=mix_ratio, probability=mix_probability, source=mix_source, seed=sub_seed(1), name="background")
        gain = _stage({}, RandomGain, gain_db=gain_db, seed=sub_seed(2), name="gain")
        noise = _stage({"probability": "noise_probability"}, RandomNoise, snr_db=snr_db, probability=noise_probability, seed=sub_seed(3), name="noise")
        super().__init__(**kwargs)
        self.crop, self.mix, self.gain, self.noise = crop, mix, gain, noise
        self.crop_scale, self.crop_fit = list(self.crop.scale), self.crop.fit
        self.mix_ratio, self.mix_probability, self.mix_source = list(self.mix.ratio), self.mix.probability, self.mix.source
        self.gain_db = list(self.gain.gain_db)
        self.snr_db, self.noise_probability = list(self.noise.snr_db), self.noise.probability
        self.seed = seed

    def stages(self) -> list:
        """The stages that change anything, in order."""
        active = []
        if self.crop_scale != [1.0, 1.0]:
            active.append(self.crop)
        if self.mix_probability > 0 and self.mix_ratio != [0.0, 0.0]:
            active.append(self.mix)
        if self.gain_db != [0.0, 0.0]:
            active.append(self.gain)
        if self.noise_probability > 0:
            active.append(self.noise)
        return active

    def build(self, input_shape):
        for layer in (self.crop, self.mix, self.gain, self.noise):
            layer.build(input_shape)
        self.built = True

    def call(self, x, training=None):
        if not training:
            return x
        for stage in self.stages():
            x = stage(x, training=True)
        return x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            crop_scale=list(self.crop_scale),
            crop_fit=self.crop_fit,
            mix_ratio=list(self.mix_ratio),
            mix_probability=self.mix_probability,
            mix_source=self.mix_source,
            gain_db=list(self.gain_db),
            snr_db=list(self.snr_db),
            noise_probability=self.noise_probability,
            seed=self.seed,
        )
        return config


def _stage(keys: dict, cls, **kwargs):
    """``cls(**kwargs)``, an ArgumentError renamed to the composite's key (``keys``: stage key -> composite key)."""
    try:
        return cls(**kwargs)
    except ArgumentError as exc:
        raise ArgumentError(keys.get(exc.argument, exc.argument), exc.message) from None
