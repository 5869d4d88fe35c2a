"""Find where a JSON path starts inside one line of JSON text (for file:line:column messages).

Label files are validated with the fast C ``json`` parser, which keeps no positions. Only
when a line has a problem is it scanned again by :func:`locate`, which walks the text along
one JSON path and returns the 1-based column where that value starts, or where the
deepest existing ancestor starts when the path does not exist (e.g. a missing key points
at its object). The text is assumed to be valid JSON; on anything unexpected the best
column found so far is returned, never an exception.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from json import decoder as _decoder

from labelsync.diagnostics import format_path  # noqa: F401 - re-exported for callers

scanstring: Callable[[str, int], tuple[str, int]] = _decoder.scanstring  # type: ignore[attr-defined]

_WS = re.compile(r"[ \t\n\r]*")
_SCALAR = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null")


def _ws(text: str, i: int) -> int:
    m = _WS.match(text, i)
    return m.end() if m else i


def _skip(text: str, i: int) -> int:
    """Index just after the JSON value starting at ``i`` (``i`` is at a non-space char)."""
    c = text[i]
    if c == '"':
        return scanstring(text, i + 1)[1]
    if c in "{[":
        close = "}" if c == "{" else "]"
        i = _ws(text, i + 1)
        if text[i] == close:
            return i + 1
        while True:
            if c == "{":
                i = _ws(text, scanstring(text, _ws(text, i) + 1)[1])
                i = _ws(text, i + 1)  # past ':'
            i = _ws(text, _skip(text, _ws(text, i)))
            if text[i] == close:
                return i + 1
            i += 1  # past ','
    m = _SCALAR.match(text, i)
    if m is None:
        raise ValueError(f"unexpected {c!r} at {i}")
    return m.end()


def locate(text: str, path: Sequence[str | int], *, key: bool = False, start: int = 0) -> int:
    """The 1-based column of the value at ``path`` in ``text`` (or of its deepest ancestor).

    With ``key`` and a path ending in an object key, the column of that key instead.
    ``start``: the 0-based offset of the value ``path`` starts from (default: the text's own
    value); the result still counts from the start of ``text``.
    """
    best = _ws(text, start)
    i = best
    try:
        last = len(path) - 1
        for n, part in enumerate(path):
            c = text[i]
            if isinstance(part, str) and c == "{":
                j = _ws(text, i + 1)
                found = -1
                while text[j] != "}":
                    key_at = _ws(text, j)
                    name, j = scanstring(text, key_at + 1)
                    j = _ws(text, _ws(text, j) + 1)  # past ':'
                    if name == part:
                        if key and n == last:
                            return key_at + 1
                        found = j
                        break
                    j = _ws(text, _skip(text, j))
                    if text[j] == ",":
                        j = _ws(text, j + 1)
                if found < 0:
                    return best + 1
                i = best = found
            elif isinstance(part, int) and c == "[":
                j = _ws(text, i + 1)
                index = 0
                found = -1
                while text[j] != "]":
                    if index == part:
                        found = j
                        break
                    j = _ws(text, _skip(text, j))
                    if text[j] == ",":
                        j = _ws(text, j + 1)
                    index += 1
                if found < 0:
                    return best + 1
                i = best = found
            else:
                return best + 1
    except (ValueError, IndexError):
        return best + 1
    return best + 1


