"""Gitignore-style glob patterns, compiled once to one regular expression.

Semantics (the subset of gitignore that data selection needs), for POSIX paths relative
to the data directory:

* ``*`` matches any run of characters except ``/``; ``?`` one character except ``/``;
  ``[abc]``, ``[a-z]``, ``[!abc]`` a character class (never ``/``); ``\\x`` a literal ``x``.
* ``**/`` at the start matches zero or more directories (``**/*.jpg`` matches ``a.jpg``
  and ``x/y/a.jpg``); ``/**/`` in the middle matches one ``/`` or any directories between;
  ``/**`` at the end matches everything below. Any other ``**`` acts as ``*``.
* A pattern with no ``/`` (other than a trailing one) matches at any depth, against the
  last path components (``*.jpg`` is ``**/*.jpg``). A leading ``/`` anchors it at the data
  directory (``/top.jpg`` matches only the top-level file).
* A pattern that matches a directory matches everything below it (``cache`` and ``cache/``
  both select ``cache/a/b.bin``).

:func:`compile_patterns` joins all patterns into one regex so matching a path costs one
``fullmatch`` call, however many patterns there are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from labelsync.errors import LocalDataError


def _translate(pattern: str) -> str:
    """Translate one glob pattern into a regex source (without anchors)."""
    pat = pattern.strip()
    if not pat:
        raise LocalDataError(f"empty glob pattern {pattern!r}", hint="remove it or write e.g. '**/*.jpg'")
    pat = pat.rstrip("/") or "/"
    anchored = pat.startswith("/") or "/" in pat.rstrip("/")
    pat = pat.lstrip("/")
    if pat == "":
        return ".*"
    out: list[str] = []
    i, n = 0, len(pat)
    while i < n:
        c = pat[i]
        if c == "*":
            if pat.startswith("**", i):
                at_start = i == 0 or pat[i - 1] == "/"
                j = i + 2
                if at_start and j < n and pat[j] == "/":
                    out.append("(?:[^/]*/)*")  # zero or more directories
                    i = j + 1
                    continue
                if at_start and j == n:
                    out.append(".*")  # everything below
                    i = j
                    continue
                out.append("[^/]*")
                i = j
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            start = i + 1 + (1 if pat[i + 1 : i + 2] in ("!", "^") else 0)
            end = pat.find("]", start + 1)  # a "]" right after "[" or "[!" is literal
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pat[i + 1 : end]
                negate = body[:1] in ("!", "^")
                if negate:
                    body = body[1:]
                body = body.replace("\\", "\\\\")
                out.append(("[^/" if negate else "[") + body + "]")
                i = end
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pat[i]))
        else:
            out.append(re.escape(c))
        i += 1
    body = "".join(out)
    prefix = "" if anchored else "(?:[^/]*/)*"
    return prefix + body + "(?:/.*)?"


def compile_patterns(patterns: Sequence[str]) -> re.Pattern[str] | None:
    """Compile ``patterns`` into one regex to use with ``fullmatch``; ``None`` if empty.

    Raises :class:`LocalDataError` for an empty or uncompilable pattern.
    """
    if isinstance(patterns, str):
        patterns = [patterns]
    if not patterns:
        return None
    parts = []
    for p in patterns:
        src = _translate(p)
        try:
            re.compile(src)
        except re.error as exc:
            raise LocalDataError(
                f"invalid glob pattern {p!r}: {exc}", hint="check the brackets of character classes"
            ) from exc
        parts.append(f"(?:{src})")
    return re.compile("|".join(parts), re.DOTALL)


def matches(regex: re.Pattern[str] | None, rel: str) -> bool:
    """True when the compiled ``regex`` matches the relative POSIX path ``rel``."""
    return regex is not None and regex.fullmatch(rel) is not None
