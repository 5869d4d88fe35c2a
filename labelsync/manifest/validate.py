"""Validate manifests end to end: find files, read YAML, JSON Schema, models, semantics, local data.

The pipeline for each document, every stage reporting *all* its problems:

1. YAML (:mod:`labelsync.manifest.load`): syntax, duplicate keys, limits.
2. ``apiVersion``/``kind``: a document for another version or kind stops here.
3. JSON Schema (:mod:`labelsync.manifest.schema`): path-addressed shape errors.
4. pydantic builds the frozen :class:`~labelsync.manifest.model.Manifest`.
5. Semantic checks (:mod:`labelsync.manifest.semantic`), then across manifests.
6. Local data (:mod:`labelsync.manifest.localcheck`): paths, data dirs, label files, frames.

A later stage runs only on documents that passed the earlier ones, so one mistake gives one
message, not a cascade.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from labelsync.diagnostics import Diagnostic, has_errors, sort_key
from labelsync.local.labelsets import LabelReads
from labelsync.local.scan import Scans
from labelsync.manifest import localcheck, semantic
from labelsync.manifest.load import Document, read_documents
from labelsync.manifest.model import API_VERSION, KIND, Manifest
from labelsync.manifest.remotes import Remote, find_root, read_remotes
from labelsync.manifest.schema import schema_diagnostics
from labelsync.manifest.search import (  # noqa: F401  (re-exported: the search's public names)
    IGNORE_FILES,
    MANIFEST_SUFFIXES,
    IgnoreRules,
    Parsed,
    display_name,
    expand_paths,
    read_ignore_rules,
)


@dataclass(frozen=True, slots=True)
class LoadedManifest:
    """A valid manifest with where it was declared and the remote it targets."""

    manifest: Manifest
    file: Path
    """The manifest file (absolute); declared paths are relative to its directory."""
    display: str
    """The file name as shown in messages (relative to the working directory when possible)."""
    line: int
    index: int
    """The document's index within the file (0-based)."""
    remote: Remote

    @property
    def provider(self) -> str:
        return self.remote.provider

    @property
    def base_dir(self) -> Path:
        """The directory declared paths are relative to."""
        return self.file.parent

    @property
    def where(self) -> str:
        """``file:line`` of the document, for messages."""
        return f"{self.display}:{self.line}"


@dataclass(frozen=True)
class ManifestSet:
    """All manifests found under some paths, with the repository root and its remotes."""

    root: Path
    remotes: dict[str, Remote]
    manifests: list[LoadedManifest] = field(default_factory=list)
    scans: Scans = field(default_factory=Scans)
    """The data selections validation listed, for resolution to reuse in the same run."""
    label_reads: LabelReads = field(default_factory=LabelReads)
    """The label sets validation read and checked, for resolution to reuse in the same run."""

    def __iter__(self) -> Iterator[LoadedManifest]:
        return iter(self.manifests)

    def __len__(self) -> int:
        return len(self.manifests)


@dataclass
class Result:
    """What :func:`run` found: the valid manifests and every diagnostic."""

    manifests: ManifestSet
    diagnostics: list[Diagnostic]
    files: list[Path]


STATE_DIR = ".labelsync"
"""Per-machine state under the repository root: the embedded emulator's database and
signing key, and the caches. It belongs in ``.gitignore``, never in git."""
UNTRACK_STATE = f"git rm -r --cached {STATE_DIR} && labelsync init"


def tracked_state_warning(root: Path, tracked: Sequence[str]) -> Diagnostic | None:
    """A warning when git tracks files under ``root/.labelsync``, with the fix; else None.

    ``tracked`` are those files as git lists them (:func:`labelsync.local.git.tracked_files`
    of :data:`STATE_DIR`); this module does not run git.
    """
    if not tracked:
        return None
    return Diagnostic(
        display_name(root / STATE_DIR), 0, 0,
        f"{len(tracked)} file(s) under {STATE_DIR}/ are tracked by git; they are this machine's state "
        "(the embedded emulator's database and signing key, and caches) and must not be committed",
        hint=f"untrack them and ignore the directory: {UNTRACK_STATE}",
        severity="warning",
    )


