"""The local-data checks of ``labelsync validate``: declared paths, data dirs, label files, frames.

A thin adapter over :mod:`labelsync.local` (path safety, data-dir scan, label checks against
the catalog, fusion frame layout): it resolves each segment's declared paths against the
manifest file's directory and the repository root, and turns every problem into a
:class:`~labelsync.diagnostics.Diagnostic` located in the manifest (or, for label lines, in
the label file). It reads the file system but never writes and never raises for anything
the user can cause.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Container, Sequence
from pathlib import Path
from typing import Any

from labelsync.diagnostics import Diagnostic
from labelsync.errors import LocalDataError
from labelsync.formats.names import DEFAULT as DEFAULT_FORMAT
from labelsync.local import paths as local_paths
from labelsync.local import scan as local_scan
from labelsync.local.frames import build_frames, read_frame_ids, read_timestamps
from labelsync.local.labelcheck import check_label_set
from labelsync.local.labelsets import LabelReads, LabelSet, effective_catalog, read_segment_labels
from labelsync.local.renamed import follow_renames, rename_warning
from labelsync.local.scan import LocalFile
from labelsync.manifest.load import Document, JsonPath, format_path
from labelsync.manifest.model import Manifest, Segment, catalog_json
from labelsync.manifest.renaming import catalog_renames
from labelsync.providers.registry import PROVIDERS
from labelsync.renames import Renames


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _declared(
    doc: Document, root: Path, base: Path, declared: str, where: JsonPath, must_exist: str
) -> list[Diagnostic]:
    line, column = doc.position(where)
    return local_paths.check_declared(
        root, base, declared, file=doc.file, line=line, column=column, json_path=format_path(where), must_exist=must_exist
    )


def check_local(
    doc: Document,
    manifest: Manifest,
    manifest_file: Path,
    root: Path,
    scans: local_scan.Scans | None = None,
    *,
    provider: str | None = None,
    reads: LabelReads | None = None,
) -> list[Diagnostic]:
    """Every local-data problem of ``manifest`` (declared in ``manifest_file`` under ``root``).

    Per segment: ``data.path`` is a directory inside the repository (not absolute, no ``..``
    escape, no symlink leading out), and its files can be listed; ``labels.path`` and
    ``frames.timestamps`` are files inside the repository; the label file agrees with the
    catalog and labels only files the data selection yields; when the ``provider`` groups
    files into frames, the frames are complete; and the provider's own data rules (its
    spec's ``check_data`` hook, e.g. a layout its processing needs) hold.
    """
    out: list[Diagnostic] = []
    base = manifest_file.resolve().parent
    reads = reads if reads is not None else LabelReads()
    renames = catalog_renames(manifest)
    catalog = _catalog(manifest, base, root, reads, renames)
    block = manifest.spec.block(provider) if provider is not None else None
    spec = PROVIDERS[provider] if provider is not None else None
    data_check: DataCheck | None = None
    if spec is not None and block is not None and spec.check_data:
        hook = spec.load("check_data")
        data_check = functools.partial(hook, doc, block)
    for i, seg in enumerate(manifest.spec.segments):
        out += _check_segment(
            doc, seg, ("spec", "segments", i), base, root, catalog, scans or local_scan.Scans(), reads,
            frames=block is not None and block.groups_frames(), data_check=data_check, renames=renames,
        )
    return out


def _read(seg: Segment, base: Path, root: Path, reads: LabelReads) -> LabelSet:
    assert seg.labels is not None
    return read_segment_labels(
        reads, root, base, fmt=seg.labels.format, path=seg.labels.path, options=seg.labels.options(),
        data_path=seg.data.path if seg.data is not None else None, display=_display,
    )


def _catalog(manifest: Manifest, base: Path, root: Path, reads: LabelReads, renames: Renames) -> dict[str, Any]:
    """The catalog the labels are checked against (see :func:`check_local`); label sets that
    cannot be read are left out here and reported with their segment."""
    declared = catalog_json(manifest)
    catalog = manifest.spec.catalog
    if catalog is None or catalog.from_ != "labels":
        return declared
    sets = []
    for seg in manifest.spec.segments:
        if seg.labels is None:
            continue
        try:
            found = _read(seg, base, root, reads)
        except LocalDataError:
            continue
        if found.ok:
            sets.append(follow_renames(found, renames).labels)
    return effective_catalog(declared, True, sets)


DataCheck = Callable[[JsonPath, list[tuple[str, Path]]], list[Diagnostic]]
"""A provider's data rules for one segment: ``(where, [(remote path, file)]) -> problems``."""


