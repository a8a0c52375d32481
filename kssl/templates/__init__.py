"""File templates written by ``kssl`` commands (``kssl new-plugin``)."""
