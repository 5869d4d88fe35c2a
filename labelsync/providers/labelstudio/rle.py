"""Label Studio's brush RLE (the ``rle`` of a ``brushlabels`` result), written from its format.

The format (that of the ``rle-pack`` package the Label Studio frontend uses) is one big-endian
bit stream, most significant bit first, zero-padded to whole bytes, sent as a list of byte
values (0-255):

* header: the number of values ``num`` (32 bits), the word size minus one (5 bits), then four
  run-length field sizes minus one (4 bits each);
* then chunks until ``num`` values are produced: a repeat flag (1 bit), the index of a
  run-length field size (2 bits), the chunk length minus one (that many bits), then one word
  (repeat: the value of every item of the chunk) or ``length`` words (literal values).

A brush mask of a ``width x height`` image holds ``width * height * 4`` values, the RGBA bytes
of each pixel, row by row; Label Studio reads the alpha channel (painted > 0). labelsync
writes painted pixels as ``(255, 255, 255, 255)`` and others as zeros, using word size 8 and
run-length sizes 3, 4, 8 and 16 bits, with only repeat chunks (every pixel is four equal
values, so there are no single values).
"""

from __future__ import annotations

from collections.abc import Sequence

WORD_BITS = 8
RUN_BITS = (3, 4, 8, 16)


class RleError(ValueError):
    """An RLE list that does not decode (truncated, bad header, values past the end)."""


class _BitWriter:
    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = 0
        self.bits = 0

    def write(self, value: int, bits: int) -> None:
        self.acc = (self.acc << bits) | (value & ((1 << bits) - 1))
        self.bits += bits
        while self.bits >= 8:
            self.bits -= 8
            self.out.append((self.acc >> self.bits) & 0xFF)
        self.acc &= (1 << self.bits) - 1

    def finish(self) -> list[int]:
        if self.bits:
            self.out.append((self.acc << (8 - self.bits)) & 0xFF)
            self.acc = self.bits = 0
        return list(self.out)


def encode_runs(runs: Sequence[tuple[int, int]], total: int) -> list[int]:
    """RLE of a value sequence given as ``(value, count)`` runs (values 0-255) summing to ``total``."""
    writer = _BitWriter()
    writer.write(total, 32)
    writer.write(WORD_BITS - 1, 5)
    for size in RUN_BITS:
        writer.write(size - 1, 4)
    longest = 1 << RUN_BITS[-1]
    for value, count in runs:
        while count > 0:
            length = min(count, longest)
            index = next(i for i, size in enumerate(RUN_BITS) if length <= 1 << size)
            writer.write(1, 1)
            writer.write(index, 2)
            writer.write(length - 1, RUN_BITS[index])
            writer.write(value, WORD_BITS)
            count -= length
    return writer.finish()


def encode_mask(painted: Sequence[bool] | bytes, width: int, height: int) -> list[int]:
    """The RLE of a brush mask: ``painted`` holds one truth value per pixel, row by row."""
    if len(painted) != width * height:
        raise ValueError(f"{len(painted)} pixels for a {width}x{height} mask")
    runs: list[tuple[int, int]] = []
    for flag in painted:
        value = 255 if flag else 0
        if runs and runs[-1][0] == value:
            runs[-1] = (value, runs[-1][1] + 4)
        else:
            runs.append((value, 4))
    return encode_runs(runs, width * height * 4)


def decode(rle: Sequence[int]) -> bytearray:
    """Every value of an RLE list (any word size up to 8 bits and any run-length sizes)."""
    data = bytes(rle) if not isinstance(rle, bytes | bytearray) else rle
    total_bits = len(data) * 8
    position = 0

    def read(bits: int) -> int:
        nonlocal position
        if position + bits > total_bits:
            raise RleError("the RLE data ends early")
        value = 0
        for _ in range(bits):
            value = (value << 1) | ((data[position >> 3] >> (7 - (position & 7))) & 1)
            position += 1
        return value

    try:
        num = read(32)
        word = read(5) + 1
        sizes = [read(4) + 1 for _ in range(4)]
    except RleError as exc:
        raise RleError("the RLE header is incomplete") from exc
    if word > 8:
        raise RleError(f"word size {word} is not supported (brush masks use 8)")
    most = (total_bits // (3 + min(sizes) + word) + 1) << max(sizes)  # values the chunks can hold
    if num > most:
        raise RleError(f"the RLE claims {num} values, more than its {len(data)} bytes can hold")
    out = bytearray(num)
    i = 0
    while i < num:
        repeat = read(1)
        length = read(sizes[read(2)]) + 1
        end = i + length
        if end > num:
            raise RleError("an RLE chunk runs past the declared number of values")
        if repeat:
            value = read(word)
            out[i:end] = bytes([value]) * length
        else:
            for j in range(i, end):
                out[j] = read(word)
        i = end
    return out


def decode_mask(rle: Sequence[int], width: int, height: int, threshold: int = 128) -> list[bool]:
    """One truth value per pixel (alpha >= ``threshold``) of a ``width x height`` brush mask."""
    values = decode(rle)
    if len(values) != width * height * 4:
        raise RleError(f"the RLE holds {len(values)} values, a {width}x{height} mask has {width * height * 4}")
    return [alpha >= threshold for alpha in values[3::4]]
