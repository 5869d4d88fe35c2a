"""A dataset plan's changes held compactly: runs of plain file changes as columns.

An initial plan of a million files is a million file creates. Kept as :class:`Change`
objects (with their :class:`FileChange`, :class:`~labelsync.state.Blob`, address, source
and checksum strings) that is about 575 B per change. :class:`FileRun` keeps a run of
*plain* file creates/updates (a row of the desired :class:`~labelsync.columns.ItemTable`
that is a path and a blob only, against no live item or a plain live row) as row indexes
into the two tables and one ``send`` flag per row: about 10-18 B per change.

:class:`ChangeList` is the ``Sequence[Change]`` of a :class:`DatasetPlan`: the plan's
changes in plan order, as a concatenation of small tuples of :class:`Change` and
:class:`FileRun` parts. Indexing or iterating it builds each :class:`Change` of a run when
it is looked at (equal, field by field, to the one the differ would have built), so every
reader of plans works unchanged; hot paths that only count (``counts``, ``upload_bytes``,
``small``) read the columns. It compares equal to any sequence of the same changes.

Pure: no I/O.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import overload

from labelsync.columns import EMPTY, ItemTable, digest
from labelsync.plan.model import Action, Change, FileChange, Kind
from labelsync.state import Blob, Item


class FileRun(Sequence[Change]):
    """Consecutive plain file changes of one segment (see the module docstring).

    Row ``k`` is desired row ``rows[k]`` of ``table``; ``live_rows[k]`` is the live row of
    ``live`` it updates (``-1``, or no ``live_rows`` at all: a create); ``sends[k]`` is 1 when
    the change sends its content. The change's address is ``prefix + path``, its ``source``
    ``source_base + path`` (``None`` when ``source_base`` is None).
    """

    __slots__ = ("table", "live", "rows", "live_rows", "sends", "segment", "prefix", "source_base", "nbytes", "_updates")

    def __init__(self, table: ItemTable, live: ItemTable | None, segment: str, prefix: str, source_base: str | None) -> None:
        self.table = table
        self.live = live
        self.rows = array("l")
        self.live_rows: array[int] | None = None
        self.sends = bytearray()
        self.segment = segment
        self.prefix = prefix
        self.source_base = source_base
        self.nbytes = 0
        self._updates = 0

    def append(self, row: int, live_row: int, send: bool) -> None:
        """Add desired row ``row`` (against live row ``live_row``, ``-1`` for none)."""
        if live_row >= 0 and self.live_rows is None:
            self.live_rows = array("l", [-1]) * len(self.rows)
        if self.live_rows is not None:
            self.live_rows.append(live_row)
        self.rows.append(row)
        self.sends.append(1 if send else 0)
        if send:
            self.nbytes += self.table.sizes[row]
        if live_row >= 0:
            self._updates += 1

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, k: int) -> Change: ...
    @overload
    def __getitem__(self, k: slice) -> list[Change]: ...
    def __getitem__(self, k: int | slice) -> Change | list[Change]:
        if isinstance(k, slice):
            return [self.change(i) for i in range(*k.indices(len(self.rows)))]
        n = len(self.rows)
        if k < 0:
            k += n
        if not 0 <= k < n:
            raise IndexError(k)
        return self.change(k)

    def __iter__(self) -> Iterator[Change]:
        change = self.change
        return (change(k) for k in range(len(self.rows)))

    def change(self, k: int) -> Change:
        """The :class:`Change` of row ``k`` (built now)."""
        table, r = self.table, self.rows[k]
        path = table.paths[r]
        checksum = table.sums[20 * r : 20 * r + 20].hex()
        size = table.sizes[r]
        sends = self.sends[k]
        base = self.source_base
        after = FileChange(
            path, Blob(checksum, size), EMPTY, None, None, None,
            None if base is None else base + path, (), (checksum,) if sends else (),
        )
        j = -1 if self.live_rows is None else self.live_rows[k]
        before = None if j < 0 or self.live is None else self.live.item(j)
        return Change(
            Action.UPDATE if j >= 0 else Action.CREATE, Kind.FILE, self.prefix + path, self.segment,
            before, after, size if sends else 0, False, None,
        )

    def checksums(self) -> Iterator[tuple[str, bool]]:
        """``(data checksum, sent by this change)`` per row, without building changes."""
        sums, rows, sends = self.table.sums, self.rows, self.sends
        return ((sums[20 * r : 20 * r + 20].hex(), bool(sends[k])) for k, r in enumerate(rows))

    def counts(self) -> Counter[str]:
        return Counter({Action.CREATE.value: len(self.rows) - self._updates, Action.UPDATE.value: self._updates})


Part = tuple[Change, ...] | FileRun


class ChangeList(Sequence[Change]):
    """A plan's changes as parts (see the module docstring)."""

    __slots__ = ("parts", "_starts", "_len")

    def __init__(self, parts: Iterable[Change | FileRun]) -> None:
        out: list[Part] = []
        small: list[Change] = []
        for part in parts:
            if isinstance(part, FileRun):
                if not part:
                    continue
                if small:
                    out.append(tuple(small))
                    small = []
                out.append(part)
            else:
                small.append(part)
        if small:
            out.append(tuple(small))
        self.parts: tuple[Part, ...] = tuple(out)
        starts, total = [], 0
        for p in self.parts:
            starts.append(total)
            total += len(p)
        self._starts = starts
        self._len = total

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, i: int) -> Change: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[Change, ...]: ...
    def __getitem__(self, i: int | slice) -> Change | tuple[Change, ...]:
        if isinstance(i, slice):
            return tuple(self[k] for k in range(*i.indices(self._len)))
        if i < 0:
            i += self._len
        if not 0 <= i < self._len:
            raise IndexError(i)
        from bisect import bisect_right

        p = bisect_right(self._starts, i) - 1
        return self.parts[p][i - self._starts[p]]

    def __iter__(self) -> Iterator[Change]:
        return chain.from_iterable(self.parts)

    def __bool__(self) -> bool:
        return self._len > 0

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ChangeList({self._len} changes, {sum(isinstance(p, FileRun) for p in self.parts)} compact runs)"

    def small(self) -> Iterator[Change]:
        """The changes that are not in a compact run (every non-file change among them)."""
        return chain.from_iterable(p for p in self.parts if not isinstance(p, FileRun))

    def runs(self) -> Iterator[FileRun]:
        return (p for p in self.parts if isinstance(p, FileRun))

    def counts(self) -> Counter[str]:
        total: Counter[str] = Counter(c.action.value for c in self.small())
        for run in self.runs():
            total.update(run.counts())
        return +total

    def upload_bytes(self) -> int:
        return sum(c.upload_bytes for c in self.small()) + sum(run.nbytes for run in self.runs())


