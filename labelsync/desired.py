"""Resolve manifests into the desired state: paths expanded, files hashed, labels read.

:func:`resolve_desired` turns each validated manifest into a :class:`~labelsync.state.Desired`:

* ``Dataset``: ``name`` from ``metadata.name``; ``provider`` is the remote's
  (:attr:`~labelsync.manifest.validate.LoadedManifest.provider`); ``kind``,
  ``branch``, ``settings`` and ``notes`` from the provider's block (``spec.<provider>``, see
  :class:`~labelsync.providers.contract.ProviderSettings`); ``catalog`` is
  :func:`~labelsync.manifest.model.catalog_json`.
* Each segment's items come from scanning ``data`` (see :mod:`labelsync.local.scan`), with
  checksums from the hash cache, and the label of the line of ``labels`` with the same
  remote path (``{}`` when none). A label is held as it will be *sent*: each mask entry
  ``{"path", "info"?}`` becomes ``{"checksum", "fileSize", "info"?}`` and the mask file is
  in :attr:`~labelsync.state.Item.masks` (blob and absolute source path).
* Segments of a dataset whose block ``groups_frames()`` group files into frames
  (:mod:`labelsync.local.frames`): each item gets ``frame_id`` and ``sensor_name``, and the
  frame's timestamp when a timestamps file is given; a line's own ``timestamp`` wins.
* Labels that use a name the catalog declares renamed (``renamedFrom``) are read with the
  new name (:mod:`labelsync.local.renamed`); ``Desired.renames`` keeps the renames.
* ``Policy`` from ``prune``/``protect``/``allowReplace``; ``digest`` is
  :func:`~labelsync.state.dataset_digest`; ``manifest`` is ``file:line`` of the document.

Anything that cannot be resolved (a path outside the repository, a missing directory, a
bad label line, a label for a file that is not in the data, a broken frame layout) raises
:class:`~labelsync.errors.LocalDataError` with one line; ``labelsync validate`` reports
all such problems at once beforehand (:mod:`labelsync.manifest.localcheck`).

The input is the one thing validation produces: the
:class:`~labelsync.manifest.validate.ManifestSet` (root, remotes, each manifest with its
file, line and remote, and the data listings and label sets already read), so nothing is
found, read or decided a second time.
"""

from __future__ import annotations

import functools
import hashlib
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labelsync import __version__
from labelsync.columns import ItemTable
from labelsync.errors import LocalDataError
from labelsync.local.frames import Frame, build_frames, read_frame_ids, read_timestamps
from labelsync.local.hashcache import RACY_WINDOW_NS, HashCache
from labelsync.local.labels import LabelRecord
from labelsync.local.labelsets import LabelReads, LabelSet, effective_catalog, read_segment_labels
from labelsync.local.paths import resolve_inside
from labelsync.local.renamed import follow_renames
from labelsync.local.scan import LocalFile, ScanList, Scans, rel_index, stat_file
from labelsync.manifest.model import Manifest, catalog_json, sensor_json
from labelsync.manifest.renaming import catalog_renames
from labelsync.providers.registry import DEFAULT_PROVIDER
from labelsync.state import (
    MASK_TYPES,
    Blob,
    Dataset,
    Desired,
    Item,
    MaskFile,
    Policy,
    Segment,
    dataset_digest,
)

if TYPE_CHECKING:
    from labelsync.manifest.validate import ManifestSet


