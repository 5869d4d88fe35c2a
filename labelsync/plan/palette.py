"""Distinct category colours for the HTML report.

:func:`palette_colour` is the ``i``-th colour of a fixed sequence: first the seven colours
of Okabe and Ito's colour-blind-safe qualitative palette (its black left out: it vanishes on
dark pictures), then hues spaced by the golden angle in a few lightness/saturation shades,
each kept only when it stays :data:`MIN_DELTA_E` (CIE76) away from every earlier colour
(for the first :data:`CHECKED` colours). :class:`CategoryColours` gives each category name
one index: first the given order (the report passes the desired catalogs' category order,
so the colours are stable for a given catalog), then names asked for later in the order
asked. Pure: no I/O.
"""

from __future__ import annotations

import colorsys
from collections.abc import Iterable

__all__ = ["CHECKED", "MIN_DELTA_E", "OKABE_ITO", "CategoryColours", "delta_e", "palette_colour"]

OKABE_ITO = ("#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7")
MIN_DELTA_E = 20.0  # CIE76 distance every generated colour keeps from the earlier ones, while it can
_GOLDEN_ANGLE = 137.50776405003785  # degrees
_SHADES = ((0.50, 0.90), (0.35, 0.85), (0.68, 0.80), (0.25, 0.70), (0.80, 0.70))  # (lightness, saturation)
CHECKED = 64  # colours kept MIN_DELTA_E apart; later ones (rare: a report this colourful) are plain golden-angle hues
_SEQUENCE: list[str] = list(OKABE_ITO)
_WALK = {"tried": 0}  # golden-angle candidates tried so far (the lazy walk is the same each time)


def palette_colour(index: int) -> str:
    """The ``index``-th colour (``#rrggbb``; ``index >= 0``); the same index, the same colour.

    After the fixed palette, candidates walk the hue circle by the golden angle through a
    few lightness/saturation shades; up to index :data:`CHECKED` a candidate is taken only
    when its CIE76 distance to every earlier colour is at least :data:`MIN_DELTA_E`, after
    that each candidate is taken as it comes (no colour set stays that far apart for long)."""
    while len(_SEQUENCE) <= index:
        colour = _candidate(_WALK["tried"])
        _WALK["tried"] += 1
        if len(_SEQUENCE) >= CHECKED or all(delta_e(colour, c) >= MIN_DELTA_E for c in _SEQUENCE):
            _SEQUENCE.append(colour)
    return _SEQUENCE[index]


def _candidate(n: int) -> str:
    hue = (15.0 + n * _GOLDEN_ANGLE) % 360 / 360
    lightness, saturation = _SHADES[(n // 7) % len(_SHADES)]
    r, g, b = colorsys.hls_to_rgb(hue, lightness, saturation)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def delta_e(a: str, b: str) -> float:
    """CIE76 colour difference of two ``#rrggbb`` sRGB colours (0 the same; about 2.3 a just
    noticeable difference; black to white 100)."""
    return sum((p - q) ** 2 for p, q in zip(_lab(a), _lab(b), strict=True)) ** 0.5


def _lab(colour: str) -> tuple[float, float, float]:
    """sRGB ``#rrggbb`` -> CIE L*a*b* (D65 white)."""
    lin = []
    for i in (1, 3, 5):
        c = int(colour[i : i + 2], 16) / 255
        lin.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    r, g, b = lin
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

    fx, fy, fz = f(x), f(y), f(z)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


class CategoryColours:
    """Category name -> colour: the names of ``order`` get indices 0, 1, ... (a repeated
    name keeps its first index), a name not in it the next free index when first asked."""

    def __init__(self, order: Iterable[str] = ()) -> None:
        self._index: dict[str, int] = {}
        for name in order:
            self._index.setdefault(name, len(self._index))

    def __call__(self, name: str) -> str:
        return palette_colour(self._index.setdefault(name, len(self._index)))

    def rank(self, name: str) -> int:
        """The name's index (assigning one when new): the legend lists categories by it."""
        return self._index.setdefault(name, len(self._index))
