"""Semantic checks: what the JSON Schema cannot say about one manifest, or a set of them.

Each check takes a schema-valid, model-built manifest with its :class:`Document` (for
positions) and returns diagnostics; none raises and none touches the file system (the
local-data checks live in :mod:`labelsync.manifest.localcheck`).

Checked here: the remote exists and agrees with ``spec.provider``; fields that the
provider does not understand; catalog types the provider cannot hold; duplicate names
(segments, sensors, categories, attributes, mask category ids; datasets per remote across
manifests); ``parentCategories`` naming no category; attribute and keypoint definitions that
contradict themselves; intrinsics on LIDAR/RADAR; distortion coefficients; sensors or
frames on a non-fusion dataset; the syntax of declared paths (absolute, ``..`` escapes,
backslashes).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from labelsync.diagnostics import Diagnostic
from labelsync.manifest.load import Document, JsonPath
from labelsync.manifest.model import (
    Attribute,
    Catalog,
    Keypoints2DCatalog,
    Manifest,
    MaskCatalog,
    SentenceCatalog,
    Spec,
)
from labelsync.manifest.remotes import Remote
from labelsync.manifest.renaming import check_renames
from labelsync.manifest.schema import did_you_mean
from labelsync.providers.registry import PROVIDERS


def provider_of(manifest: Manifest, remotes: Mapping[str, Remote] | None) -> str | None:
    """The provider a manifest targets: its remote's; else ``spec.provider``; else the one
    provider whose block it gives; else ``None``. The one place this is decided."""
    remote = (remotes or {}).get(manifest.spec.remote)
    if remote is not None:
        return remote.provider
    if manifest.spec.provider is not None:
        return str(manifest.spec.provider)
    blocks = manifest.spec.blocks_set()
    return blocks[0] if len(blocks) == 1 else None


def check_manifest(doc: Document, manifest: Manifest, remotes: dict[str, Remote]) -> list[Diagnostic]:
    """Every semantic problem of one manifest (see the module docstring)."""
    out: list[Diagnostic] = []
    spec = manifest.spec
    remote = remotes.get(spec.remote)
    if remote is None:
        out.append(
            doc.diagnostic(
                ("spec", "remote"),
                f"unknown remote {spec.remote!r}{did_you_mean(spec.remote, remotes)}",
                hint=f"name one of {', '.join(sorted(remotes))} or add it to labelsync.yaml",
            )
        )
    elif spec.provider is not None and spec.provider != remote.provider:
        out.append(
            doc.diagnostic(
                ("spec", "provider"),
                f"provider {spec.provider!r} disagrees with remote {remote.name!r}, a {remote.provider} remote",
                hint="remove spec.provider or name a remote of that provider",
            )
        )
    provider = provider_of(manifest, remotes)
    if provider is not None:
        out += _check_provider(doc, manifest, provider)
    if spec.catalog is not None:
        out += check_catalog(doc, spec.catalog, ("spec", "catalog"), provider=provider)
        out += check_renames(doc, spec.catalog, ("spec", "catalog"))
        if spec.catalog.from_ == "labels" and not any(s.labels is not None for s in spec.segments):
            out.append(doc.diagnostic(("spec", "catalog", "from"), "catalog from labels, but no segment has labels",
                                      hint="add labels: {format: ..., path: ...} to a segment, or declare the catalog"))
    out += _check_segments(doc, spec, provider)
    return out


def _check_provider(doc: Document, manifest: Manifest, provider: str) -> list[Diagnostic]:
    """Blocks of other providers, then the provider's own rules (its ``check`` hook)."""
    out: list[Diagnostic] = []
    spec = manifest.spec
    for name in spec.blocks_set():
        if name != provider:
            out.append(
                doc.diagnostic(
                    ("spec", name), f"'{name}' settings apply to {name} remotes; remote {spec.remote!r} is a {provider} remote",
                    hint=f"remove spec.{name}, or name a {name} remote", key=True,
                )
            )
    provider_spec = PROVIDERS[provider]
    if spec.allow_replace and provider_spec.capabilities.content_mutable:
        out.append(
            doc.diagnostic(
                ("spec", "allowReplace"), f"allowReplace has no effect: {provider_spec.title} changes datasets in place",
                hint="remove it", key=True,
            )
        )
    if provider_spec.check:
        out += provider_spec.load("check")(doc, manifest, spec.block(provider))
    return out


def _dupes(names: Iterable[Any]) -> list[int]:
    """Indexes of entries whose name already appeared earlier."""
    seen: set[Any] = set()
    out = []
    for i, name in enumerate(names):
        if name in seen:
            out.append(i)
        seen.add(name)
    return out


