"""``kssl generate``: a prompt continued by a causal-LM run; bad input exits 2 with one message and writes nothing."""

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from test_bert_mlm import SENTENCES, TOKENS
from test_causal_lm import TINY_DECODER, tiny_model

from kssl.cli import main
from kssl.errors import KsslError

RECIPE = {
    "name": "tiny-gpt",
    "seed": 0,
    "data": {"type": "python_docs", "modules": ["json", "argparse"], "limit": 24, "vocabulary_size": 300, "sequence_length": 16},
    "encoder": {"type": "gpt", **TINY_DECODER},
    "pretext": {"type": "causal_lm"},
}


def _run_dir(folder, model, recipe):
    folder.mkdir()
    (folder / "recipe.yaml").write_text(yaml.safe_dump(recipe), encoding="utf-8")
    if model is not None:
        model.save(folder / "model.keras")
    else:
        (folder / "model.keras").write_bytes(b"not read")
    return folder


@pytest.fixture(scope="module")
def trained():
    import keras

    keras.utils.set_random_seed(0)
    model = tiny_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(SENTENCES * 4, batch_size=8, epochs=6, verbose=0)
    return model


@pytest.fixture(scope="module")
def run_dir(trained, tmp_path_factory):
    return _run_dir(tmp_path_factory.mktemp("runs") / "tiny-gpt-run", trained, RECIPE)


def _listing(folder):
    return sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*"))


def test_generate_continues_the_prompt_reproducibly(run_dir):
    before = _listing(run_dir)
    args = ["generate", str(run_dir), "The cat", "--max-tokens", "6", "--temperature", "0.8", "--top-k", "5", "--seed", "3"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    text = first.output.strip()
    assert text.startswith("the cat") and len(text.split()) > 2
    assert CliRunner().invoke(main, args).output == first.output  # same seed, same text
    assert _listing(run_dir) == before  # nothing written


def test_generation_stops_at_the_end_of_a_text_at_max_tokens_or_when_the_context_is_full(trained):
    from kssl.text.generation import generate

    greedy = generate(trained, "the cat", max_tokens=20, top_k=1)
    assert generate(trained, "the cat", max_tokens=20, top_k=1, seed=5) == greedy  # greedy: the seed does not matter
    assert greedy["stopped"] == "end" and greedy["token_ids"][-1] == trained.end_token_id
    assert greedy["text"] == f"{greedy['prompt']} {greedy['continuation']}".strip()
    short = generate(trained, "the", max_tokens=1, temperature=2.0, seed=0)
    assert len(short["token_ids"]) == 3 and short["stopped"] in ("end", "max_tokens")
    assert short["token_ids"][-1] not in trained.never_predicted_ids
    full = generate(trained, " ".join(["the"] * 15), max_tokens=5, seed=0)  # [CLS] + 15 tokens fill the context of 16
    assert len(full["token_ids"]) <= 17 and full["stopped"] in ("end", "context")


@pytest.mark.parametrize(
    "prompt, options, message",
    [
        ("", [], "PROMPT: expected some text to continue"),
        ("   ", [], "PROMPT: expected some text to continue"),
        ("日本語", [], "every token of '日本語' is unknown"),
        (" ".join(["the"] * 16), [], "longer than the model's context of 16 tokens"),
        ("the cat", ["--temperature", "0"], "--temperature: expected a finite number above 0"),
        ("the cat", ["--temperature", "-1"], "--temperature: expected a finite number above 0"),
        ("the cat", ["--temperature", "nan"], "--temperature: expected a finite number above 0"),
        ("the cat", ["--top-k", "0"], "--top-k: expected a whole number of at least 1"),
        ("the cat", ["--max-tokens", "0"], "--max-tokens: expected a whole number of at least 1"),
    ],
)
def test_bad_input_exits_2_with_one_message(run_dir, prompt, options, message):
    before = _listing(run_dir)
    result = CliRunner().invoke(main, ["generate", str(run_dir), prompt, *options])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert _listing(run_dir) == before


def test_a_run_that_is_not_a_causal_lm_is_refused_before_loading(tmp_path):
    masked = {**RECIPE, "encoder": {"type": "bert"}, "pretext": {"type": "masked_lm"}}
    folder = _run_dir(tmp_path / "bert-run", None, masked)  # its model.keras is not even a model: never read
    result = CliRunner().invoke(main, ["generate", str(folder), "the cat"])
    assert result.exit_code == 2 and "'masked_lm' run" in result.output and "not a causal-LM run" in result.output
    missing = CliRunner().invoke(main, ["generate", str(tmp_path / "nowhere"), "the cat"])
    assert missing.exit_code == 2 and "no such run directory" in missing.output


def test_bad_options_and_a_built_in_run_of_another_task_are_refused_before_any_model_loads(tmp_path):
    import json
    import subprocess
    import sys

    folder = _run_dir(tmp_path / "simclr-run", None, {**RECIPE, "pretext": {"type": "simclr"}})
    script = (
        "import json, sys\n"
        "from click.testing import CliRunner\n"
        "from kssl.cli import main\n"
        "codes = [CliRunner().invoke(main, ['generate', sys.argv[1], *args]).exit_code for args in "
        "(['the cat'], ['the cat', '--temperature', 'nan'], [''])]\n"
        "print(json.dumps([codes, 'keras_hub' in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(folder)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    # refused before any model (or keras-hub, which a text model needs) was loaded
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [[2, 2, 2], False]


def test_prompt_ids_and_detokenize(trained):
    from kssl.text.generation import detokenize, prompt_ids

    ids = prompt_ids(trained, "The cats sat.")
    assert [TOKENS[i] for i in ids] == ["[CLS]", "the", "cat", "##s", "sat", "."]
    assert detokenize(trained, ids + [trained.end_token_id, 0]) == "the cats sat ."
    with pytest.raises(KsslError, match="unknown"):
        prompt_ids(trained, "日本")
    assert np.all(np.asarray(ids) < len(TOKENS))


@pytest.mark.slow
def test_a_text_files_run_trains_scores_and_generates(tmp_path):
    """The whole path on your own text: text_files -> kssl train (perplexity, text_probe) -> kssl generate."""
    from kssl.testing import smoke_test_recipe

    corpus = tmp_path / "corpus"
    for label, lines in {
        "cats": ["the cat sat on the mat.", "a cat sang in the tree."],
        "dogs": ["a dog ran to the park.", "the dog sat in the park."],
    }.items():
        (corpus / label).mkdir(parents=True)
        for i in range(6):
            (corpus / label / f"{i}.txt").write_text(lines[i % 2] + "\n", encoding="utf-8")
    recipe = {
        **RECIPE,
        "data": {"type": "text_files", "paths": str(corpus), "document": "file", "labels": "folder", "vocabulary_size": 40, "sequence_length": 12},
        "optimizer": {"type": "adam", "learning_rate": 1.0e-2},
        "eval": [{"type": "perplexity"}, {"type": "text_probe"}],
    }
    run_dir, metrics = smoke_test_recipe(recipe, output_dir=tmp_path / "runs", steps=3)
    scores = metrics["metrics"]
    for key in ("perplexity", "unigram_perplexity", "bigram_perplexity", "text_probe_accuracy", "random_init.perplexity"):
        assert key in scores
    assert (run_dir / "vocabulary.txt").read_text(encoding="utf-8").startswith("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n")
    result = CliRunner().invoke(main, ["generate", str(run_dir), "the dog", "--max-tokens", "5", "--seed", "1"])
    assert result.exit_code == 0 and result.output.startswith("the dog"), result.output