def _version_problem(doc: Document) -> Diagnostic | None:
    data = doc.data
    if not isinstance(data, dict):
        return doc.diagnostic(
            (), "a manifest is a mapping with apiVersion, kind, metadata and spec",
            hint=f"start the document with 'apiVersion: {API_VERSION}' and 'kind: {KIND}'",
        )
    version = data.get("apiVersion")
    if version is None:
        return doc.diagnostic((), "missing 'apiVersion'", hint=f"add 'apiVersion: {API_VERSION}'")
    if version != API_VERSION:
        return doc.diagnostic(
            ("apiVersion",), f"unsupported apiVersion {version!r}; this labelsync reads {API_VERSION!r}",
            hint=f"use 'apiVersion: {API_VERSION}'",
        )
    kind = data.get("kind")
    if kind is None:
        return doc.diagnostic((), "missing 'kind'", hint=f"add 'kind: {KIND}'")
    if kind != KIND:
        return doc.diagnostic(("kind",), f"unsupported kind {kind!r}; the only kind is {KIND!r}", hint=f"use 'kind: {KIND}'")
    return None


def _model_diagnostics(doc: Document, exc: ValidationError) -> list[Diagnostic]:
    return [doc.diagnostic(tuple(err["loc"]), err["msg"]) for err in exc.errors()]


def run(
    paths: Sequence[Path],
    *,
    check_local: bool = True,
    root: Path | None = None,
    scans: Scans | None = None,
    on_parsed: Callable[[ManifestSet], None] | None = None,
) -> Result:
    """Validate the manifests under ``paths``; return the valid ones and every diagnostic.

    ``root`` (the repository root, see :func:`~labelsync.manifest.remotes.find_root`) defaults
    to the root of the first path found without running git (the CLI passes the one
    :func:`labelsync.local.git.find_root` finds). Never raises for anything the files can contain.

    Every document is parsed and checked (schema, model, semantics) before any is checked
    against the local files; ``on_parsed`` (when ``check_local``) is called between, with the
    manifests valid so far (a later local problem can still drop one), before any data
    directory is scanned.
    """
    if root is None:
        root = find_root(paths[0] if paths else Path.cwd())
    remotes, diags = read_remotes(root)
    ignore, ignore_diags = read_ignore_rules(root)
    contents: dict[Path, bytes] = {}
    parsed: Parsed = {}
    files, found_diags = expand_paths(paths, ignore, contents, parsed)
    diags += ignore_diags + found_diags
    loaded: list[LoadedManifest] = []
    scans = scans if scans is not None else Scans()
    reads = LabelReads()
    located: list[semantic.Located] = []
    checked: list[tuple[Document, Manifest, Path, str, list[Diagnostic]]] = []  # parsed, in file order
    for file in files:
        display = display_name(file)
        if file in parsed:
            docs, doc_diags = parsed.pop(file)
        else:
            docs, doc_diags = read_documents(file, display, raw=contents.pop(file, None))
        diags += doc_diags
        for doc in docs:
            problem = _version_problem(doc)
            if problem is not None:
                diags.append(problem)
                continue
            shape = schema_diagnostics(doc)
            if shape:
                diags += shape
                continue
            try:
                manifest = Manifest.model_validate(doc.data)
            except ValidationError as exc:
                diags += _model_diagnostics(doc, exc)
                continue
            located.append(semantic.Located(doc, manifest))
            checked.append((doc, manifest, file, display, semantic.check_manifest(doc, manifest, remotes)))

    def entry_of(doc: Document, manifest: Manifest, file: Path, display: str, problems: list[Diagnostic]) -> LoadedManifest | None:
        """The manifest as loaded; None when it has errors (warnings do not drop a manifest)
        or names a remote that is not declared."""
        remote = remotes.get(manifest.spec.remote)
        if has_errors(problems) or remote is None:
            return None
        return LoadedManifest(manifest, file.resolve(), display, doc.line, doc.index, remote)

    if check_local and on_parsed is not None:
        so_far = [entry for entry in (entry_of(*one) for one in checked) if entry is not None]
        on_parsed(ManifestSet(root, remotes, so_far, scans, reads))
    for doc, manifest, file, display, problems in checked:
        if check_local and not any(d.path.startswith("spec.segments") for d in problems):
            provider = semantic.provider_of(manifest, remotes)
            problems += localcheck.check_local(doc, manifest, file, root, scans, provider=provider, reads=reads)
        diags += problems
        entry = entry_of(doc, manifest, file, display, problems)
        if entry is not None:
            loaded.append(entry)
    diags += semantic.check_set(located, remotes)
    diags.sort(key=sort_key)
    return Result(ManifestSet(root, remotes, loaded, scans, reads), diags, files)
