"""What a component factory's own exceptions become (issue #20, item 5): bad arguments exit 2, plugin bugs exit 1."""

import pytest

from kssl.errors import ArgumentError, KsslError, PluginError, RecipeError
from kssl.factories import call_factory


def _raising(exc):
    def factory(size: int = 1):
        raise exc

    return factory


def test_a_plugin_bug_names_the_section_the_component_and_the_distribution():
    boom = RuntimeError("cannot open weights.bin\nsecond line")
    with pytest.raises(PluginError) as info:
        call_factory(_raising(boom), {"size": 2}, "pretext", "pretext 'rotnet'", provider="kssl-rotnet")
    error = info.value
    assert error.exit_code == 1 and error.path == "pretext" and error.provider == "kssl-rotnet"
    assert str(error).startswith("pretext: the pretext 'rotnet' factory from 'kssl-rotnet' failed with RuntimeError: cannot open weights.bin. ")
    assert "second line" not in str(error) and "report it to the maintainers of 'kssl-rotnet'" in str(error)
    assert error.__cause__ is boom  # Python users (and plugin authors) keep the original traceback


@pytest.mark.parametrize("exc", [ValueError("size must be odd"), TypeError("size must be an int")])
def test_type_and_value_errors_are_bad_arguments(exc):
    with pytest.raises(RecipeError) as info:
        call_factory(_raising(exc), {}, "augmenter", "augmenter 'odd'", provider="kssl-odd")
    assert info.value.exit_code == 2 and not isinstance(info.value, PluginError)
    assert str(info.value) == f"augmenter: could not build augmenter 'odd' (kssl-odd): {exc}"


def test_kssl_errors_pass_through_with_their_key_path():
    with pytest.raises(RecipeError, match=r"^encoder\.size: expected an integer >= 1"):
        call_factory(_raising(ArgumentError("size", "expected an integer >= 1, got 0.")), {}, "encoder", "encoder 'x'")
    plain = KsslError("data: the folder is empty.")
    with pytest.raises(KsslError) as info:
        call_factory(_raising(plain), {}, "data", "dataset 'x'")
    assert info.value is plain
