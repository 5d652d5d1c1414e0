"""Check figures as a colour-blind learner sees them: simulate deuteranopia and protanopia.

A screenshot (PNG) is passed through daltonlens' simulation of a colour-vision
deficiency (Machado 2009, full severity). For each message kind of
:data:`microlab.viz.style.CATEGORY_COLOURS` that the screenshot shows (pixels of exactly
its colour: arrowheads and line cores are drawn in it), the simulated colour of those
pixels is read back, and every pair of kinds is compared by its colour difference
ΔE in CAM02-UCS (colorspacious). About 1 is the smallest difference one can see; kinds
that must be read apart at a glance need far more (:data:`DISTINCT`).

``python -m tools.colour_vision PNG ...`` prints, per screenshot and deficiency, the
kinds found and the closest pair, and writes the simulated images beside the originals
(``<name>.deutan.png``, ``<name>.protan.png``) to look at.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: The deficiencies checked, by daltonlens' name, and the suffix of their simulated images.
DEFICIENCIES = {"deutan": "DEUTAN", "protan": "PROTAN"}

#: ΔE (CAM02-UCS) two message kinds must keep, simulated, to be told apart at a glance.
DISTINCT = 12.0

#: Fewer pixels than this of a kind's exact colour: the kind is not in the screenshot.
MIN_PIXELS = 12


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


def simulate(image: np.ndarray, deficiency: str) -> np.ndarray:
    """``image`` (H×W×3 uint8 sRGB) as seen with ``deficiency`` (``"deutan"`` or ``"protan"``)."""
    from daltonlens import simulate as dl

    if deficiency not in DEFICIENCIES:
        raise ValueError(f"deficiency must be one of {', '.join(DEFICIENCIES)}, got {deficiency!r}")
    return dl.Simulator_Machado2009().simulate_cvd(image, getattr(dl.Deficiency, DEFICIENCIES[deficiency]),
                                                   severity=1.0)


def load(path: str | Path) -> np.ndarray:
    """A PNG as an H×W×3 uint8 array (alpha dropped)."""
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB"))


def swatches(colours: dict[str, str], size: int = 8) -> np.ndarray:
    """An image of one ``size``-pixel square per colour, side by side (for checking a palette)."""
    row = np.concatenate([np.full((size, size, 3), _rgb(c), dtype=np.uint8) for c in colours.values()], axis=1)
    return row


@dataclass
class Seen:
    """What one simulated screenshot shows: the simulated colour of each kind found, and
    every pair's ΔE, closest first."""

    deficiency: str
    colours: dict[str, tuple[float, float, float]]
    pairs: list[tuple[float, str, str]]

    @property
    def closest(self) -> tuple[float, str, str] | None:
        """The pair of kinds hardest to tell apart (ΔE, kind, kind), or None with fewer than two."""
        return self.pairs[0] if self.pairs else None


def kinds_seen(image: np.ndarray, colours: dict[str, str], deficiency: str) -> Seen:
    """Simulate ``deficiency`` on ``image`` and compare the kinds of ``colours`` found in it.

    Kinds that share a colour on purpose (told apart by line pattern) are compared once,
    under their first name.
    """
    from colorspacious import deltaE

    by_colour: dict[str, str] = {}
    for kind, colour in colours.items():
        by_colour.setdefault(colour.upper(), kind)
    seen_as = simulate(image, deficiency)
    found = {}
    for colour, kind in by_colour.items():
        mask = np.all(image == np.array(_rgb(colour), dtype=np.uint8), axis=-1)
        if mask.sum() >= MIN_PIXELS:
            found[kind] = tuple(float(v) for v in np.median(seen_as[mask].astype(float), axis=0))
    pairs = sorted((float(deltaE(found[a], found[b], input_space="sRGB255")), a, b)
                   for a, b in itertools.combinations(found, 2))
    return Seen(deficiency, found, pairs)


def main(argv=None) -> int:
    """``python -m tools.colour_vision PNG ...``: see the module docstring."""
    from PIL import Image

    from microlab.viz import style

    parser = argparse.ArgumentParser(prog="python -m tools.colour_vision", description=__doc__.split("\n\n")[0])
    parser.add_argument("png", nargs="+")
    args = parser.parse_args(argv)
    worst = None
    for path in map(Path, args.png):
        image = load(path)
        for deficiency in DEFICIENCIES:
            seen = kinds_seen(image, style.CATEGORY_COLOURS, deficiency)
            Image.fromarray(simulate(image, deficiency)).save(path.with_suffix(f".{deficiency}.png"))
            close = seen.closest
            say = f"closest {close[1]} / {close[2]}: ΔE {close[0]:.1f}" if close else "fewer than two kinds"
            print(f"{path.name} {deficiency}: kinds {', '.join(seen.colours) or 'none'}; {say}")
            if close and (worst is None or close[0] < worst):
                worst = close[0]
    if worst is not None:
        print(f"closest pair in all: ΔE {worst:.1f} (distinct at a glance from {DISTINCT:g})")
    return 0 if worst is None or worst >= DISTINCT else 1


if __name__ == "__main__":
    sys.exit(main())
