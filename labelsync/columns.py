"""Items of one segment held as columns: memory that does not grow with Python objects per file.

:class:`ItemTable` is a read-only ``Mapping[str, Item]`` (remote path -> item) whose rows are
kept as

* ``paths``: the remote paths, sorted (a list of ``str``; a scan's strings are shared, not
  copied), looked up by bisection (no per-file dict entry);
* ``sums``: the SHA-1 digests, 20 bytes per row in one ``bytearray``;
* ``sizes``: the sizes in one ``array('q')`` (``-1``: the row has no content identity, a live
  item whose server reported no checksum);
* ``extras``: the full :class:`~labelsync.state.Item` of the few rows that carry more than a
  path and a blob (a label, a timestamp, a frame, a sensor, masks), keyed by row index;
* ``base``: the desired side's data directory (with a trailing separator): a plain row's
  ``source`` is ``base + path``; ``None`` on the live side.

An :class:`~labelsync.state.Item` is built only when one is asked for (``table[path]``,
iteration of ``values()``/``items()``), and dropped by the caller after use. Hot loops (the
digest, the differ) read the columns directly: :meth:`line`, :meth:`row_key`,
:meth:`is_plain`. A plain row's ``label`` and ``masks`` are one shared empty mapping each
(never mutated: items are values).

Pure: no I/O. Equal tables (same rows) compare equal to each other and to a plain dict of
the same items.
"""

from __future__ import annotations

import json
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from labelsync.state import Blob, Item, item_line

EMPTY: dict[str, Any] = {}
"""The shared label/masks of a plain row (read-only by convention: items are values)."""

_STR = json.encoder.encode_basestring
_NO_SUM = bytes(20)


class ItemTable(Mapping[str, Item]):
    """A segment's items as columns (see the module docstring)."""

    __slots__ = ("paths", "sums", "sizes", "extras", "base")

    def __init__(
        self,
        paths: list[str],
        sums: bytearray | bytes,
        sizes: array[int],
        extras: dict[int, Item] | None = None,
        base: str | None = None,
    ) -> None:
        if len(sums) != 20 * len(paths) or len(sizes) != len(paths):
            raise ValueError("ItemTable: columns of different lengths")
        self.paths = paths
        self.sums = sums
        self.sizes = sizes
        self.extras: dict[int, Item] = extras if extras is not None else {}
        self.base = base

    # -- building -------------------------------------------------------------------------

    @classmethod
    def from_items(cls, items: Iterable[Item], base: str | None = None) -> ItemTable:
        """A table of ``items`` (any order; a later duplicate path wins); items that carry more
        than a path and a blob, or whose ``source`` is not ``base + path``, go to ``extras``."""
        rows: dict[str, Item] = {}
        for item in items:
            rows[item.remote_path] = item
        paths = sorted(rows)
        sums = bytearray(20 * len(paths))
        sizes = array("q", bytes(8 * len(paths)))
        extras: dict[int, Item] = {}
        for i, path in enumerate(paths):
            item = rows.pop(path)
            blob = item.blob
            exact = True  # the row's columns rebuild the item exactly
            if blob is not None:
                digest = _digest(blob.checksum)
                exact = digest is not None
                sums[20 * i : 20 * i + 20] = digest or _NO_SUM
                sizes[i] = blob.size
            else:
                sizes[i] = -1
            if not exact or not _plain(item, None if base is None else base + path):
                extras[i] = item
        return cls(paths, sums, sizes, extras, base)

    # -- rows -----------------------------------------------------------------------------

    def index(self, path: str) -> int:
        """The row of ``path``, or ``-1``."""
        paths = self.paths
        i = bisect_left(paths, path)
        return i if i < len(paths) and paths[i] == path else -1

    def is_plain(self, i: int) -> bool:
        """True when row ``i`` is a path and a blob only (no label, frame, masks...)."""
        return i not in self.extras

    def row_key(self, i: int) -> tuple[bytes, int]:
        """``(digest bytes, size)`` of row ``i``: equal keys mean equal blobs (``size -1``: none)."""
        return bytes(self.sums[20 * i : 20 * i + 20]), self.sizes[i]

    def checksum(self, i: int) -> str | None:
        """The SHA-1 hex of row ``i`` (None when it has no content identity)."""
        extra = self.extras.get(i)
        if extra is not None:
            return extra.blob.checksum if extra.blob is not None else None
        return None if self.sizes[i] < 0 else self.sums[20 * i : 20 * i + 20].hex()

    def item(self, i: int) -> Item:
        """The :class:`Item` of row ``i`` (built now)."""
        extra = self.extras.get(i)
        if extra is not None:
            return extra
        size = self.sizes[i]
        path = self.paths[i]
        blob = None if size < 0 else Blob(self.sums[20 * i : 20 * i + 20].hex(), size)
        base = self.base
        return Item(path, blob, EMPTY, None, None, None, None if base is None else base + path, EMPTY)

    def line(self, i: int) -> str:
        """:func:`~labelsync.state.item_line` of row ``i`` (the digest's hot path)."""
        extra = self.extras.get(i)
        if extra is not None:
            return item_line(extra)
        size = self.sizes[i]
        if size < 0:
            return item_line(self.item(i))
        return (
            f'{{"checksum":"{self.sums[20 * i : 20 * i + 20].hex()}","fileSize":{size},"frameId":null,'
            f'"label":{{}},"remotePath":{_STR(self.paths[i])},"sensorName":null,"timestamp":null}}'
        )

    # -- Mapping --------------------------------------------------------------------------

    def __getitem__(self, path: str) -> Item:
        i = self.index(path) if isinstance(path, str) else -1
        if i < 0:
            raise KeyError(path)
        return self.item(i)

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and self.index(path) >= 0

    def __iter__(self) -> Iterator[str]:
        return iter(self.paths)

    def __len__(self) -> int:
        return len(self.paths)

    def values(self) -> Iterator[Item]:  # type: ignore[override]  # a lazy view: one Item at a time
        item = self.item
        return (item(i) for i in range(len(self.paths)))

    def items(self) -> Iterator[tuple[str, Item]]:  # type: ignore[override]
        item = self.item
        return ((path, item(i)) for i, path in enumerate(self.paths))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ItemTable):
            return (
                self.paths == other.paths and self.sums == other.sums and self.sizes == other.sizes
                and all(self.item(i) == other.item(i) for i in set(self.extras) | set(other.extras))
                and _same_sources(self, other)
            )
        if isinstance(other, Mapping):
            return len(self) == len(other) and all(other.get(p) == self.item(i) for i, p in enumerate(self.paths))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ItemTable({len(self.paths)} rows, {len(self.extras)} with labels)"

    def nbytes(self) -> int:
        """Approximate bytes held by the columns (not the path strings, which scans share)."""
        return len(self.sums) + self.sizes.itemsize * len(self.sizes) + 8 * len(self.paths)


