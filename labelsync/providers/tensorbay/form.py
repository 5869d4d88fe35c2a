"""The ``multipart/form-data`` body of a storage upload (S3-style form POST, api/tensorbay.md §6.2).

Built in one piece (the policy fields, then ``key`` and ``Content-Type``, the file last, as
S3 POST policies require) rather than through httpx's streaming multipart encoder, which
costs twice the CPU per 64 KiB upload. :class:`FormEncoder` encodes the fields shared by a
policy's uploads once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["FormEncoder", "multipart_form"]


def multipart_form(fields: Mapping[str, str], data: bytes, *, filename: str = "") -> tuple[str, bytes]:
    """``(content type, body)`` of a ``multipart/form-data`` POST: ``fields`` then ``file``.

    Built in one piece (the file last, as S3 POST policies require) rather than through
    httpx's streaming multipart encoder, which costs twice the CPU per 64 KiB upload.
    Field names and values are policy fields (ASCII, no quotes or line breaks).
    """
    boundary = "labelsync-" + os.urandom(12).hex()
    head = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n' for name, value in fields.items()
    )
    head += f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n\r\n'
    return f"multipart/form-data; boundary={boundary}", head.encode() + data + f"\r\n--{boundary}--\r\n".encode()


class FormEncoder:
    """:func:`multipart_form` of many files under the same policy ``fields`` (the same dict):
    the fields' parts are encoded once, each body adds ``key``, ``Content-Type`` and the file
    (at most :attr:`MAX_DATA` bytes). The boundary is random per encoder and never in a file
    it encodes (one that contains it gets a body of its own boundary)."""

    MAX_DATA = 1 << 20

    def __init__(self, fields: Mapping[str, str]) -> None:
        self.fields = fields
        self.boundary = "labelsync-" + os.urandom(12).hex()
        self.content_type = f"multipart/form-data; boundary={self.boundary}"
        self._delimiter = f"--{self.boundary}".encode()
        self._plain = "key" not in fields and "Content-Type" not in fields  # else every body by multipart_form (same field order)
        self._head = _form_parts(self.boundary, fields) + f'--{self.boundary}\r\nContent-Disposition: form-data; name="key"\r\n\r\n'.encode()
        file_head = f'--{self.boundary}\r\nContent-Disposition: form-data; name="file"; filename=""\r\n\r\n'
        self._middle = ("\r\n" + _form_parts(self.boundary, {"Content-Type": ""}).decode() + file_head).encode()
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()

    def encode(self, key: str, data: bytes) -> tuple[str, bytes]:
        """``(content type, body)`` as ``multipart_form({**fields, "key": key, "Content-Type": ""}, data)``."""
        if not self._plain or self._delimiter in data:
            return multipart_form({**self.fields, "key": key, "Content-Type": ""}, data)
        return self.content_type, b"".join((self._head, key.encode(), self._middle, data, self._tail))


def _form_parts(boundary: str, fields: Mapping[str, str]) -> bytes:
    """The form-data parts of ``fields`` (names and values: ASCII policy fields)."""
    return "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n' for name, value in fields.items()).encode()
