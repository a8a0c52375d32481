"""``kssl.Evaluator``: the base class of everything that scores a trained model."""

from __future__ import annotations

from kssl.eval.feature_cache import FeatureCache


class Evaluator:
    """Scores a pretext model on a dataset: ``evaluate(model, data) -> {metric: value}``.

    A subclass sets ``name`` (the prefix of its messages) and ``requires_labels`` (False
    for scores that need no labels, such as an ELBO), takes its own arguments in
    ``__init__`` (checked with :mod:`kssl.checks`, stored under the same names, returned
    by ``get_config``), and implements :meth:`evaluate`. Optional:

    - :meth:`check_model`: raise :class:`kssl.KsslError` when the model lacks what the
      evaluator needs; the builder calls it before training, so a recipe that pairs an
      evaluator with the wrong pretext task fails in seconds, not after training.
    - :meth:`check_data`: raise :class:`kssl.KsslError` when the dataset cannot serve the
      evaluator (e.g. a label budget larger than a class); called before training too.
    - :meth:`write_artifacts`: pictures or files written into the run directory.
    - ``scores_baseline``: False for an evaluator that trains its own from-scratch
      baseline (label efficiency), so the run does not score the random-init model again.
    - :meth:`for_baseline`: the evaluator that scores the random-init model, when a
      cheaper one tells as much about untrained weights (the ELBO without ``iw_nll``).

    Features come from a :class:`~kssl.eval.feature_cache.FeatureCache` that the run
    owns and passes as ``features``: kNN, linear probe and clustering then embed each
    split once per model. Called without one (from Python), an evaluator embeds afresh.
    """

    name = "evaluator"
    requires_labels = True
    scores_baseline = True

    def evaluate(self, model, data, features=None) -> dict:
        """``{metric: value}`` of ``model`` on ``data`` (a :class:`kssl.data.splits.DataSplits`)."""
        raise NotImplementedError(f"{type(self).__name__} must implement evaluate(model, data, features=None).")

    def check_model(self, model) -> None:
        """Raise :class:`kssl.KsslError` if ``model`` cannot be scored by this evaluator. Default: any model."""

    def check_data(self, data) -> None:
        """Raise :class:`kssl.KsslError` if ``data`` (a :class:`kssl.data.splits.DataSplits`) cannot be scored. Default: any."""

    def for_baseline(self) -> Evaluator:
        """The evaluator that scores the run's random-init model (its ``random_init.*`` metrics). Default: this one.

        Override it to leave out a part that costs much and says little about untrained
        weights; the run's evaluation then stays proportionate to what it reports.
        """
        return self

    def write_artifacts(self, run_dir, model, data, features=None) -> list:
        """Write pictures or files into ``run_dir``; returns their paths. Default: none."""
        return []

    def get_config(self) -> dict:
        """The constructor arguments, as stored."""
        return {}

    @staticmethod
    def features_of(features, model, x, batch_size: int = 256, **options):
        """``features.embed(model, x, batch_size, **options)``, or a fresh embedding when no cache is given."""
        return (features if features is not None else FeatureCache()).embed(model, x, batch_size, **options)