class _SegmentPlan:
    """What one segment needs hashed, and how to assemble its items afterwards."""

    def __init__(self, name: str, description: str, sensors: dict[str, Any]) -> None:
        self.name = name
        self.description = description
        self.sensors = sensors
        self.files: Sequence[LocalFile] = []
        self.frames: dict[str, tuple[Frame, str]] = {}  # rel -> (frame, sensor)
        self.labels: dict[str, LabelRecord] = {}
        self.label_set: LabelSet | None = None
        self.masks: dict[str, dict[str, LocalFile]] = {}  # rel -> mask type -> file
        self.inputs: list[tuple[Path, str | None]] = []
        """Other inputs: the labels with the fingerprint of what was parsed (the SHA-256 of a
        JSONL text, or of the labels a foreign format gave), the timestamps file with None
        (identified by its stat). Image sizes YOLO reads come from data files, which are
        in the fingerprint by their stat."""


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _segment_plan(
    manifest: Manifest, seg_index: int, base: Path, root: Path, fusion: bool, scans: Scans, reads: LabelReads
) -> _SegmentPlan:
    seg = manifest.spec.segments[seg_index]
    renames = catalog_renames(manifest)
    sensors = {s.name: sensor_json(s) for s in seg.sensors or []} if fusion else {}
    sp = _SegmentPlan(seg.name, seg.description or "", sensors)
    where = f"segment {seg.name!r} of dataset {manifest.metadata.name!r}"
    if seg.data is not None:
        data_dir = resolve_inside(root, base, seg.data.path)
        sp.files = scans.scan(root, data_dir, seg.data.include, seg.data.exclude)
    if fusion and seg.sensors:
        timestamps = None
        complete = True
        if seg.frames is not None:
            complete = seg.frames.complete
            if seg.frames.timestamps is not None:
                timestamps_path = resolve_inside(root, base, seg.frames.timestamps)
                sp.inputs.append((timestamps_path, None))
                timestamps = read_timestamps(timestamps_path)
        frame_ids = None
        if seg.frames is not None and seg.frames.ids is not None:
            ids_path = resolve_inside(root, base, seg.frames.ids)
            sp.inputs.append((ids_path, None))
            frame_ids = read_frame_ids(ids_path)
        frames, diags = build_frames(
            seg.name, sp.files, list(sensors), timestamps=timestamps, frame_ids=frame_ids, complete=complete
        )
        if diags:
            more = f" (and {len(diags) - 1} more problems)" if len(diags) > 1 else ""
            raise LocalDataError(
                f"{where}: {diags[0].message}{more}", hint=diags[0].hint or "run labelsync validate"
            )
        for frame in frames:
            for sensor, f in frame.files.items():
                sp.frames[f.rel] = (frame, sensor)
        sp.files = [f for f in sp.files if f.rel in sp.frames]
    if seg.labels is not None:
        found = read_segment_labels(
            reads, root, base, fmt=seg.labels.format, path=seg.labels.path, options=seg.labels.options(),
            data_path=seg.data.path if seg.data is not None else None, display=_display,
        )
        found = follow_renames(found, renames).labels  # old names declared renamed become the new ones
        if not found.ok:
            first = next(d for d in found.diagnostics if d.severity == "error")
            extra = sum(d.severity == "error" for d in found.diagnostics) - 1
            raise LocalDataError(
                f"{first.file}:{first.line}:{first.column}: {first.message}" + (f" (and {extra} more)" if extra else ""),
                hint=first.hint or "run labelsync validate",
            )
        label_path = found.path
        sp.label_set = found
        sp.inputs.append((label_path, f"{found.format}:{found.fingerprint}"))
        sp.labels = found.records
        known = rel_index(sp.files, len(sp.labels))
        for rp, record in sp.labels.items():
            if rp not in known:
                file, line, _ = found.where(rp)
                raise LocalDataError(
                    f"{file}:{line}: no data file {rp!r} in the data directory of {where}",
                    hint="label only files the segment's data selects (run labelsync validate)",
                )
            for mask_type in MASK_TYPES:
                entry = record.label.get(mask_type)
                if entry is None:
                    continue
                if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
                    raise LocalDataError(
                        f'{label_path}:{record.line}: {mask_type} must be {{"path", "info"?}}',
                        hint="run labelsync validate",
                    )
                mask_path = resolve_inside(root, label_path.parent, entry["path"])
                sp.masks.setdefault(rp, {})[mask_type] = stat_file(mask_path, entry["path"])
    return sp


def _sent_label(label: Mapping[str, Any], masks: Mapping[str, MaskFile]) -> dict[str, Any]:
    """The label as sent: mask ``{"path", "info"?}`` -> ``{"checksum", "fileSize", "info"?}``."""
    if not masks:
        return dict(label)
    out = dict(label)
    for mask_type, mask in masks.items():
        entry = label[mask_type]
        sent: dict[str, Any] = {"checksum": mask.blob.checksum, "fileSize": mask.blob.size}
        if "info" in entry and (entry["info"] or mask_type == "PANOPTIC_MASK"):
            sent["info"] = entry["info"]
        out[mask_type] = sent
    return out


