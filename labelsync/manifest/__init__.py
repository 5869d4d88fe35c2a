"""Manifests: YAML files declaring datasets, validated and turned into frozen models.

Public API:

* :func:`load_manifests` -- the valid manifests under some paths, or a
  :class:`~labelsync.errors.ManifestError` listing every problem.
* :func:`validate_paths` -- every problem (diagnostics), for ``labelsync validate``.
* the models (:mod:`labelsync.manifest.model`), :func:`catalog_json`, :func:`sensor_json`,
  and the remotes (:func:`find_root`, :func:`load_remotes`, :class:`Remote`).

Pure core: reads files and the environment, never the network.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from labelsync.diagnostics import Diagnostic, has_errors
from labelsync.errors import ManifestError
from labelsync.local.scan import Scans
from labelsync.manifest.model import Catalog, Manifest, Segment, Sensor, Spec, catalog_json, sensor_json
from labelsync.manifest.remotes import Remote, find_root, load_remotes
from labelsync.manifest.validate import LoadedManifest, ManifestSet, run

__all__ = [
    "Catalog",
    "LoadedManifest",
    "Manifest",
    "ManifestSet",
    "Remote",
    "Segment",
    "Sensor",
    "Spec",
    "catalog_json",
    "find_root",
    "load_manifests",
    "load_remotes",
    "sensor_json",
    "validate_paths",
]


def validate_paths(paths: Sequence[Path], *, check_local: bool = True) -> list[Diagnostic]:
    """Every problem of the manifests under ``paths`` (files or directories), sorted by place.

    An empty list means valid. ``check_local`` also checks data dirs, label files and frames.
    """
    return run(list(paths), check_local=check_local).diagnostics


def load_manifests(
    paths: Sequence[Path],
    *,
    check_local: bool = True,
    root: Path | None = None,
    scans: Scans | None = None,
    on_parsed: Callable[[ManifestSet], None] | None = None,
) -> ManifestSet:
    """The manifests under ``paths`` as models, each with its file, line and remote.

    Directories are searched for ``*.yaml``/``*.yml`` (hidden directories and
    ``labelsync.yaml`` skipped); a file may hold several documents. Raises
    :class:`~labelsync.errors.ManifestError` whose ``diagnostics`` list every problem.
    ``root`` is the repository root (default: as :func:`run` finds it); ``scans`` the
    :class:`~labelsync.local.scan.Scans` the data listings go to (default: a new one);
    ``on_parsed`` is called once every manifest is parsed, before any data directory is
    scanned (see :func:`~labelsync.manifest.validate.run`).
    """
    result = run(list(paths), check_local=check_local, root=root, scans=scans, on_parsed=on_parsed)
    if has_errors(result.diagnostics):
        count = sum(1 for d in result.diagnostics if d.severity == "error")
        raise ManifestError(
            f"{count} problem{'s' if count != 1 else ''} in the manifests",
            diagnostics=result.diagnostics,
            hint="run 'labelsync validate' for the full list; each line names the file, line and column",
        )
    return result.manifests
