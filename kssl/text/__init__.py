"""Text for self-supervised learning: the offline corpus, WordPiece vocabularies, fill-mask.

Nothing here imports keras-hub or TensorFlow Text at import time; the functions
that need them import them when called.
"""
