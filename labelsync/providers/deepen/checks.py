"""Deepen's own manifest rules, beyond what its settings model and capabilities say.

``check(doc, manifest, block)`` is the provider spec's ``check`` hook: it returns the
diagnostics of a schema-valid manifest whose remote is a Deepen remote. Pure: no I/O.
"""

from __future__ import annotations

from pathlib import Path

from labelsync.diagnostics import Diagnostic
from labelsync.manifest.load import Document, JsonPath
from labelsync.manifest.model import Keypoints2DCatalog, Manifest, Polyline2DCatalog
from labelsync.providers.contract import ProviderSettings
from labelsync.providers.deepen.features import deepen_feature
from labelsync.providers.deepen.layout import layout_problems
from labelsync.providers.deepen.spec import DeepenSettings


def check(doc: Document, manifest: Manifest, block: ProviderSettings) -> list[Diagnostic]:
    """Every Deepen-specific problem of ``manifest`` (``block`` is its ``spec.deepen``)."""
    assert isinstance(block, DeepenSettings)
    spec = manifest.spec
    here = ("spec", "deepen")
    out: list[Diagnostic] = []
    if spec.deepen is None:
        out.append(
            doc.diagnostic(
                ("spec",), "deepen datasets need 'spec.deepen.datasetType' (images, video or 3d)",
                hint="add deepen: {datasetType: images}",
            )
        )
    if block.dataset_format is not None and block.dataset_type != "3d":
        out.append(doc.diagnostic(here + ("datasetFormat",), "'datasetFormat' applies only to datasetType: 3d", key=True))
    if block.fps is not None and block.dataset_type != "video":
        out.append(doc.diagnostic(here + ("fps",), "'fps' applies only to datasetType: video", key=True))
    stages = [s.stage for s in block.pipeline or []]
    for i, stage in enumerate(stages):
        if stage in stages[:i]:
            out.append(doc.diagnostic(here + ("pipeline", i, "stage"), f"duplicate pipeline stage {stage!r}"))
    if block.pipeline is not None and not block.pipeline:
        out.append(doc.diagnostic(here + ("pipeline",), "the pipeline needs at least one stage"))
    if len(spec.segments) > 1:
        out.append(
            doc.diagnostic(
                ("spec", "segments", 1),
                "a deepen dataset holds one segment (all its data is uploaded as one zip)",
                hint="make one deepen dataset per segment",
            )
        )
    for label_type, sub in (spec.catalog.types() if spec.catalog is not None else {}).items():
        where = ("spec", "catalog", label_type)
        mapping = deepen_feature(label_type)
        if mapping.feature is not None and block.dataset_type not in mapping.dataset_types:
            out.append(
                doc.diagnostic(
                    where, f"label type {label_type} (deepen {mapping.feature}) needs datasetType {' or '.join(mapping.dataset_types)}",
                    key=True,
                )
            )
        if isinstance(sub, Keypoints2DCatalog):
            for i, kp in enumerate(sub.keypoints):
                if kp.number != 1:
                    out.append(
                        doc.diagnostic(where + ("keypoints", i, "number"), "deepen 'point' labels are single points: number must be 1")
                    )
        if isinstance(sub, Polyline2DCatalog) and sub.is_beizer_curve:
            out.append(doc.diagnostic(where + ("isBeizerCurve",), "deepen 'lane' labels have no Bézier curves"))
    return out



def check_data(doc: Document, block: ProviderSettings, where: JsonPath, files: list[tuple[str, Path]]) -> list[Diagnostic]:
    """The spec's ``check_data`` hook: the data layout Deepen's processing accepts
    (:mod:`.layout`, names only). A problem in one file is reported in that file, a problem
    of the selection at the segment's ``data.path`` (``where``)."""
    assert isinstance(block, DeepenSettings)
    out = []
    for problem in layout_problems(files, dataset_type=block.dataset_type, dataset_format=block.dataset_format):
        if problem.file is not None:
            out.append(Diagnostic(_display(problem.file), 1, 1, problem.message, "", problem.hint))
        else:
            out.append(doc.diagnostic(where, problem.message, hint=problem.hint))
    return out


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
