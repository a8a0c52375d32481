"""Regenerate docs/recipes.md: the hand-written intro plus one section per built-in component.

Run `python scripts/gen_reference.py` after changing a component's arguments;
tests/test_docs.py fails when the page and the code disagree.
"""

import inspect
from pathlib import Path

from kssl.plugins import get_plugin_manager

# Filled in by kssl, not written in a recipe: the data's context (input_shape, num_classes, batch_size, ...)
# and the objects built before (encoder, augmenter). Datasets are built first, with neither, so for a
# dataset every one of these names is a real recipe argument (e.g. text_files' sequence_length).
# A recipe may still set batch_size for an evaluator (its prediction batches): documented, with
# the data's batch size as the default.
SKIP = {"input_shape", "num_classes", "encoder", "augmenter", "kwargs", "name", "vocabulary_size", "sequence_length", "train_captions"}
FROM_DATA = {"batch_size"}
DOCS = Path(__file__).resolve().parents[1] / "docs"


def main():
    _, registry = get_plugin_manager()
    out = [(Path(__file__).parent / "recipes-intro.md").read_text(encoding="utf-8")]
    for kind in registry.kinds:
        entries = [e for e in registry.entries() if e.kind == kind and e.provider == "kssl"]
        if not entries:
            continue
        out.append(f"\n## {kind.capitalize()}s\n")
        for e in entries:
            out.append(f"\n### {kind} `{e.name}`\n")
            doc = inspect.getdoc(e.factory) or ""
            if doc:
                out.append("\n" + doc.split("\n\n")[0].replace("\n", " ") + "\n")
            skip = SKIP if kind != "dataset" else set()
            params = [p for n, p in inspect.signature(e.factory).parameters.items() if n not in skip and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
            if params:
                out.append("\n| argument | default |\n| --- | --- |\n")
                for p in params:
                    if kind != "dataset" and p.name in FROM_DATA and p.default is None:
                        default = "the data's"
                    else:
                        default = "required" if p.default is inspect.Parameter.empty else f"`{p.default!r}`"
                    out.append(f"| `{p.name}` | {default} |\n")
    (DOCS / "recipes.md").write_text("".join(out), encoding="utf-8")


if __name__ == "__main__":
    main()
