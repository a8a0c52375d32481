"""Generate kssl's spoken-words corpus (``kssl/data/spoken_words.npz``) with the espeak-ng speech synthesiser.

No speech corpus ships in any Python package, so kssl synthesises one: the ten command words
of Speech Commands (yes no up down left right on off stop go), each spoken by many synthetic
voices. Every clip draws, from a seeded generator, an English accent (``-v en-us``, ``en-gb``,
...), a voice variant (``+m3``, ``+f2``, ``+klatt``, ...), a pitch (``-p``), a speed (``-s``, words
per minute) and an amplitude (``-a``); espeak-ng renders the word at 22050 Hz, which is
resampled to 8 kHz (``scipy.signal.resample_poly``), placed at a random offset in a 1 s clip,
and scaled down to a peak of 0.8 where louder, and mixed with white or pink noise at a random SNR (10 to 30 dB, relative to the speech's
RMS). The train/test split is by voice variant: the test clips use variants that no training
clip uses, so a classifier is scored on unseen voices.

Storage: 8-bit mu-law (G.711, the telephone standard at 8 kHz), ``np.savez_compressed``. Its
quantisation noise (about 38 dB below the signal) lies under the added noise (10 to 30 dB),
so the 8-bit codes lose nothing audible that the corpus relies on, and 480 one-second
clips fit in under 4 MB (16-bit PCM would take 7.7 MB).

Everything is deterministic from ``--seed``: espeak-ng renders the same arguments to the same
samples, and the noise of clip ``i`` comes from ``numpy.random.default_rng([seed, i])``. The
file stores every clip's parameters, so ``--check`` re-renders a few clips and compares them
with the stored ones (exactly when the espeak-ng version matches the one recorded, by their
envelope otherwise).

    python scripts/generate_spoken_words.py                 # writes kssl/data/spoken_words.npz
    python scripts/generate_spoken_words.py --check         # re-renders 5 clips, exit 1 on a mismatch
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _mu_law():
    """kssl/data/mu_law.py loaded by path: importing the kssl package would import Keras and TensorFlow (seconds)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_kssl_mu_law", ROOT / "kssl" / "data" / "mu_law.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


mu_law_encode, mu_law_decode = _mu_law().mu_law_encode, _mu_law().mu_law_decode

OUTPUT = ROOT / "kssl" / "data" / "spoken_words.npz"
WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029", "en-us-nyc")
TRAIN_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m8", "f1", "f2", "f3", "f5", "klatt", "klatt3", "david", "linda", "steph", "paul")
TEST_VARIANTS = ("m6", "m7", "f4", "klatt2")
SAMPLE_RATE, ESPEAK_RATE = 8000, 22050
PITCH, SPEED, AMPLITUDE, SNR_DB = (25, 75), (120, 220), (40, 110), (10.0, 30.0)


def espeak_binary() -> str:
    found = shutil.which("espeak-ng")
    if found is None:
        raise SystemExit("espeak-ng is not installed: apt-get install -y espeak-ng (Debian/Ubuntu) or brew install espeak-ng.")
    return found


def espeak_version() -> str:
    out = subprocess.run([espeak_binary(), "--version"], capture_output=True, text=True, check=True).stdout
    return out.split("text-to-speech:")[-1].split("Data")[0].strip()


def speak(word: str, voice: str, pitch: int, speed: int, amplitude: int) -> np.ndarray:
    """espeak-ng's rendering of ``word`` as float32 samples at 8 kHz (trailing and leading silence trimmed)."""
    cmd = [espeak_binary(), "-v", voice, "-p", str(pitch), "-s", str(speed), "-a", str(amplitude), "--stdout", word]
    raw = subprocess.run(cmd, capture_output=True, check=True).stdout
    with wave.open(io.BytesIO(raw)) as w:
        rate, frames = w.getframerate(), w.readframes(w.getnframes())
    pcm = np.frombuffer(frames, dtype="<i2").astype(np.float64) / 32768.0
    from scipy.signal import resample_poly

    if rate != ESPEAK_RATE:
        raise SystemExit(f"espeak-ng rendered {rate} Hz audio, expected {ESPEAK_RATE} Hz.")
    x = resample_poly(pcm, 160, 441)  # 22050 Hz -> 8000 Hz
    loud = np.flatnonzero(np.abs(x) > 1e-3)
    return (x[loud[0] : loud[-1] + 1] if len(loud) else x).astype(np.float32)


def noise(rng: np.random.Generator, n: int, colour: str) -> np.ndarray:
    """Unit-RMS white or pink (1/f power) noise."""
    white = rng.standard_normal(n)
    if colour == "pink":
        spectrum = np.fft.rfft(white)
        spectrum[1:] /= np.sqrt(np.arange(1, len(spectrum)))
        spectrum[0] = 0.0
        white = np.fft.irfft(spectrum, n)
    return white / max(float(np.sqrt(np.mean(white**2))), 1e-12)


