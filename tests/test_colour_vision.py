"""tools/colour_vision.py: the message kinds' palette stays distinct under deuteranopia and protanopia."""

from __future__ import annotations

import numpy as np
import pytest

from microlab.viz import style
from tools import colour_vision as cv

#: Every kind, "other" (dark grey) included, must keep its colour apart.
KINDS = dict(style.CATEGORY_COLOURS)


@pytest.mark.parametrize("deficiency", list(cv.DEFICIENCIES))
def test_message_kinds_stay_distinct_simulated(deficiency):
    seen = cv.kinds_seen(cv.swatches(KINDS), KINDS, deficiency)
    # failed and failure_report share vermillion on purpose (told apart by line pattern).
    assert set(seen.colours) == set(KINDS) - {"failed"}
    distance, a, b = seen.closest
    assert distance >= cv.DISTINCT, f"{a} and {b} are only ΔE {distance:.1f} apart under {deficiency}"


def test_the_check_catches_a_red_green_palette():
    bad = {"command": "#D62728", "event": "#2CA02C"}   # plotly's default red and green
    normal = cv.kinds_seen(cv.swatches(bad), bad, "deutan")
    image = cv.swatches(bad)
    assert not np.array_equal(cv.simulate(image, "deutan"), image)
    assert normal.closest[0] < cv.DISTINCT, "red against green must fail under deuteranopia"


def test_a_kind_missing_from_the_image_is_not_counted():
    image = cv.swatches({"command": style.BLUE})
    seen = cv.kinds_seen(image, style.CATEGORY_COLOURS, "protan")
    assert list(seen.colours) == ["command"] and seen.closest is None


def test_an_unknown_deficiency_is_named():
    with pytest.raises(ValueError, match="deficiency must be one of deutan, protan, got 'tritan'"):
        cv.simulate(cv.swatches({"x": "#000000"}), "tritan")