def _check_segment(
    doc: Document,
    seg: Segment,
    here: JsonPath,
    base: Path,
    root: Path,
    catalog: dict[str, Any],
    scans: local_scan.Scans,
    reads: LabelReads,
    *,
    frames: bool,
    data_check: DataCheck | None,
    renames: Renames,
) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    known: Container[str] | None = None
    scanned: Sequence[LocalFile] | None = None
    timestamps_ok = True
    if seg.data is not None:
        where = here + ("data", "path")
        problems = _declared(doc, root, base, seg.data.path, where, "dir")
        out += problems
        if not problems:
            try:
                files = scans.scan(root, base / seg.data.path, seg.data.include, seg.data.exclude)
            except LocalDataError as err:
                out.append(doc.diagnostic(where, err.message, hint=err.hint))
            else:
                scanned = files
                if not files:
                    out.append(
                        doc.diagnostic(
                            here + ("data",), f"data directory {seg.data.path!r} selects no files",
                            hint="check include/exclude", key=True,
                        )
                    )
    if seg.frames is not None and seg.frames.timestamps is not None:
        problems = _declared(doc, root, base, seg.frames.timestamps, here + ("frames", "timestamps"), "file")
        timestamps_ok = not problems
        out += problems
    if seg.frames is not None and seg.frames.ids is not None:
        problems = _declared(doc, root, base, seg.frames.ids, here + ("frames", "ids"), "file")
        timestamps_ok = timestamps_ok and not problems
        out += problems
    if seg.labels is not None:
        where = here + ("labels", "path")
        problems = _declared(doc, root, base, seg.labels.path, where, "file" if seg.labels.is_file else "dir")
        for option, declared in seg.labels.options().items():
            problems += _declared(doc, root, base, declared, here + ("labels", option), "file" if option == "classes" else "dir")
        out += problems
        if not problems:
            try:
                found = _read(seg, base, root, reads)
            except LocalDataError as err:
                out.append(doc.diagnostic(where, err.message, hint=err.hint))
            else:
                # old names declared renamed are read as the new ones, with a warning
                followed = follow_renames(found, renames)
                if (warning := rename_warning(followed)) is not None:
                    out.append(warning)
                found = followed.labels
                if scanned is not None:  # the scan's column (no tuple per file), or a set for many labels
                    known = local_scan.rel_index(scanned, len(found.records))
                # a file with format problems gets only those (one mistake, one message)
                out += check_label_set(found, catalog, known, root=root) if found.ok or found.format == DEFAULT_FORMAT else found.diagnostics
    if frames and seg.sensors and scanned is not None:
        out += _frame_problems(doc, seg, here, base, scanned, timestamps_ok)
    if data_check is not None and scanned:
        out += data_check(here + ("data", "path"), [(f.rel, Path(f.path)) for f in scanned])
    return out


def _frame_problems(
    doc: Document, seg: Segment, here: JsonPath, base: Path, files: Sequence[LocalFile], timestamps_ok: bool
) -> list[Diagnostic]:
    """Problems of the fusion frame layout (:func:`labelsync.local.frames.build_frames`)."""
    timestamps = None
    frames = seg.frames
    where = here + ("data", "path")
    if frames is not None and frames.timestamps is not None:
        if not timestamps_ok:
            return []
        try:
            timestamps = read_timestamps(base / frames.timestamps)
        except LocalDataError as err:
            return [doc.diagnostic(here + ("frames", "timestamps"), err.message, hint=err.hint)]
    frame_ids = None
    if frames is not None and frames.ids is not None:
        if not timestamps_ok:
            return []
        try:
            frame_ids = read_frame_ids(base / frames.ids)
        except LocalDataError as err:
            return [doc.diagnostic(here + ("frames", "ids"), err.message, hint=err.hint)]
    line, column = doc.position(where)
    _, diags = build_frames(
        seg.name,
        files,
        [s.name for s in seg.sensors or []],
        timestamps=timestamps,
        frame_ids=frame_ids,
        complete=frames.complete if frames is not None else True,
        file=doc.file,
        line=line,
        column=column,
        json_path=format_path(where),
    )
    return diags
