"""``kssl generate``: continue a prompt with a trained causal language model (temperature and top-k sampling)."""

from __future__ import annotations

import click

from kssl.backend_choice import select_backend
from kssl.errors import ArgumentError, KsslError
from kssl.finished_run import check_run_dir
from kssl.recipe import BACKENDS, load_recipe
from kssl.text.generation import check_recipe_names_a_causal_lm, load_causal_lm
from kssl.text.generation import generate as continue_prompt
from kssl.text.sampling import check_temperature, check_top_k


@click.command()
@click.argument("run_dir", type=click.Path())
@click.argument("prompt")
@click.option("--max-tokens", type=int, default=40, show_default=True, help="The most tokens to add (generation also stops at the end of a text).")
@click.option("--temperature", type=float, default=1.0, show_default=True, help="Above 0: lower is more predictable (near 0: greedy).")
@click.option("--top-k", type=int, default=None, help="Sample only among the K most likely tokens (1: greedy). Default: all.")
@click.option("--seed", type=int, default=0, show_default=True, help="The sampling seed (the same seed gives the same text).")
@click.option("--backend", type=str, default=None, help=f"Keras backend: {', '.join(BACKENDS)}.")
def generate(run_dir, prompt, max_tokens, temperature, top_k, seed, backend):
    """Continue PROMPT with RUN_DIR's causal language model (a `pretext: {type: causal_lm}` run) and print the text.

    Nothing is written. Options are checked before Keras loads: an empty prompt, a temperature
    that is not above 0 (or NaN), a top-k below 1 or a run that is not a causal LM exit with code 2.
    """
    if not prompt.strip():
        raise KsslError(f'PROMPT: expected some text to continue, e.g. "return the", got {prompt!r}.')
    if max_tokens < 1:
        raise KsslError(f"--max-tokens: expected a whole number of at least 1, got {max_tokens}.")
    for option, check, value in (("--temperature", check_temperature, temperature), ("--top-k", check_top_k, top_k)):
        try:
            check(value)
        except ArgumentError as exc:
            raise KsslError(f"{option}: {exc.message}") from None
    recipe = load_recipe(check_run_dir(run_dir, then="generate") / "recipe.yaml")
    select_backend(backend, recipe, import_keras=False)  # a plugin's hook may import Keras while names are listed
    check_recipe_names_a_causal_lm(run_dir, recipe)  # a masked_lm or simclr run: refused before Keras loads
    select_backend(backend, recipe)  # Keras loads here, with the chosen backend
    result = continue_prompt(load_causal_lm(run_dir), prompt, max_tokens, temperature, top_k, seed)
    click.echo(result["text"])
