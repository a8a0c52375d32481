"""CLI commands that live in their own modules, one command a file, added to ``kssl.cli.main`` with ``add_command``.

A command module imports click, :mod:`kssl.backend_choice` and :mod:`kssl.recipe` at module level and everything
heavy (Keras, the builder) inside the command, after ``select_backend``; it raises :class:`kssl.errors.KsslError`
for bad input, which the CLI group turns into one paragraph and exit code 2. It never imports :mod:`kssl.cli`.
"""