def compact(changes: Iterable[Change]) -> Iterator[Change | FileRun]:
    """``changes`` in the same order, each stretch of plain file creates/updates (of one
    segment, one address prefix and one source base) gathered into a :class:`FileRun` as the
    changes come (a saved plan read back: :func:`labelsync.plan.serialize.plan_from_lines`).
    Every :class:`Change` a run gives back equals, field by field, the one it took; any other
    change is passed on as it is."""
    run: FileRun | None = None
    key: tuple[str, str, str | None] | None = None
    for change in changes:
        plain = _plain_parts(change)
        if plain is None:
            if run is not None:
                yield run
                run = key = None
            yield change
            continue
        path, prefix, source_base, row, before = plain
        if run is None or key != (str(change.segment), prefix, source_base):
            if run is not None:
                yield run
            key = (str(change.segment), prefix, source_base)
            run = FileRun(ItemTable([], bytearray(), array("q"), None, source_base), None, key[0], prefix, source_base)
        table = run.table
        table.paths.append(path)
        table.sums += row[0]  # a bytearray, grown in place
        table.sizes.append(row[1])
        live_row = -1
        if before is not None:
            if run.live is None:
                run.live = ItemTable([], bytearray(), array("q"))
            live = run.live
            live.paths.append(before[0])
            live.sums += before[1]
            live.sizes.append(before[2])
            live_row = len(live.paths) - 1
        run.append(len(table.paths) - 1, live_row, bool(change.after.send))
    if run is not None:
        yield run


def _plain_parts(change: Change) -> tuple[str, str, str | None, tuple[bytes, int], tuple[str, bytes, int] | None] | None:
    """``(path, address prefix, source base, (digest, size), live (path, digest, size) or
    None)`` of a change a :class:`FileRun` rebuilds exactly; None for any other change."""
    after = change.after
    if change.kind is not Kind.FILE or not isinstance(after, FileChange) or not isinstance(change.segment, str):
        return None
    if change.breaking or change.reason is not None or after.label or after.masks:
        return None
    if after.timestamp is not None or after.frame_id is not None or after.sensor_name is not None:
        return None
    path, blob, source = after.remote_path, after.blob, after.source
    sums = digest(blob.checksum) if isinstance(blob.checksum, str) else None
    if sums is None or type(blob.size) is not int or blob.size < 0 or not path or not change.address.endswith(path):
        return None
    if after.send not in ((), (blob.checksum,)) or change.upload_bytes != (blob.size if after.send else 0):
        return None
    if source is not None and not source.endswith(path):
        return None
    live: tuple[str, bytes, int] | None = None
    before = change.before
    if change.action is Action.UPDATE:
        if not isinstance(before, Item) or before.blob is None or before.source is not None or before.masks or before.label:
            return None
        if before.timestamp is not None or before.frame_id is not None or before.sensor_name is not None:
            return None
        live_sum = digest(before.blob.checksum)
        if live_sum is None or type(before.blob.size) is not int or before.blob.size < 0:
            return None
        live = (before.remote_path, live_sum, before.blob.size)
    elif change.action is not Action.CREATE or before is not None:
        return None
    base = None if source is None else source[: len(source) - len(path)]
    return path, change.address[: len(change.address) - len(path)], base, (sums, blob.size), live


def parts(changes: Sequence[Change]) -> Iterator[Change | FileRun]:
    """The changes in plan order, each compact run left whole (any sequence of changes)."""
    if not isinstance(changes, ChangeList):
        return iter(changes)
    return chain.from_iterable((p,) if isinstance(p, FileRun) else p for p in changes.parts)


def outside_runs(changes: Sequence[Change]) -> Iterable[Change]:
    """The changes not in a compact run (a run holds only plain file creates and updates)."""
    return changes.small() if isinstance(changes, ChangeList) else changes


__all__ = ["ChangeList", "FileRun", "compact", "outside_runs", "parts"]
