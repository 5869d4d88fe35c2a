"""Starting a new dataset's overlap (:mod:`labelsync.engine.overlap`) for ``apply --auto-approve``.

:func:`start_overlap` builds the overlap of a single new dataset (connecting to its
remote); when :func:`cold_tree` says the tree will be hashed, ``apply`` starts its probe
and the session's open at once (:meth:`~labelsync.engine.overlap.Overlap.start`), beside
the hashing, instead of at the hashing's first chunk. A cold tree the scan would hash
itself is looked up during validation (``apply``'s ``on_parsed``,
:meth:`~labelsync.engine.overlap.Overlap.streams`), so a new dataset's tree is hashed in
chunks that are sent as they come.

Connecting stays on the main thread, before the hashing: on a thread beside it, the
connect's imports (GIL-bound) were slowed by the hashing more than they overlapped with it
(first request about 0.3 s later at 5,000 x 64 KiB; benchmarks/README.md, session 5).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labelsync.manifest.validate import ManifestSet


def cold_tree(manifests: ManifestSet, cache: Any) -> bool:
    """Whether the (single) manifest's data will be hashed: one of its segments' data
    directories exists and the hash cache holds no row under it. False when unsure: then
    nothing is started early, so a declared path that is wrong or missing is reported, as
    before, without a request."""
    from labelsync.errors import LabelsyncError
    from labelsync.local.paths import resolve_inside

    entry = next(iter(manifests))
    for seg in entry.manifest.spec.segments:
        if seg.data is None:
            continue
        try:
            data_dir = resolve_inside(manifests.root, entry.file.parent, seg.data.path)
        except LabelsyncError:
            return False
        if os.path.isdir(data_dir) and cache.has_none_under(os.path.join(str(data_dir), "")):
            return True
    return False


def start_overlap(manifests: ManifestSet, conns: Any, options: Any, events: Any, tag: str | None) -> Any:
    """Sending while hashing (:mod:`labelsync.engine.overlap`) for a single new dataset, or None."""
    from labelsync.engine.overlap import provisional_plan
    from labelsync.engine.overlap import start_overlap as overlap_for
    from labelsync.providers.session import AbsenceProbe

    if len(manifests) != 1:
        return None  # the hash cache's chunks could not be told apart by dataset
    entry = next(iter(manifests))
    spec = entry.manifest.spec
    provider = conns.get(spec.remote).provider
    probe = provider if isinstance(provider, AbsenceProbe) else None
    if probe is None:
        return None
    block = spec.block(entry.provider)
    name = entry.manifest.metadata.name
    branch = block.branch_name() or ""
    plan = provisional_plan(
        name=name, remote=spec.remote, provider=entry.provider, kind=block.dataset_kind(), branch=branch,
        settings=block.settings_json(), tag=tag,
    )
    return overlap_for(lambda: probe.absent_live(name, branch), lambda p: provider.session(p, options, events), plan, manifests.root)
