"""The single-channel PNG images masks are stored in: read and write (no image library needed).

:func:`read_indices` accepts non-interlaced greyscale (bit depth 1, 2, 4, 8 or 16) and palette
(bit depth up to 8) PNGs, the forms a semantic mask of category ids takes, and returns each
pixel's value (grey level or palette index: the category id). :func:`write_indices` writes
8-bit greyscale (16-bit when a value exceeds 255), one zlib stream, filter type 0: the same
values give the same bytes. Anything else (colour, alpha, interlaced) is a
:class:`PngError` whose message says what the file is.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

SIGNATURE = b"\x89PNG\r\n\x1a\n"


class PngError(ValueError):
    """A file that is not a single-channel PNG this module reads."""


def _chunks(data: bytes):
    if not data.startswith(SIGNATURE):
        raise PngError("not a PNG file")
    pos = len(SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if len(body) != length:
            raise PngError("the PNG file is truncated")
        yield kind, body
        pos += 12 + length
        if kind == b"IEND":
            return
    raise PngError("the PNG file is truncated (no IEND)")


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter(raw: bytes, height: int, stride: int, bpp: int) -> bytearray:
    out = bytearray(height * stride)
    prev = bytearray(stride)
    pos = 0
    for y in range(height):
        kind = raw[pos]
        line = bytearray(raw[pos + 1 : pos + 1 + stride])
        pos += 1 + stride
        if len(line) != stride:
            raise PngError("the PNG image data is truncated")
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:
            for i in range(stride):
                line[i] = (line[i] + prev[i]) & 0xFF
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                upleft = prev[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + _paeth(left, prev[i], upleft)) & 0xFF
        elif kind != 0:
            raise PngError(f"unknown PNG filter type {kind}")
        out[y * stride : (y + 1) * stride] = line
        prev = line
    return out


def read_indices(data: bytes) -> tuple[int, int, list[int]]:
    """``(width, height, values)`` of a single-channel PNG, values row by row."""
    header = None
    idat = []
    for kind, body in _chunks(data):
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
    if header is None:
        raise PngError("the PNG has no IHDR")
    width, height, depth, colour, _, _, interlace = header
    if colour not in (0, 3):
        names = {2: "RGB", 4: "grey + alpha", 6: "RGBA"}
        raise PngError(f"the PNG is {names.get(colour, f'colour type {colour}')}; a mask must be greyscale or palette")
    if interlace:
        raise PngError("the PNG is interlaced; save the mask without interlacing")
    if depth not in (1, 2, 4, 8, 16) or (colour == 3 and depth == 16):
        raise PngError(f"unsupported PNG bit depth {depth}")
    try:
        raw = zlib.decompress(b"".join(idat))
    except zlib.error as exc:
        raise PngError(f"the PNG image data is corrupt: {exc}") from exc
    stride = (width * depth + 7) // 8
    rows = _unfilter(raw, height, stride, max(1, depth // 8))
    values: list[int] = []
    for y in range(height):
        row = rows[y * stride : (y + 1) * stride]
        if depth == 8:
            values.extend(row)
        elif depth == 16:
            values.extend(struct.unpack(f">{width}H", bytes(row)))
        else:
            per = 8 // depth
            mask = (1 << depth) - 1
            for x in range(width):
                values.append((row[x // per] >> ((per - 1 - x % per) * depth)) & mask)
    return width, height, values


def write_indices(width: int, height: int, values: Sequence[int]) -> bytes:
    """A greyscale PNG (8-bit, or 16-bit when a value exceeds 255) of ``values`` row by row."""
    if len(values) != width * height:
        raise ValueError(f"{len(values)} values for a {width}x{height} image")
    depth = 16 if values and max(values) > 255 else 8
    lines = bytearray()
    for y in range(height):
        row = values[y * width : (y + 1) * width]
        lines.append(0)
        lines.extend(struct.pack(f">{width}H", *row) if depth == 16 else bytes(row))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, depth, 0, 0, 0, 0)
    return SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(lines), 9)) + chunk(b"IEND", b"")
