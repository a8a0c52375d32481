"""Built-in audio components, registered through the same hook as third-party plugins.

Each factory is a lazy reference (``"module:attribute"``): registering imports nothing heavy.
"""

from kssl.hookspecs import hookimpl


@hookimpl
def kssl_register(registry):
    # audio data, augmentation and the MFCC baseline (kssl/data/spoken_words.py, docs/audio.md)
    registry.add("dataset", "spoken_words", "kssl.data.spoken_words:spoken_words")
    registry.add("dataset", "audio_folder", "kssl.data.audio_folder:audio_folder")
    registry.add("augmenter", "audio", "kssl.augment.audio_augment:AudioAugment")
    registry.add("evaluator", "mfcc_probe", "kssl.eval.mfcc_probe:MFCCProbeEvaluator")
    # audio self-supervision: the encoder and COLA (kssl/encoders/audio_cnn.py, kssl/pretext/cola.py)
    registry.add("encoder", "audio_cnn", "kssl.encoders.audio_cnn:audio_cnn")
    registry.add("encoder", "audio_vit", "kssl.encoders.audio_vit:audio_vit")
    registry.add("pretext", "cola", "kssl.pretext.cola:COLA")