def resolve_dataset(
    manifest: Manifest,
    manifest_file: Path,
    root: Path,
    *,
    cache: HashCache,
    jobs: int = 4,
    provider: str = DEFAULT_PROVIDER,
    where: str = "",
    scans: Scans | None = None,
    reads: LabelReads | None = None,
) -> Desired:
    """Resolve one manifest (declared in ``manifest_file``) into its desired state."""
    started_ns = time.time_ns()  # before any file is read: the racy window is measured from here
    spec = manifest.spec
    base = manifest_file.resolve().parent
    block = spec.block(provider)
    fusion = block.groups_frames()
    scans = scans or Scans()
    reads = reads if reads is not None else LabelReads()
    plans = [_segment_plan(manifest, i, base, root, fusion, scans, reads) for i in range(len(spec.segments))]
    for sp in plans:  # a scan that hashed its files read them before this call
        if isinstance(sp.files, ScanList) and sp.files.digests is not None:
            started_ns = min(started_ns, sp.files.read_ns)
    items_of = functools.cache(lambda: _resolve_items(plans, cache, jobs))
    slot = f"{manifest_file.resolve()}#{manifest.metadata.name}@{spec.remote}"
    inputs, newest_ns = _inputs_fingerprint(manifest, provider, base, root, plans)
    remembered = cache.recall(slot, inputs) if inputs else None
    segments = {
        sp.name: Segment(
            name=sp.name,
            sensors=sp.sensors,
            items=LazyItems(items_of, sp.name) if remembered else items_of()[sp.name],
            description=sp.description,
        )
        for sp in plans
    }
    dataset = Dataset(
        name=manifest.metadata.name,
        provider=provider,
        kind=block.dataset_kind(),
        remote=spec.remote,
        branch=block.branch_name() or "",
        settings=block.settings_json(),
        notes=block.notes_json(),
        catalog=effective_catalog(
            catalog_json(manifest), spec.catalog is not None and spec.catalog.from_ == "labels",
            [sp.label_set for sp in plans if sp.label_set is not None],
        ),
        segments=segments,
    )
    policy = Policy(prune=spec.prune, allow_replace=spec.allow_replace, protect=spec.protect)
    digest = remembered or dataset_digest(dataset, prune=policy.prune)
    if not remembered and newest_ns < started_ns - RACY_WINDOW_NS:
        cache.remember(slot, inputs, digest)
    return Desired(
        dataset=dataset, policy=policy, digest=digest, manifest=where or f"{manifest_file}:1",
        renames=catalog_renames(manifest),
    )


class LazyItems(Mapping[str, Item]):
    """A segment's items, built on first use: a plan proven a no-op by its digest never
    needs them, so an unchanged tree is not looked up file by file."""

    def __init__(self, build: Callable[[], Mapping[str, Mapping[str, Item]]], segment: str) -> None:
        self._build: Callable[[], Mapping[str, Mapping[str, Item]]] | None = build
        self._segment = segment
        self._items: Mapping[str, Item] = {}

    def _get(self) -> Mapping[str, Item]:
        if self._build is not None:  # every segment's items come from one batch
            self._items, self._build = self._build()[self._segment], None
        return self._items

    def __getitem__(self, key: str) -> Item:
        return self._get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())

    def resolved(self) -> Mapping[str, Item]:
        """The items themselves (an :class:`~labelsync.columns.ItemTable` from a scan), built now:
        the differ reads a table's columns instead of going through this mapping."""
        return self._get()


def _inputs_fingerprint(manifest: Manifest, provider: str, base: Path, root: Path, plans: list[_SegmentPlan]) -> tuple[str, int]:
    """A SHA-256 over everything the desired state of one manifest is computed from, and the
    newest modification time among its files.

    That is labelsync itself (:func:`code_identity`: another version, or an edited
    checkout, may build another desired state from the same files), the manifest, where it
    and the repository are, the SHA-256 of each labels file's text as parsed, and the path
    and stat ``(size, mtime_ns, inode, ctime_ns)`` of every data, mask and timestamps file:
    the identity the hash cache trusts. Equal fingerprints mean equal desired states, so
    the digest computed last time stands, provided no stat-identified file's mtime was
    within the racy window of that computation (as for the hash cache): the caller checks
    ``newest``.
    """
    h = hashlib.sha256(f"labelsync desired v1\0{code_identity()}\0{provider}\0{root}\0{base}\0".encode())
    h.update(manifest.model_dump_json(by_alias=True).encode())
    newest = 0
    for sp in plans:
        h.update(f"\0segment\0{sp.name}\0".encode())
        masks = [sp.masks[rp][t] for rp in sorted(sp.masks) for t in sorted(sp.masks[rp])]
        first = True
        files = sp.files
        if isinstance(files, ScanList) and files.rels:  # the columns as they are: hashed in C
            h.update(f"\0columns\0{files.base}\0".encode())
            h.update("\0".join(files.rels).encode("utf-8", "surrogateescape"))
            for column in (files.sizes, files.mtimes, files.inodes, files.ctimes):
                h.update(column.tobytes())
            newest = max(newest, max(files.mtimes))
            files = []
        for chunk in (*_chunks(files), masks):
            if not chunk:
                continue
            text = "\n".join([f"{f.rel}\0{f.path}\0{f.size}\0{f.mtime_ns}\0{f.inode}\0{f.ctime_ns}" for f in chunk])
            h.update((text if first else "\n" + text).encode())  # the same bytes as one join
            first = False
            newest = max([newest, *(f.mtime_ns for f in chunk)])
        for path, content in sp.inputs:
            if content is not None:  # identified by what was parsed: no racy window
                h.update(f"\0{path}\0{content}".encode())
                continue
            try:
                st = os.stat(path)
            except OSError:
                return "", time.time_ns()  # unreadable: nothing is remembered or recalled
            h.update(f"\0{path}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\0{st.st_ctime_ns}".encode())
            newest = max(newest, st.st_mtime_ns)
    return h.hexdigest(), newest


