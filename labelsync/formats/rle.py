"""COCO run-length encoding of binary masks, written from the documented format.

A mask of ``h`` rows and ``w`` columns is flattened **column by column** (Fortran order:
pixel ``(row r, column c)`` is index ``c * h + r``). ``counts`` alternate runs of 0s and
1s, starting with 0s (a mask starting with a 1 has a leading 0 count); they sum to ``h*w``.
This uncompressed list is also TensorBay's ``RLE`` label value.

The compressed form (COCO ``"counts": "<string>"``) stores each count, from the third
on as the difference to the count two places before, as a little-endian sequence of 5-bit
groups in characters ``chr(48 + c)``: bit 0x20 of ``c`` means "another group follows",
and bit 0x10 of the last group is the sign (two's complement).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def decode_counts(text: str) -> list[int]:
    """The counts of a compressed COCO RLE string (``ValueError`` when it is malformed)."""
    try:
        data = text.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError("compressed RLE is ASCII text") from None
    counts: list[int] = []
    append = counts.append
    x = shift = 0
    for p, c in enumerate(data):
        c -= 48
        if c < 0 or c > 63:
            raise ValueError(f"character {chr(c + 48)!r} at {p} is not RLE")
        x |= (c & 0x1F) << shift
        shift += 5
        if c & 0x20:
            continue
        if c & 0x10:
            x |= -1 << shift
        n = len(counts)
        if n > 2:
            x += counts[n - 2]
        append(x)
        x = shift = 0
    if shift:
        raise ValueError("compressed RLE string ends inside a count")
    return counts


def encode_counts(counts: Sequence[int]) -> str:
    """The compressed COCO RLE string of ``counts`` (inverse of :func:`decode_counts`)."""
    out: list[str] = []
    for i, value in enumerate(counts):
        x = value - counts[i - 2] if i > 2 else value
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = x != -1 if c & 0x10 else x != 0
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return "".join(out)


def area(counts: Sequence[int]) -> int:
    """Number of 1 pixels."""
    return sum(counts[1::2])


def to_pixels(counts: Sequence[int]) -> list[int]:
    """The flat column-major 0/1 pixel list."""
    out: list[int] = []
    for i, n in enumerate(counts):
        out.extend([i & 1] * n)
    return out


def from_pixels(pixels: Iterable[int]) -> list[int]:
    """Counts of a flat column-major 0/1 pixel sequence."""
    counts: list[int] = []
    current, run = 0, 0
    for p in pixels:
        bit = 1 if p else 0
        if bit != current:
            counts.append(run)
            current, run = bit, 0
        run += 1
    counts.append(run)
    return counts


def bbox(counts: Sequence[int], height: int) -> tuple[int, int, int, int] | None:
    """``(x, y, w, h)`` of the 1 pixels (pixel-edge coordinates), ``None`` for an empty mask."""
    xs: list[int] = []
    ys: list[int] = []
    pos = 0
    for i, n in enumerate(counts):
        if i & 1 and n:
            first, last = pos, pos + n - 1
            c0, c1 = divmod(first, height)[0], divmod(last, height)[0]
            xs += [c0, c1]
            if c0 == c1:
                ys += [first % height, last % height]
            else:
                ys += [0, height - 1]
        pos += n
    if not xs:
        return None
    return min(xs), min(ys), max(xs) - min(xs) + 1, max(ys) - min(ys) + 1
