"""Text data: the offline standard-library corpus, WordPiece vocabularies, the text datasets and their errors."""

import numpy as np
import pytest

from kssl.errors import ArgumentError
from kssl.text.vocabulary import SPECIAL_TOKENS, learn_vocabulary, read_vocabulary, write_vocabulary

WORDS = "the cat sat on a mat and the dog ran to the park while a bird sang in the tree".split()


def tiny_corpus(n=40, seed=0):
    """Short English-like sentences over a small word list (every word frequent enough to be learned)."""
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=rng.integers(4, 9))) + "." for _ in range(n)]


@pytest.fixture(scope="module")
def vocabulary():
    return learn_vocabulary(tiny_corpus(), vocabulary_size=200)


# -- vocabulary --------------------------------------------------------------------------
def test_learned_vocabulary_starts_with_special_tokens_and_covers_the_corpus(vocabulary):
    import keras_hub

    assert vocabulary[: len(SPECIAL_TOKENS)] == list(SPECIAL_TOKENS)  # [PAD] is id 0
    assert len(vocabulary) <= 200 and len(set(vocabulary)) == len(vocabulary)
    for word in ("the", "cat", "park", "tree"):
        assert word in vocabulary
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=vocabulary, lowercase=True)
    ids = np.asarray(tokenizer("The dog sang in the park."))
    assert vocabulary.index("[UNK]") not in ids.tolist()  # every piece of the training text is known
    assert [vocabulary[i] for i in ids[:2]] == ["the", "dog"]


def test_vocabulary_learning_is_deterministic(vocabulary):
    assert learn_vocabulary(tiny_corpus(), vocabulary_size=200) == vocabulary


