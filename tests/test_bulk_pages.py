"""heap/pages.py: the table's big arrays on ordinary pages, with the same values."""

from __future__ import annotations

import numpy as np
import pytest

from gclab.heap import pages


@pytest.mark.skipif(pages._SWITCH is None, reason="numpy has no huge-page switch here")
def test_small_pages_restores_numpy_setting_even_on_error() -> None:
    switch = pages._SWITCH
    assert switch is not None
    before = switch(True)
    try:
        with pytest.raises(RuntimeError), pages.small_pages():
            assert switch(False) is False  # inside: no advice
            raise RuntimeError("inside")
        assert switch(True) is True  # afterwards: what it was
    finally:
        switch(before)


@pytest.mark.parametrize("fill", [0, -1, 3])
def test_filled_and_grown_hold_the_values_numpy_would(fill: int) -> None:
    made = pages.filled(5, np.int32, fill)
    assert made.dtype == np.int32 and made.tolist() == [fill] * 5
    source = np.arange(4, dtype=np.int16)
    out = pages.grown(source, 9, fill)
    assert out.dtype == np.int16 and out.tolist() == [0, 1, 2, 3] + [fill] * 5
    assert pages.empty(3, np.uint8).shape == (3,)
