"""Label Studio's own manifest rules, beyond its settings model and capabilities (pure).

The capabilities already refuse label types Label Studio cannot hold and sensors/frames
(``fusion`` is False). Here: what the label config builder (:mod:`.config`) refuses of a
catalog of supported types: a region type without categories, and two attributes that map
to the same control name.
"""

from __future__ import annotations

from labelsync.diagnostics import Diagnostic
from labelsync.errors import ManifestError
from labelsync.manifest.load import Document
from labelsync.manifest.model import Manifest, catalog_json
from labelsync.providers.contract import ProviderSettings
from labelsync.providers.labelstudio.config import TAGS, label_config
from labelsync.providers.labelstudio.spec import LabelStudioSettings


def check(doc: Document, manifest: Manifest, block: ProviderSettings) -> list[Diagnostic]:
    """Every Label Studio problem of ``manifest`` (``block`` is its ``spec.labelstudio``)."""
    assert isinstance(block, LabelStudioSettings)
    spec = manifest.spec
    if spec.catalog is None:
        return []
    catalog = catalog_json(spec.catalog)
    held = {t: sub for t, sub in catalog.items() if t in TAGS}  # other types: the capabilities' error
    out: list[Diagnostic] = []
    for label_type, sub in held.items():
        if label_type != "CLASSIFICATION" and not (sub or {}).get("categories"):
            out.append(
                doc.diagnostic(
                    ("spec", "catalog", label_type),
                    f"{label_type} needs categories on Label Studio (provider labelstudio): every region carries a label",
                    hint="declare at least one category", key=True,
                )
            )
    if out:
        return out
    try:
        label_config(held)
    except ManifestError as exc:
        out.append(doc.diagnostic(("spec", "catalog"), exc.message, hint=exc.hint, key=True))
    return out