def test_vocabulary_files_round_trip_and_bad_files_fail_clearly(vocabulary, tmp_path):
    path = write_vocabulary(vocabulary, tmp_path / "vocab.txt")
    assert read_vocabulary(str(path)) == vocabulary
    with pytest.raises(ArgumentError, match="no such vocabulary file"):
        read_vocabulary(str(tmp_path / "missing.txt"))
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    with pytest.raises(ArgumentError, match="is empty"):
        read_vocabulary(str(tmp_path / "empty.txt"))
    (tmp_path / "plain.txt").write_text("a\nb\n", encoding="utf-8")
    with pytest.raises(ArgumentError, match=r"lacks the special token\(s\) \[PAD\]"):
        read_vocabulary(str(tmp_path / "plain.txt"))
    (tmp_path / "latin.txt").write_bytes("[PAD]\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(ArgumentError, match="latin.txt' is not UTF-8"):
        read_vocabulary(str(tmp_path / "latin.txt"))


def test_learning_from_an_empty_corpus_fails():
    with pytest.raises(ArgumentError, match="empty corpus"):
        learn_vocabulary(["", "  "], vocabulary_size=100)


# -- the standard-library corpus -----------------------------------------------------------
def test_python_docstrings_are_deterministic_labeled_and_real_english():
    from kssl.text.corpus import python_docstrings

    texts, labels, modules = python_docstrings(["json", "argparse"], min_words=5)
    again = python_docstrings(["json", "argparse"], min_words=5)
    assert (texts, labels, modules) == again
    assert modules == ["json", "argparse"] and set(labels) == {0, 1}
    assert len(texts) == len(labels) > 20 and len(set(texts)) == len(texts)
    assert all(len(t.split()) >= 5 and "\n" not in t for t in texts)
    assert any("JSON" in t for t, y in zip(texts, labels) if y == 0)
    assert sum(t.lower().split().count("the") for t in texts) > 50


def test_python_docs_dataset_splits_and_context():
    from kssl.data.python_docs import python_docs

    data = python_docs(modules=["json", "argparse"], limit=24, vocabulary_size=300, sequence_length=32, batch_size=8)
    assert data.x_train.dtype.kind == "U" and data.x_train.ndim == 1 and len(data.x_train) == 24
    assert len(data.x_test) >= 1 and set(np.unique(data.y_train)) <= {0, 1}
    assert data.class_names == ["json", "argparse"] and data.has_labels
    assert not set(data.x_train) & set(data.x_test)
    ctx = data.factory_context()
    assert ctx["sequence_length"] == 32 and ctx["lowercase"] is True
    assert ctx["vocabulary_size"] == len(ctx["vocabulary"]) <= 300
    assert ctx["vocabulary"][:5] == list(SPECIAL_TOKENS)


@pytest.mark.parametrize(
    "args, argument, fragment",
    [
        ({"modules": ["json", "no_such_module"]}, "modules", "'no_such_module' is not a module"),
        ({"modules": "json"}, "modules", "at least two"),
        ({"sequence_length": 0}, "sequence_length", "expected an integer >= 3, got 0"),
        ({"vocabulary_size": 3}, "vocabulary_size", ">= 6"),
        ({"vocabulary": "/nonexistent/vocab.txt"}, "vocabulary", "no such vocabulary file"),
        ({"test_fraction": 1.5}, "test_fraction", "1.5"),
    ],
)
def test_python_docs_bad_arguments(args, argument, fragment):
    from kssl.data.python_docs import python_docs

    with pytest.raises(ArgumentError) as info:
        python_docs(**args)
    assert info.value.argument == argument and fragment in info.value.message


# -- text files ------------------------------------------------------------------------------
def _write_corpus(root):
    for folder, n in (("animals", 0), ("places", 1)):
        (root / folder).mkdir(parents=True)
        (root / folder / "a.txt").write_text("\n".join(tiny_corpus(12, seed=n)) + "\n\n", encoding="utf-8")
        (root / folder / "b.txt").write_text("\n".join(tiny_corpus(12, seed=n + 10)), encoding="utf-8")


def test_text_files_lines_files_globs_and_labels(tmp_path, vocabulary):
    from kssl.data.text_files import text_files

    vocab = write_vocabulary(vocabulary, tmp_path / "vocab.txt")
    tmp_path = tmp_path / "corpus"
    _write_corpus(tmp_path)
    lines = text_files(str(tmp_path / "*" / "*.txt"), vocabulary=str(vocab), test_fraction=0.25)
    assert len(lines.x_train) + len(lines.x_test) == 48 and lines.y_train is None
    assert lines.context["vocabulary"] == vocabulary
    files = text_files(
        [str(tmp_path / "animals"), str(tmp_path / "places" / "a.txt")], document="file", labels="folder", vocabulary=str(vocab), test_fraction=0.34
    )
    assert len(files.x_train) + len(files.x_test) == 3 and files.class_names == ["animals", "places"]
    labeled = text_files(str(tmp_path), labels="folder", vocabulary_size=100, test_fraction=0.25, seed=1)
    assert labeled.has_labels and sorted(np.unique(labeled.y_test)) == [0, 1]  # stratified
    assert labeled.context["vocabulary"][:5] == list(SPECIAL_TOKENS)


def test_text_files_errors_name_the_file(tmp_path):
    from kssl.data.text_files import text_files

    with pytest.raises(ArgumentError, match="no such file or folder") as info:
        text_files(str(tmp_path / "missing.txt"))
    assert info.value.argument == "paths"
    with pytest.raises(ArgumentError, match="matches no file"):
        text_files(str(tmp_path / "*.md"))
    (tmp_path / "empty.txt").write_text(" \n", encoding="utf-8")
    with pytest.raises(ArgumentError, match="empty.txt' is empty"):
        text_files(str(tmp_path / "empty.txt"))
    (tmp_path / "latin.txt").write_bytes("un caf\xe9 noir\n".encode("latin-1"))
    with pytest.raises(ArgumentError, match="latin.txt' is not valid utf-8") as info:
        text_files(str(tmp_path / "latin.txt"))
    assert info.value.argument == "encoding"
    with pytest.raises(ArgumentError, match="single class"):
        text_files(str(tmp_path / "latin.txt"), encoding="latin-1", labels="file")
    with pytest.raises(ArgumentError, match="got both vocabulary_size"):
        text_files(str(tmp_path / "latin.txt"), vocabulary_size=100, vocabulary=str(tmp_path / "v.txt"))
