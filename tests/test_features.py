"""kssl.eval.features: embed() and the per-evaluation feature cache."""

import numpy as np
import pytest

from kssl.eval.features import cached_features, embed


class CountingPretext:
    def __init__(self, scale):
        self.scale, self.calls = scale, 0

    def embed(self, x, batch_size=256):
        self.calls += 1
        return np.asarray(x, np.float32) * self.scale


def test_features_are_computed_once_per_model_and_array_inside_the_block():
    x, y = np.ones((4, 2, 3)), np.zeros((5, 6))
    a, b = CountingPretext(2.0), CountingPretext(3.0)
    with cached_features():
        first = embed(a, x)
        assert embed(a, x) is first and a.calls == 1  # same model, same array: cached
        np.testing.assert_array_equal(embed(b, x), np.full((4, 6), 3.0))  # another model
        embed(a, y)  # another array
        assert (a.calls, b.calls) == (2, 1)
        with pytest.raises(ValueError):
            first[0, 0] = 7.0  # shared by the block's evaluators: read-only
    embed(a, x)
    assert a.calls == 3  # outside the block every call computes
    np.testing.assert_array_equal(first, np.full((4, 6), 2.0))