def plan(seed: int, train_per_word: int, test_per_word: int) -> list[dict]:
    """Every clip's parameters, drawn from ``default_rng(seed)``: word, accent, variant, pitch, speed, amplitude, SNR, noise colour."""
    rng = np.random.default_rng(seed)
    clips = []
    for label in range(len(WORDS)):
        for split, variants, count in ((0, TRAIN_VARIANTS, train_per_word), (1, TEST_VARIANTS, test_per_word)):
            for _ in range(count):
                clips.append(
                    {
                        "label": label,
                        "split": split,
                        "accent": str(rng.choice(ACCENTS)),
                        "variant": str(rng.choice(variants)),
                        "pitch": int(rng.integers(PITCH[0], PITCH[1] + 1)),
                        "speed": int(rng.integers(SPEED[0], SPEED[1] + 1)),
                        "amplitude": int(rng.integers(AMPLITUDE[0], AMPLITUDE[1] + 1)),
                        "snr_db": float(np.round(rng.uniform(*SNR_DB), 2)),
                        "colour": str(rng.choice(["white", "pink"])),
                        "position": float(rng.uniform()),
                    }
                )
    return clips


def render(clip: dict, index: int, seed: int, seconds: float = 1.0) -> np.ndarray:
    """One clip as mu-law codes: the spoken word at a random offset in ``seconds`` of noise at the clip's SNR."""
    n = int(SAMPLE_RATE * seconds)
    speech = speak(WORDS[clip["label"]], f"{clip['accent']}+{clip['variant']}", clip["pitch"], clip["speed"], clip["amplitude"])[:n]
    speech = speech * min(1.0, 0.8 / max(float(np.abs(speech).max()), 1e-12))  # headroom: loud voices would clip once noise is added
    x = np.zeros(n)
    start = int(round(clip["position"] * (n - len(speech))))
    x[start : start + len(speech)] = speech
    rms = float(np.sqrt(np.mean(speech.astype(np.float64) ** 2)))
    x += noise(np.random.default_rng([seed, index]), n, clip["colour"]) * rms * 10 ** (-clip["snr_db"] / 20)
    return mu_law_encode(x)


def generate(seed: int, train_per_word: int, test_per_word: int, output: Path) -> None:
    clips = plan(seed, train_per_word, test_per_word)
    audio = np.stack([render(c, i, seed) for i, c in enumerate(clips)])
    columns = {key: np.array([c[key] for c in clips]) for key in clips[0]}
    np.savez_compressed(
        output,
        audio=audio,
        words=np.array(WORDS),
        sample_rate=np.int32(SAMPLE_RATE),
        seed=np.int64(seed),
        espeak_version=np.array(espeak_version()),
        **columns,
    )
    n_train, n_test = int((columns["split"] == 0).sum()), int((columns["split"] == 1).sum())
    print(f"wrote {output}: {len(audio)} clips ({n_train} train, {n_test} test), {output.stat().st_size / 1e6:.2f} MB")


def stored_clip(data, index: int) -> dict:
    keys = ("label", "split", "accent", "variant", "pitch", "speed", "amplitude", "snr_db", "colour", "position")
    return {k: data[k][index].item() for k in keys}


def check(path: Path, count: int = 5) -> list[str]:
    """Re-render ``count`` stored clips (spread over both splits); returns the mismatches (empty: all agree)."""
    data = np.load(path)
    seed, exact = int(data["seed"]), str(data["espeak_version"]) == espeak_version()
    problems = []
    for index in np.linspace(0, len(data["audio"]) - 1, count).astype(int):
        again, stored = render(stored_clip(data, index), int(index), seed), data["audio"][index]
        if exact and not np.array_equal(again, stored):
            problems.append(f"clip {index}: {int(np.sum(again != stored))} of {len(stored)} samples differ")
        elif not exact:
            envelopes = [np.abs(mu_law_decode(a)).reshape(40, -1).mean(axis=1) for a in (again, stored)]
            corr = float(np.corrcoef(*envelopes)[0, 1])
            if corr < 0.8:
                problems.append(f"clip {index}: energy envelopes correlate only {corr:.2f} (espeak-ng {espeak_version()} vs {data['espeak_version']})")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-per-word", type=int, default=36)
    parser.add_argument("--test-per-word", type=int, default=12)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--check", action="store_true", help="re-render a few clips of --output and compare them with the stored ones")
    args = parser.parse_args(argv)
    if args.check:
        problems = check(args.output)
        print("\n".join(problems) if problems else f"{args.output}: re-rendered clips match")
        return 1 if problems else 0
    generate(args.seed, args.train_per_word, args.test_per_word, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