def _chunks(files: Sequence[LocalFile], size: int = 4096) -> Iterator[Sequence[LocalFile]]:
    """``files`` a slice at a time (a scan's columns are read as tuples one slice at a time)."""
    for start in range(0, len(files), size):
        yield files[start : start + size]


@functools.cache
def code_identity() -> str:
    """labelsync's version and the path, size and mtime of each of its modules (a few ms)."""
    package = Path(__file__).parent
    h = hashlib.sha256(__version__.encode())
    for path in sorted(package.rglob("*.py")):
        st = path.stat()
        h.update(f"\0{path.relative_to(package)}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    return h.hexdigest()


def _resolve_items(plans: list[_SegmentPlan], cache: HashCache, jobs: int) -> dict[str, ItemTable]:
    """Every segment's items as an :class:`~labelsync.columns.ItemTable`: its data files'
    digests straight from the hash cache's columns (no object per plain file), labelled,
    framed or masked files as full items in the table's ``extras``."""
    out: dict[str, ItemTable] = {}
    for sp in plans:
        files = sp.files
        sums, sizes = cache.digest_columns(files, jobs=jobs)
        mask_refs = [(rp, t, f) for rp, refs in sp.masks.items() for t, f in refs.items()]
        mask_sums, mask_sizes = cache.digest_columns([f for _, _, f in mask_refs], jobs=jobs)
        mask_files: dict[str, dict[str, MaskFile]] = {}
        for k, (rp, t, f) in enumerate(mask_refs):
            blob = Blob(mask_sums[20 * k : 20 * k + 20].hex(), mask_sizes[k])
            mask_files.setdefault(rp, {})[t] = MaskFile(blob, f.path)
        base = _shared_base(files)
        paths = files.rels if isinstance(files, ScanList) else [f.rel for f in files]
        extras: dict[int, Item] = {}
        if sp.labels or sp.frames or mask_files or base is None:
            for i, f in enumerate(files):
                record = sp.labels.get(f.rel)
                framed = sp.frames.get(f.rel)
                if record is None and framed is None and f.rel not in mask_files and base is not None:
                    continue  # a plain row: the columns hold it
                masks = mask_files.get(f.rel, {})
                label = _sent_label(record.label, masks) if record is not None else {}
                timestamp = record.timestamp if record is not None else None
                frame_id = sensor_name = None
                if framed is not None:
                    frame, sensor_name = framed
                    frame_id = frame.frame_id
                    if timestamp is None:
                        timestamp = frame.timestamp
                blob = Blob(sums[20 * i : 20 * i + 20].hex(), sizes[i])
                extras[i] = Item(f.rel, blob, label, timestamp, frame_id, sensor_name, f.path, masks)
        out[sp.name] = ItemTable(paths, sums, sizes, extras, base)
    return out


def _shared_base(files: Sequence[LocalFile]) -> str | None:
    """The directory every file's path is ``base + rel`` of, or None when there is none."""
    if isinstance(files, ScanList):
        return files.base
    bases = {(f[1], f[2]) for f in files}
    if len(bases) == 1:
        base, cut = bases.pop()
        return base if cut == 0 else None
    return None if bases else ""


def resolve_desired(manifests: ManifestSet, *, cache: HashCache, jobs: int = 4) -> list[Desired]:
    """Resolve every manifest of ``manifests`` into a :class:`Desired`, in input order (see
    the module docstring).

    Each manifest's provider is its remote's; paths resolve against ``manifests.root``; the
    data listings and label sets validation made (``scans``, ``label_reads``) are reused, so
    each input is read once per command. Raises :class:`LocalDataError` for local data that
    cannot be resolved as declared.
    """
    return [
        resolve_dataset(
            entry.manifest, entry.file, manifests.root, cache=cache, jobs=jobs, provider=entry.provider,
            where=entry.where, scans=manifests.scans, reads=manifests.label_reads,
        )
        for entry in manifests
    ]
