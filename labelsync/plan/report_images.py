"""Images for the HTML report: read a local image, downscale it, encode it as a data URI.

The only module that uses Pillow, an optional extra (``pip install 'labelsync[html]'``):
:func:`require_pillow` raises one clear :class:`~labelsync.errors.UsageError` when it is
missing. Reading never fails the report: a file that is missing or not an image gives
``None`` (the report then draws the labels without the picture, or lists them in a table).
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labelsync.errors import UsageError

__all__ = ["Picture", "load_mask", "load_picture", "require_pillow"]


def require_pillow() -> Any:
    """The ``PIL.Image`` module, or a :class:`UsageError` saying how to install it."""
    try:
        from PIL import Image
    except ImportError:
        raise UsageError(
            "the HTML report needs Pillow, which is not installed",
            hint="pip install 'labelsync[html]' (or pip install pillow)",
        ) from None
    return Image


@dataclass(frozen=True, slots=True)
class Picture:
    """An embedded image: the original size (label coordinates are in it) and the data URI
    of the downscaled copy; for a mask, ``values``: the pixel values it holds (0 aside)."""

    width: int
    height: int
    uri: str
    values: tuple[int, ...] = ()

    @property
    def size(self) -> int:
        return len(self.uri)


def load_picture(path: Path, *, max_side: int = 512, quality: int = 70) -> Picture | None:
    """``path`` downscaled so its longer side is at most ``max_side``, as a JPEG data URI
    (PNG when it has transparency); ``None`` when it cannot be read as an image."""
    image_mod = require_pillow()
    try:
        with image_mod.open(path) as img:
            width, height = img.size
            img.draft("RGB", (max_side, max_side))  # JPEG: decode at a reduced scale
            img = img.convert("RGBA" if img.mode in ("RGBA", "LA", "P") else "RGB")
            img.thumbnail((max_side, max_side))
            buf = io.BytesIO()
            if img.mode == "RGBA":
                img.save(buf, "PNG", optimize=True)
                mime = "image/png"
            else:
                img.save(buf, "JPEG", quality=quality, optimize=True)
                mime = "image/jpeg"
    except (OSError, ValueError, SyntaxError):  # missing, not an image, truncated
        return None
    return Picture(width, height, f"data:{mime};base64,{base64.b64encode(buf.getvalue()).decode()}")


def load_mask(path: Path, colour_of: Any, *, max_side: int = 512) -> Picture | None:
    """A mask image (one value per pixel) coloured by ``colour_of(value) -> "#rrggbb"``,
    value 0 transparent, downscaled (nearest) and encoded as a PNG data URI. ``colour_of``
    is called once per value the mask holds (0 aside), in increasing order, and for no other
    value (it may hand out colours as it is asked)."""
    image_mod = require_pillow()
    try:
        with image_mod.open(path) as img:
            width, height = img.size
            grey = img.convert("L") if img.mode not in ("L", "P", "I", "I;16") else img
            if grey.mode != "L":
                grey = grey.point(lambda v: v % 256).convert("L")
            values = tuple(sorted(v for _, v in grey.getcolors(256) or () if v))
            grey = grey.resize(_fit(width, height, max_side), image_mod.Resampling.NEAREST)
            palette: list[int] = []
            present = set(values)
            for value in range(256):
                c = colour_of(value) if value in present else "#000000"
                palette += [int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16)]
            coloured = grey.convert("P")
            coloured.putpalette(palette)
            rgba = coloured.convert("RGBA")
            alpha = grey.point(lambda v: 0 if v == 0 else 150)
            rgba.putalpha(alpha)
            buf = io.BytesIO()
            rgba.save(buf, "PNG", optimize=True)
    except (OSError, ValueError, SyntaxError):
        return None
    return Picture(width, height, f"data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}", values)


def _fit(width: int, height: int, max_side: int) -> tuple[int, int]:
    scale = min(1.0, max_side / max(width, height, 1))
    return max(1, round(width * scale)), max(1, round(height * scale))
