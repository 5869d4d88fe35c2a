"""Read a remote dataset through the provider contract and write it as a labelsync dataset.

:func:`import_dataset` is ``labelsync import REMOTE DATASET``:

1. ``provider.read_live`` of a probe :class:`~labelsync.state.Desired` (the dataset's name
   and the provider's default settings; a digest nothing records, so the whole state is
   read) gives the catalog, segments, sensors, items and labels;
2. the provider's :meth:`~labelsync.providers.contract.ProviderSettings.block_from_live`
   gives the ``spec.<provider>`` block; the manifest is built (:mod:`.layout`) and validated
   in memory, and its catalog and settings are checked to stand for the live ones;
3. every target is checked to be new (:class:`~.files.NewFiles`), then written: with
   ``with_data`` each data file (``provider.read_file``, checked against the checksum the
   remote gave), mask files (``provider.pull_labels`` downloads them; ``tensorbay`` format
   only), the label files in ``fmt``, and the manifest last. Any failure removes everything
   written.

A foreign format (``coco``, ``voc``, ``yolo``, ``labelme``, ``kitti``) needs the images
(``with_data``) for their sizes, and KITTI the frames' calibration files (``calib``). It holds
the dataset or the import refuses with one line (:mod:`.fidelity`), nothing written: first for
what it has no place for (label types, item timestamps, masks), before any download; then
the segments are written to a hidden staging directory next to the target and read back the
way ``plan`` reads them, and only files that give back every remote label exactly are moved
into place.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from labelsync.adopt.fidelity import Losses, roundtrip_losses, static_losses
from labelsync.adopt.files import NewFiles
from labelsync.adopt.frames import frames_entries, segment_frames
from labelsync.adopt.layout import MANIFEST, manifest_doc, manifest_text, segment_layout
from labelsync.errors import NotFoundError, RemoteError, UsageError
from labelsync.formats.names import DEFAULT, IMPORTABLE
from labelsync.local.labels import LabelRecord, dump_labels, remote_path_problem
from labelsync.local.pull import default_mask_path
from labelsync.providers.contract import ProviderSpec
from labelsync.state import MASK_TYPES, Dataset, Desired, Item, Policy, RemoteMask

CATALOG_UNREADABLE = "catalog_unreadable"
"""The :attr:`~labelsync.state.Live.info` key a provider sets when it cannot read the
dataset's catalog (its live catalog is then the probe's, empty)."""

WARNINGS = "warnings"
"""The :attr:`~labelsync.state.Live.info` key of one-line warnings a provider gives an
import (what it does not take from the remote); shown with the import's own."""

PROBE_DIGEST = "sha256:" + "0" * 64
"""The digest of the probe: no commit records it, so read_live reads the whole state."""



@dataclass
class ImportResult:
    """What one import wrote."""

    manifest: Path
    provider: str
    segments: int = 0
    items: int = 0
    labelled: int = 0
    data_files: int = 0
    data_bytes: int = 0
    masks: int = 0
    warnings: list[str] = field(default_factory=list)


def probe(spec: ProviderSpec, remote: str, name: str) -> Desired:
    """The :class:`Desired` that asks ``read_live`` for dataset ``name`` as it is."""
    settings = spec.settings_model()
    dataset = Dataset(name=name, provider=spec.name, kind=settings.dataset_kind(), remote=remote,
                      branch=settings.branch_name() or "main", settings=spec.settings_model.probe_settings(name))
    return Desired(dataset=dataset, policy=Policy(), digest=PROBE_DIGEST, manifest=f"remote '{remote}'")