def _check_attributes(
    doc: Document, attrs: Sequence[Attribute], base: JsonPath, categories: set[str] | None
) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for i in _dupes(a.name for a in attrs):
        out.append(doc.diagnostic(base + (i, "name"), f"duplicate attribute {attrs[i].name!r}"))
    for i, attr in enumerate(attrs):
        here = base + (i,)
        if attr.minimum is not None and attr.maximum is not None and attr.minimum > attr.maximum:
            out.append(doc.diagnostic(here + ("minimum",), f"minimum {attr.minimum} is greater than maximum {attr.maximum}"))
        types = attr.type if isinstance(attr.type, list) else [attr.type] if attr.type else []
        if attr.items is not None and types and "array" not in types:
            out.append(doc.diagnostic(here + ("items",), "'items' needs type: array"))
        if (attr.minimum is not None or attr.maximum is not None) and types and not {"integer", "number"} & set(types):
            out.append(doc.diagnostic(here, "'minimum'/'maximum' need type integer or number"))
        if attr.enum is not None and not attr.enum:
            out.append(doc.diagnostic(here + ("enum",), "'enum' must list at least one value"))
        for j, parent in enumerate(attr.parent_categories or []):
            if categories is not None and parent not in categories:
                out.append(
                    doc.diagnostic(
                        here + ("parentCategories", j),
                        f"parent category {parent!r} is not a category of this label type{did_you_mean(parent, categories)}",
                    )
                )
    return out


def check_catalog(doc: Document, catalog: Catalog, base: JsonPath, *, provider: str | None = None) -> list[Diagnostic]:
    """Problems of a catalog: duplicates, dangling parent categories, provider support."""
    out: list[Diagnostic] = []
    provider_spec = PROVIDERS.get(provider) if provider is not None else None
    for label_type, sub in catalog.types().items():
        here = base + (label_type,)
        if provider_spec is not None and label_type not in provider_spec.capabilities.label_types:
            note = provider_spec.unsupported_notes.get(label_type)
            out.append(
                doc.diagnostic(
                    here, f"label type {label_type} is not supported by {provider_spec.title}{f' ({note})' if note else ''}",
                    hint=f"remove it, or use a remote whose provider supports {label_type}", key=True,
                )
            )
        categories_list = getattr(sub, "categories", None)
        category_names: set[str] | None = None
        if categories_list is not None:
            names = [c.name for c in categories_list]
            category_names = set(names)
            for i in _dupes(names):
                out.append(doc.diagnostic(here + ("categories", i, "name"), f"duplicate category {names[i]!r} in {label_type}"))
            if isinstance(sub, MaskCatalog):
                ids = [c.category_id for c in categories_list]
                for i in _dupes(ids):
                    out.append(
                        doc.diagnostic(here + ("categories", i, "categoryId"), f"duplicate categoryId {ids[i]} in {label_type}")
                    )
        elif not isinstance(sub, SentenceCatalog):
            category_names = set()
        if sub.attributes:
            out += _check_attributes(doc, sub.attributes, here + ("attributes",), category_names)
        if isinstance(sub, Keypoints2DCatalog):
            for i, kp in enumerate(sub.keypoints):
                kp_path = here + ("keypoints", i)
                if kp.names is not None and len(kp.names) != kp.number:
                    out.append(doc.diagnostic(kp_path + ("names",), f"{len(kp.names)} names for {kp.number} keypoints"))
                for j, pair in enumerate(kp.skeleton or []):
                    if any(k >= kp.number for k in pair):
                        out.append(
                            doc.diagnostic(kp_path + ("skeleton", j), f"skeleton pair {pair} names a keypoint beyond {kp.number - 1}")
                        )
                for j, parent in enumerate(kp.parent_categories or []):
                    if category_names is not None and parent not in category_names:
                        out.append(
                            doc.diagnostic(kp_path + ("parentCategories", j), f"parent category {parent!r} is not a category of {label_type}")
                        )
        if isinstance(sub, SentenceCatalog) and sub.is_sample and sub.sample_rate is None:
            out.append(doc.diagnostic(here, "isSample: true needs sampleRate", hint="add sampleRate: 16000 (Hz)"))
    return out


_DISTORTION = re.compile(r"^([kp])([1-9][0-9]*)$")


