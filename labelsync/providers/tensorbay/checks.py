"""TensorBay's own manifest rules, beyond what its settings model and capabilities say.

``check(doc, manifest, block)`` is the provider spec's ``check`` hook. Pure: no I/O.
"""

from __future__ import annotations

from labelsync.diagnostics import Diagnostic
from labelsync.manifest.load import Document
from labelsync.manifest.model import Manifest
from labelsync.providers.contract import ProviderSettings


def check(doc: Document, manifest: Manifest, block: ProviderSettings) -> list[Diagnostic]:
    """Every TensorBay-specific problem of ``manifest`` (``block`` is its ``spec.tensorbay``)."""
    out: list[Diagnostic] = []
    if block.groups_frames():
        for i, seg in enumerate(manifest.spec.segments):
            if seg.data is not None and not seg.sensors:
                out.append(doc.diagnostic(("spec", "segments", i), "a fusion segment with data needs sensors", hint="declare its sensors"))
    return out
