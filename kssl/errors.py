"""User-facing errors: bad input that the CLI reports in one paragraph with exit code 2."""

from __future__ import annotations

import difflib

__all__ = ["ArgumentError", "KsslError", "PluginError", "RecipeError", "TrainingError", "did_you_mean"]


class KsslError(Exception):
    """Bad input from the user (recipe, data, CLI). The CLI prints it and exits with ``exit_code`` (2)."""

    exit_code = 2


class RecipeError(KsslError):
    """A recipe problem that names the key path it concerns, e.g. ``pretext.temperature``."""

    def __init__(self, path: str, message: str):
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


class PluginError(KsslError):
    """A plugin's component factory failed with an error of its own (a bug in the plugin, not bad input).

    The message names the recipe section, the component and the distribution that provides
    it, and the original error, in one paragraph without a traceback. The CLI exits with
    code 1 (``exit_code``): the recipe may be fine; the plugin's author is the one to tell.
    A factory's ``TypeError``/``ValueError`` (and kssl's own ``ArgumentError``) is taken as a
    complaint about the recipe's arguments instead: a :class:`RecipeError`, exit code 2.
    """

    exit_code = 1

    def __init__(self, path: str, message: str, provider: str):
        self.path = path
        self.message = message
        self.provider = provider
        super().__init__(f"{path}: {message}" if path else message)


class TrainingError(Exception):
    """Training stopped for a reason the user must act on (e.g. a NaN loss). The CLI exits with code 1."""


class ArgumentError(KsslError, ValueError):
    """Raised by a component constructor for one bad argument.

    The builder re-raises it as a :class:`RecipeError` prefixed with the recipe
    section, so ``ArgumentError("temperature", "expected ...")`` raised by the
    pretext factory reaches the user as ``pretext.temperature: expected ...``.
    """

    def __init__(self, argument: str, message: str):
        self.argument = argument
        self.message = message
        super().__init__(f"{argument}: {message}")


def did_you_mean(name: str, choices) -> str:
    """A ``did you mean 'x'?`` suffix (with a leading space) or an empty string."""
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""
