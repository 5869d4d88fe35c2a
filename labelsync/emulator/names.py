"""Name rules shared by the emulators: names a client could not safely turn into a path.

The contracts (``api/tensorbay.md``, ``api/deepen.md``) document no character rules for
segment names or Deepen file ids, but labelsync writes remote names back into a repository
(``pull``), so the emulators refuse what could not be written back safely rather than store
it: an absolute path (``/abs``, ``C:/x``), a ``..`` or ``.`` part, a backslash, a control
character, or leading or trailing white space. This is also what a manifest may never declare
(:data:`labelsync.manifest.model.NAME_PATTERN` is stricter still).
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:")


def unsafe_name(name: str, *, nested: bool = False) -> str | None:
    """Why ``name`` is refused, or None when it is safe.

    ``nested``: ``/`` separates parts (a file id inside a zip); otherwise a name is one
    part and ``/`` is refused too (a segment name).
    """
    if name != name.strip():
        return "has leading or trailing white space"
    if _CONTROL.search(name):
        return "holds a control character"
    if "\\" in name:
        return "holds a backslash"
    if name.startswith("/") or _DRIVE.match(name):
        return "is an absolute path"
    if not nested and "/" in name:
        return "holds a '/'"
    if any(part in (".", "..", "") for part in name.split("/")):
        return "has an empty, '.' or '..' path part"
    return None
