"""The differ's row-by-row part: a desired column table against a live one (or none).

Rows that are plain on both sides become :class:`~labelsync.plan.changelist.FileRun` rows (no
object per change); :class:`LiveContent` answers "does the remote hold this content" from the
live tables' digests, :class:`Sent` "does an earlier change of the plan send it". Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Iterator, Mapping

from labelsync.columns import ItemTable, digest
from labelsync.plan.changelist import FileRun
from labelsync.plan.model import Change
from labelsync.state import MASK_TYPES, Item, Segment


def table_changes(
    table: ItemTable,
    live: ItemTable | None,
    prefix: str,
    segment: str,
    root: str,
    known: LiveContent,
    sent: Sent,
    change: Callable[[str, Item, Item | None], Change | None],
    extra: list[str],
) -> Iterator[Change | FileRun]:
    """The changes of a desired table against a live table (or nothing), in path order: a
    plain desired row against no live row or a plain one goes into a :class:`FileRun` (no
    object per change), any other row is a :class:`Change` from ``change``; the live paths
    the desired side lacks are appended to ``extra``. Sends are decided as :func:`_to_send`
    decides them (the same order, the same ``sent``)."""
    usable, source_base = _source_base(table.base, root)
    sums, t_extras = table.sums, table.extras
    l_extras = live.extras if live is not None else {}
    has_digest, sent_digests = known.has_digest, sent.digests
    run: FileRun | None = None
    for i, j in merged_rows(table, live, extra):
        if usable and i not in t_extras and j not in l_extras:
            if run is None:
                run = FileRun(table, live, segment, prefix, source_base)
            d = bytes(sums[20 * i : 20 * i + 20])
            send = d not in sent_digests and not has_digest(d)
            if send:
                sent_digests.add(d)
            run.append(i, j, send)
            continue
        if run is not None:
            yield run
            run = None
        c = change(table.paths[i], table.item(i), live.item(j) if live is not None and j >= 0 else None)
        if c is not None:
            yield c
    if run is not None:
        yield run


def merged_rows(table: ItemTable, live: ItemTable | None, extra: list[str]) -> Iterator[tuple[int, int]]:
    """``(desired row, live row or -1)`` of every desired row that may need a change (rows
    plain on both sides with equal digests and sizes are skipped), both tables merged in path
    order; the live paths the desired side lacks are appended to ``extra``."""
    if live is None:
        yield from ((i, -1) for i in range(len(table.paths)))
        return
    mine, theirs = table.paths, live.paths
    j, m = 0, len(theirs)
    plain_mine, plain_theirs = table.is_plain, live.is_plain
    key_mine, key_theirs = table.row_key, live.row_key
    for i, path in enumerate(mine):
        while j < m and theirs[j] < path:
            extra.append(theirs[j])
            j += 1
        if j < m and theirs[j] == path:
            if not (plain_mine(i) and plain_theirs(j) and key_mine(i) == key_theirs(j)):
                yield i, j
            j += 1
        else:
            yield i, -1
    extra.extend(theirs[j:])


def resolved(items: Mapping[str, Item]) -> Mapping[str, Item]:
    """The mapping behind a lazy one (``resolved()``, e.g. ``desired.LazyItems``), else ``items``."""
    resolve = getattr(items, "resolved", None)
    return resolve() if callable(resolve) else items


def _source_base(base: str | None, root: str) -> tuple[bool, str | None]:
    """``(usable, source base)``: a plain row's planned ``source`` is ``source base + path``
    (:func:`_relative` of ``base + path``) for every row when ``usable``."""
    if base is None or not root:
        return True, base
    prefix = root.rstrip("/") + "/"
    if base.startswith(prefix):
        return True, base[len(prefix):]
    return not prefix.startswith(base), base


class Sent:
    """Checksums an earlier change of the plan sends: SHA-1 hex as its 20 bytes (53 B a
    blob instead of a 89 B string), anything else as given."""

    __slots__ = ("digests", "other")

    def __init__(self) -> None:
        self.digests: set[bytes] = set()
        self.other: set[str] = set()

    def __contains__(self, checksum: str) -> bool:
        d = digest(checksum)
        return d in self.digests if d is not None else checksum in self.other

    def add(self, checksum: str) -> None:
        d = digest(checksum)
        if d is not None:
            self.digests.add(d)
        else:
            self.other.add(checksum)


class LiveContent(Container[str]):
    """Content the remote already holds (data files and the mask files of their labels), as
    SHA-1 hex: ``checksum in known``. Built on the first question (a plan with nothing to
    send never asks), as one sorted ``bytes`` of 20-byte digests searched by bisection,
    plus a small set for what is not a plain digest (mask checksums, odd spellings)."""

    def __init__(self, segments: Iterable[Segment]) -> None:
        self._segments: list[Segment] | None = list(segments)
        self._sorted = b""
        self._other: set[str] = set()

    def _build(self) -> None:
        assert self._segments is not None
        digests: list[bytes] = []
        for seg in self._segments:
            items = seg.items
            if isinstance(items, ItemTable):
                sums = items.sums
                digests += [bytes(sums[20 * i : 20 * i + 20]) for i in range(len(items)) if items.sizes[i] >= 0 and i not in items.extras]
                rows: Iterable[Item] = (items.item(i) for i in items.extras)
            else:
                rows = items.values()
            for item in rows:
                if item.blob is not None:
                    self._other.add(item.blob.checksum)
                for kind in MASK_TYPES:
                    mask = item.label.get(kind) if isinstance(item.label, dict) else None
                    if isinstance(mask, dict) and isinstance(mask.get("checksum"), str):
                        self._other.add(mask["checksum"])
        digests.sort()
        self._sorted = b"".join(digests)
        self._segments = None

    def __contains__(self, checksum: object) -> bool:
        if self._segments is not None:
            self._build()
        if not isinstance(checksum, str):
            return False
        if checksum in self._other:
            return True
        want = digest(checksum)
        return want is not None and self.has_digest(want)

    def has_digest(self, want: bytes) -> bool:
        """True when the remote holds the data file whose SHA-1 is these 20 bytes (as a
        plain digest row; ``in`` also covers the rest)."""
        if self._segments is not None:
            self._build()
        if self._other and want.hex() in self._other:
            return True
        data, lo, hi = self._sorted, 0, len(self._sorted) // 20
        while lo < hi:
            mid = (lo + hi) // 2
            got = data[20 * mid : 20 * mid + 20]
            if got < want:
                lo = mid + 1
            elif got > want:
                hi = mid
            else:
                return True
        return False


__all__ = ["LiveContent", "Sent", "merged_rows", "resolved", "table_changes"]