def import_dataset(
    provider: Any, spec: ProviderSpec, *, remote: str, name: str, directory: Path, fmt: str = DEFAULT,
    with_data: bool = False, show: Path | None = None, calib: Path | None = None,
) -> ImportResult:
    """Write dataset ``name`` of ``remote`` under ``directory`` (see the module docstring);
    ``calib`` is the KITTI calibration directory (``<frame>.txt`` files) for ``fmt`` kitti.

    Raises :class:`UsageError` for a format that cannot hold the dataset or an existing
    target, :class:`NotFoundError` when the remote has no such dataset, and whatever the
    provider raises (:class:`~labelsync.errors.UnsupportedError` when it cannot give a
    data file's bytes); nothing stays written then."""
    if fmt not in IMPORTABLE:
        raise UsageError(f"import cannot write label format {fmt!r}", hint=f"use one of: {', '.join(IMPORTABLE)}")
    if fmt != DEFAULT and not with_data:
        raise UsageError(f"--format {fmt} needs the images (for their sizes)", hint="add --with-data, or use --format tensorbay")
    if fmt == "kitti" and calib is None:
        raise UsageError("--format kitti needs the frames' calibration files, which a remote dataset does not hold",
                         hint="add --calib DIR (a KITTI calib directory, <frame>.txt per frame), or use --format tensorbay")
    if calib is not None and fmt != "kitti":
        raise UsageError("--calib belongs to --format kitti", hint="leave --calib out, or add --format kitti")
    desired = probe(spec, remote, name)
    state = provider.read_live(desired)
    live = state.dataset
    if live is None:
        raise NotFoundError(f"remote '{remote}' has no dataset '{name}'", hint="check the name (it is case-sensitive)")
    files = NewFiles(show or Path.cwd())
    result = ImportResult(manifest=directory / MANIFEST, provider=spec.name, segments=len(live.segments))
    result.warnings.extend(str(w) for w in state.info.get(WARNINGS) or ())
    if state.info.get(CATALOG_UNREADABLE) and not live.catalog:
        from labelsync.formats.tensorbay import catalog_of

        live = replace(live, catalog=catalog_of({f"{s}/{rp}": i.label for s, seg in live.segments.items() for rp, i in seg.items.items()}))
        result.warnings.append(f"{spec.title} does not give this dataset's catalog back; it lists the categories its labels use "
                               "(add the unused ones and attributes yourself)")
    block = spec.settings_model.block_from_live(live)
    fusion = bool(spec.capabilities.fusion)
    frames = {s: segment_frames(s, seg) for s, seg in live.segments.items()} if fusion else {}
    doc = manifest_doc(live, remote=remote, block_key=spec.name, block=block, fmt=fmt, with_sensors=fusion,
                       frames=frames_entries(frames))
    result.warnings.extend(_check_doc(doc, live, spec, block))
    lost = static_losses(fmt, live)
    if lost:
        raise lost.error()
    files.refuse_existing([directory / MANIFEST, *(directory / segment_layout(s, fmt).dir for s in live.segments)])
    has_masks = any(t in item.label for seg in live.segments.values() for item in seg.items.values() for t in MASK_TYPES)
    pulled = provider.pull_labels(desired) if has_masks else {}
    try:
        if fmt == DEFAULT:
            for seg_name in sorted(live.segments):
                _write_segment(provider, live, seg_name, directory, fmt, with_data, pulled.get(seg_name, {}), files, result)
        else:
            _write_staged(provider, live, directory, fmt, calib, files, result)
        for f in frames.values():
            if f.ids_path is not None and f.ids_json is not None:
                files.create(directory / f.ids_path, f.ids_json)
        origin = f"imported by `labelsync import {remote} {name}`; edit it like any manifest"
        files.create(directory / MANIFEST, manifest_text(doc, origin=origin).encode("utf-8"))
    except BaseException:
        files.rollback()
        raise
    return result


def _write_staged(provider: Any, live: Dataset, directory: Path, fmt: str, calib: Path | None, files: NewFiles,
                  result: ImportResult) -> None:
    """Write every segment in ``fmt`` to a hidden staging directory, read it back, and move
    it into ``directory`` only when it holds every remote label (else :class:`UsageError`)."""
    anchor = next(p for p in (directory, *directory.parents) if p.is_dir())
    stage = Path(tempfile.mkdtemp(prefix=".labelsync-import-", dir=anchor))
    try:
        staged = NewFiles(files.show)
        losses = Losses(fmt)
        for seg_name in sorted(live.segments):
            _write_segment(provider, live, seg_name, stage, fmt, True, {}, staged, result, calib=calib, losses=losses)
        if losses:
            raise losses.error()
        for seg_name in sorted(live.segments):
            rel = segment_layout(seg_name, fmt).dir
            files.move_in(stage / rel, directory / rel)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _check_doc(doc: dict[str, Any], live: Dataset, spec: ProviderSpec, block: dict[str, Any]) -> list[str]:
    """Warnings for what the manifest would not declare as the remote holds it."""
    from pydantic import ValidationError

    from labelsync.manifest.model import Manifest, catalog_json

    try:
        manifest = Manifest.model_validate(doc)
        settings = spec.settings_model.model_validate(block)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise RemoteError(f"the remote dataset cannot be declared in a manifest: {where}: {first['msg']}",
                          hint="nothing was written; report it with the dataset's catalog") from None
    out = []
    if catalog_json(manifest) != dict(live.catalog):
        out.append("the manifest's catalog is not exactly the remote's (fields the manifest cannot hold); plan will show the difference")
    if settings.settings_json() != dict(live.settings) or settings.dataset_kind() != live.kind:
        out.append(f"spec.{spec.name} does not state every remote setting; plan will show the difference")
    return out