def _check_segments(doc: Document, spec: Spec, provider: str | None) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    block = spec.block(provider) if provider is not None else None
    sensors_allowed = block is not None and block.has_sensors()
    frames_allowed = block is not None and block.groups_frames()
    names = [s.name for s in spec.segments]
    for i in _dupes(names):
        out.append(doc.diagnostic(("spec", "segments", i, "name"), f"duplicate segment {names[i]!r}"))
    for i, seg in enumerate(spec.segments):
        here: JsonPath = ("spec", "segments", i)
        if seg.sensors is not None and not sensors_allowed:
            out.append(
                doc.diagnostic(
                    here + ("sensors",), "sensors belong to fusion datasets",
                    hint="declare a fusion dataset in the provider's settings (spec.<provider>), or remove the sensors", key=True,
                )
            )
        if seg.frames is not None and not frames_allowed:
            out.append(
                doc.diagnostic(
                    here + ("frames",), "frames belong to fusion datasets",
                    hint="declare a fusion dataset in the provider's settings (spec.<provider>)", key=True,
                )
            )
        sensor_names = [s.name for s in seg.sensors or []]
        for j in _dupes(sensor_names):
            out.append(doc.diagnostic(here + ("sensors", j, "name"), f"duplicate sensor {sensor_names[j]!r} in segment {seg.name!r}"))
        for j, sensor in enumerate(seg.sensors or []):
            s_path = here + ("sensors", j)
            if sensor.intrinsics is not None and sensor.type in ("LIDAR", "RADAR"):
                out.append(
                    doc.diagnostic(
                        s_path + ("intrinsics",), f"a {sensor.type} sensor has no intrinsics",
                        hint="remove them, or use type CAMERA/FISHEYE_CAMERA", key=True,
                    )
                )
            coeffs = sensor.intrinsics.distortion_coefficients if sensor.intrinsics else None
            if coeffs:
                out += _check_distortion(doc, s_path + ("intrinsics", "distortionCoefficients"), coeffs)
        if seg.data is not None:
            out += path_syntax(doc, here + ("data", "path"), seg.data.path)
        if seg.labels is not None:
            out += path_syntax(doc, here + ("labels", "path"), seg.labels.path)
            for option, declared in seg.labels.options().items():
                out += path_syntax(doc, here + ("labels", option), declared)
            if seg.data is None:
                out.append(doc.diagnostic(here + ("labels",), "labels need a data directory", hint="add data: {path: ...}", key=True))
        if seg.frames is not None and seg.frames.timestamps is not None:
            out += path_syntax(doc, here + ("frames", "timestamps"), seg.frames.timestamps)
    return out


def _check_distortion(doc: Document, path: JsonPath, coeffs: dict[str, Any]) -> list[Diagnostic]:
    by_kind: dict[str, list[int]] = {"k": [], "p": []}
    for key in coeffs:
        m = _DISTORTION.match(key)
        if m:
            by_kind[m.group(1)].append(int(m.group(2)))
    out = []
    if "k1" not in coeffs and "p1" not in coeffs:
        out.append(doc.diagnostic(path, "distortion coefficients need k1 or p1"))
    for kind, numbers in by_kind.items():
        if numbers and sorted(numbers) != list(range(1, max(numbers) + 1)):
            out.append(
                doc.diagnostic(path, f"{kind} coefficients must be numbered consecutively from {kind}1 (got {', '.join(f'{kind}{n}' for n in sorted(numbers))})")
            )
    return out


def path_syntax(doc: Document, path: JsonPath, declared: str) -> list[Diagnostic]:
    """Problems of a declared path's *text*: absolute, backslashes, ``..`` at the start.

    Whether it exists and stays inside the repository once resolved (``..`` further in,
    symlinks) is for :mod:`labelsync.manifest.localcheck`, which knows the repository root.
    """
    fix = "write it relative to the manifest file, with '/' separators, inside the repository"
    if declared.startswith(("/", "~")) or re.match(r"^[A-Za-z]:[\\/]", declared) or declared.startswith("\\"):
        return [doc.diagnostic(path, f"path {declared!r} is absolute", hint=fix)]
    if "\\" in declared:
        return [doc.diagnostic(path, f"path {declared!r} uses backslashes", hint=fix)]
    if "\x00" in declared:
        return [doc.diagnostic(path, f"path {declared!r} contains a NUL byte", hint=fix)]
    return []


@dataclass(frozen=True, slots=True)
class Located:
    """A manifest with where it came from, for checks across manifests."""

    doc: Document
    manifest: Manifest


def check_set(entries: Sequence[Located], remotes: dict[str, Remote]) -> list[Diagnostic]:
    """Problems across manifests: the same dataset name twice on one remote."""
    out: list[Diagnostic] = []
    seen: dict[tuple[str, str], Located] = {}
    for entry in entries:
        key = (entry.manifest.spec.remote, entry.manifest.metadata.name)
        first = seen.get(key)
        if first is not None:
            out.append(
                entry.doc.diagnostic(
                    ("metadata", "name"),
                    f"dataset {key[1]!r} is already declared for remote {key[0]!r} at {first.doc.file}:{first.doc.line}",
                    hint="give one of them another name or remote",
                )
            )
        else:
            seen[key] = entry
    return out