class TableBuilder:
    """Rows appended one at a time (a paged listing, in any order) -> an :class:`ItemTable`.

    :meth:`add_plain` takes a bare row without building an item; :meth:`add` a full item
    (kept in ``extras`` unless it is plain). A later row for the same path replaces the
    earlier one, as a dict would.
    """

    def __init__(self) -> None:
        self._paths: list[str] = []
        self._sums = bytearray()
        self._sizes = array("q")
        self._extras: dict[int, Item] = {}

    def add_plain(self, path: str, checksum: str | None, size: int | None) -> None:
        """A row with no label, timestamp, frame or sensor (``checksum`` None: no blob)."""
        digest = None if checksum is None or size is None else _digest(checksum)
        if digest is None:
            blob = None if checksum is None or size is None else Blob(checksum, size)
            self.add(Item(path, blob, EMPTY, None, None, None, None, EMPTY))
            return
        self._paths.append(path)
        self._sums += digest
        self._sizes.append(size)  # type: ignore[arg-type]  # checked not None above

    def add(self, item: Item) -> None:
        """Any live item (no ``source``)."""
        blob = item.blob
        digest = _digest(blob.checksum) if blob is not None else None
        if blob is not None and digest is not None and _plain(item, None):
            self.add_plain(item.remote_path, blob.checksum, blob.size)
            return
        self._extras[len(self._paths)] = item
        self._paths.append(item.remote_path)
        self._sums += digest or _NO_SUM
        self._sizes.append(blob.size if blob is not None else -1)

    def table(self) -> ItemTable:
        """The rows sorted by path (the last row of a path kept)."""
        paths, sums, sizes, extras = self._paths, self._sums, self._sizes, self._extras
        n = len(paths)
        if any(paths[i] >= paths[i + 1] for i in range(n - 1)):
            order = sorted(range(n), key=lambda i: (paths[i], i))
            order = [i for k, i in enumerate(order) if k + 1 == n or paths[order[k + 1]] != paths[i]]
            paths = [paths[i] for i in order]
            sums = bytearray(b"".join(sums[20 * i : 20 * i + 20] for i in order))
            sizes = array("q", [sizes[i] for i in order])
            extras = {k: extras[i] for k, i in enumerate(order) if i in extras}
        self._paths, self._sums, self._sizes, self._extras = [], bytearray(), array("q"), {}
        return ItemTable(paths, sums, sizes, extras)


def _digest(checksum: str) -> bytes | None:
    """The 20 bytes of a lower-case SHA-1 hex digest; None for anything else (kept as is)."""
    if len(checksum) != 40:
        return None
    try:
        digest = bytes.fromhex(checksum)
    except ValueError:
        return None
    return digest if digest.hex() == checksum else None


def digest(checksum: str) -> bytes | None:
    """The 20 bytes of a lower-case SHA-1 hex digest (as a table row holds it); None otherwise."""
    return _digest(checksum)


def _plain(item: Item, source: str | None) -> bool:
    return (
        not item.label and item.timestamp is None and item.frame_id is None and item.sensor_name is None
        and not item.masks and item.source == source
    )


def _same_sources(a: ItemTable, b: ItemTable) -> bool:
    if a.base == b.base:
        return True
    return all(a.item(i).source == b.item(i).source for i in range(len(a.paths)))


__all__ = ["EMPTY", "ItemTable", "TableBuilder", "digest"]
