"""``kssl tune``: a hyperparameter search over recipe keys on KerasTuner's oracles.

One concept per module: :mod:`kssl.tune.space` (the ``KEY=SPEC`` mini-language and its check
against a recipe), :mod:`kssl.tune.objectives` (what a trial is scored on),
:mod:`kssl.tune.settings` (a search's settings, checked before anything is written, and its
``tune.json``), :mod:`kssl.tune.tuner` (the KerasTuner ``Tuner`` whose trials are kssl runs) and
:mod:`kssl.tune.report` (the table, CSV/JSON, the PNG and the best recipe). See docs/tune.md.
"""