def _write_segment(
    provider: Any, live: Dataset, seg_name: str, directory: Path, fmt: str, with_data: bool,
    pulled: dict[str, Any], files: NewFiles, result: ImportResult, *, calib: Path | None = None,
    losses: Losses | None = None,
) -> None:
    seg = live.segments[seg_name]
    layout = segment_layout(seg_name, fmt)
    for rp in sorted(seg.items):
        if remote_path_problem(rp) is not None:
            raise RemoteError(f"segment '{seg_name}' holds an item at {rp!r}, which is not a safe relative path",
                              hint="nothing was written; rename or remove that item on the remote")
    result.items += len(seg.items)
    data_dir = directory / layout.data
    if with_data:
        files.mkdir(data_dir)
        for rp in sorted(seg.items):
            data = provider.read_file(live, seg_name, rp)
            _check_blob(seg.items[rp], data, f"{seg_name}/{rp}")
            files.create(data_dir / rp, data)
            result.data_files += 1
            result.data_bytes += len(data)
    label_path = directory / layout.labels
    if fmt == DEFAULT:
        records = []
        for rp in sorted(seg.items):
            item = seg.items[rp]
            label = _local_label(item, pulled.get(rp) or {}, label_path.parent, files, result)
            if label or item.timestamp is not None:
                records.append(LabelRecord(rp, label, item.timestamp))
            result.labelled += 1 if label else 0
        files.create(label_path, dump_labels(records).encode("utf-8"))
        return
    from labelsync.local.labelsets import read_label_set
    from labelsync.local.labelwrite import write_labels_as, yolo_names

    labels = {rp: dict(item.label) for rp, item in seg.items.items() if item.label}
    result.labelled += len(labels)
    options: dict[str, Path] = {}
    if layout.classes is not None:
        names = yolo_names(live.catalog)
        files.create(directory / layout.classes, "".join(f"{n}\n" for n in names).encode("utf-8"))
        options["classes"] = directory / layout.classes
    if layout.calib is not None and calib is not None:
        options["calib"] = directory / layout.calib
        _copy_calib(calib, labels, options["calib"], files)
    if fmt in ("voc", "yolo", "labelme", "kitti"):
        files.mkdir(label_path)
    else:
        files.claim(label_path)
    write_labels_as(fmt, label_path, labels, data_dir=data_dir, options=options, catalog=live.catalog)
    back = read_label_set(fmt, label_path, display=layout.labels, data_dir=data_dir, options=options)
    roundtrip_losses(losses if losses is not None else Losses(fmt), seg_name, labels,
                     {rp: r.label for rp, r in back.records.items() if r.label}, back.diagnostics)


def _copy_calib(calib: Path, labels: dict[str, dict[str, Any]], target: Path, files: NewFiles) -> None:
    """Copy ``calib/<frame>.txt`` of every labelled KITTI frame into ``target``."""
    frames = sorted({Path(rp.partition("/")[2]).stem for rp in labels})
    files.mkdir(target)
    for frame in frames:
        source = calib / f"{frame}.txt"
        if not source.is_file():
            raise UsageError(f"{source} does not exist: frame {frame!r} needs its calibration file",
                             hint="give --calib the KITTI calib directory holding <frame>.txt for every frame")
        files.create(target / source.name, source.read_bytes())


def _check_blob(item: Item, data: bytes, where: str) -> None:
    if item.blob is not None and (len(data) != item.blob.size or hashlib.sha1(data).hexdigest() != item.blob.checksum):
        raise RemoteError(f"{where}: the bytes downloaded do not match the checksum the remote gave",
                          hint="nothing was written; run import again")


def _local_label(item: Item, pulled: dict[str, Any], label_dir: Path, files: NewFiles, result: ImportResult) -> dict[str, Any]:
    """``item``'s label in the JSON Lines form: mask entries ``{path, info?}``, their files written."""
    out: dict[str, Any] = {}
    for key, value in item.label.items():
        if key not in MASK_TYPES:
            out[key] = value
            continue
        mask = pulled.get(key)
        if not isinstance(mask, RemoteMask):
            raise RemoteError(f"the {key} of {item.remote_path!r} cannot be downloaded", hint="nothing was written; run import again")
        data = mask.fetch()
        if mask.blob is not None and (hashlib.sha1(data).hexdigest() != mask.blob.checksum or len(data) != mask.blob.size):
            raise RemoteError(f"the {key} of {item.remote_path!r} downloaded does not match the checksum the remote gave",
                              hint="nothing was written; run import again")
        rel = default_mask_path(key, item.remote_path)
        files.create(label_dir / rel, data)
        result.masks += 1
        entry: dict[str, Any] = {"path": rel}
        if isinstance(value, dict) and "info" in value:
            entry["info"] = value["info"]
        out[key] = entry
    return out


__all__ = ["ImportResult", "import_dataset", "probe"]
