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

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pathspec
from pydantic import ValidationError

from labelsync.diagnostics import Diagnostic, has_errors, sort_key
from labelsync.local.labelsets import LabelReads
from labelsync.local.scan import Scans
from labelsync.manifest import localcheck, semantic
from labelsync.manifest.load import MAX_FILE_BYTES, Document, read_documents
from labelsync.manifest.model import API_VERSION, KIND, Manifest
from labelsync.manifest.remotes import CONFIG_FILE, Remote, find_root, read_remotes
from labelsync.manifest.schema import schema_diagnostics

MANIFEST_SUFFIXES = (".yaml", ".yml")


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


def display_name(path: Path) -> str:
    """``path`` relative to the working directory when it is below it, else as given."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


_HEAD_BYTES = 1024 * 1024


def _looks_like_manifest(path: Path, contents: dict[Path, bytes] | None = None) -> bool:
    """A YAML file met while expanding a directory is a manifest when it mentions apiVersion
    or kind (in its first MiB).

    This keeps other YAML (CI workflows, tool configs) out of ``labelsync validate dir/``;
    a file named explicitly is always validated. A file within the manifest size limit is
    read whole, and its bytes kept in ``contents`` (when given), so that validation parses
    them without reading the file again.
    """
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError:
        return True
    if contents is not None and len(data) <= MAX_FILE_BYTES:
        contents[path] = data
    head = data[:_HEAD_BYTES]
    return b"apiVersion" in head or b"kind" in head


IGNORE_FILES = (".gitignore", ".labelsyncignore")
"""Read from the repository root in this order, so ``!pattern`` in ``.labelsyncignore``
re-includes what ``.gitignore`` excludes (gitignore syntax: a later match wins)."""


@dataclass(frozen=True)
class IgnoreRules:
    """The repository's ignore files as one gitignore matcher for paths below ``root``."""

    root: Path
    """The repository root (resolved); patterns match paths relative to it."""
    spec: pathspec.GitIgnoreSpec

    def ignores(self, path: Path, *, is_dir: bool) -> bool:
        """True when ``path`` (absolute, resolved) or a directory above it is ignored.

        Paths outside ``root`` are never ignored.
        """
        try:
            rel = path.relative_to(self.root).as_posix()
        except ValueError:
            return False
        if rel in ("", "."):
            return False
        return self.spec.match_file(rel + "/" if is_dir else rel)


def read_ignore_rules(root: Path) -> tuple[IgnoreRules, list[Diagnostic]]:
    """The rules of ``root/.gitignore`` and ``root/.labelsyncignore`` (either may be absent).

    Never raises: an unreadable file or a line that is not a valid gitignore pattern gives a
    warning at its ``file:line`` and is left out.
    """
    lines: list[str] = []
    diags: list[Diagnostic] = []
    for name in IGNORE_FILES:
        path = root / name
        if not path.is_file():
            continue
        try:
            text = path.read_bytes().decode("utf-8", errors="replace")
        except OSError as exc:
            diags.append(Diagnostic(display_name(path), 0, 0, f"cannot read: {exc.strerror or exc}; not used",
                                    severity="warning"))
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            try:
                pathspec.GitIgnoreSpec.from_lines([line])
            except ValueError:
                diags.append(Diagnostic(
                    display_name(path), number, 1, f"{line!r} is not a valid gitignore pattern; not used",
                    hint="see gitignore(5) for the syntax", severity="warning",
                ))
                continue
            lines.append(line)
    return IgnoreRules(root.resolve(), pathspec.GitIgnoreSpec.from_lines(lines)), diags


def _search(
    directory: Path, ignore: IgnoreRules | None, contents: dict[Path, bytes] | None = None
) -> tuple[list[Path], int]:
    """The manifest files below ``directory`` and how many paths ``ignore`` left out (the
    bytes of those read whole go to ``contents``, see :func:`_looks_like_manifest`)."""
    found: list[Path] = []
    skipped = 0
    base = directory.resolve()
    for dirpath, dirnames, filenames in os.walk(directory):
        here = base / os.path.relpath(dirpath, directory)
        kept = []
        for d in sorted(dirnames):
            if d.startswith("."):
                continue
            if ignore is not None and ignore.ignores(here / d, is_dir=True):
                skipped += 1
                continue
            kept.append(d)
        dirnames[:] = kept
        for name in sorted(filenames):
            if name.startswith(".") or name == CONFIG_FILE or not name.endswith(MANIFEST_SUFFIXES):
                continue
            if ignore is not None and ignore.ignores(here / name, is_dir=False):
                skipped += 1
                continue
            candidate = Path(dirpath, name)
            if candidate.is_file() and _looks_like_manifest(candidate, contents):
                found.append(candidate)
    return sorted(found), skipped


def expand_paths(
    paths: Sequence[Path], ignore: IgnoreRules | None = None, contents: dict[Path, bytes] | None = None
) -> tuple[list[Path], list[Diagnostic]]:
    """The manifest files named by ``paths``: files as given, directories searched recursively.

    In a directory: ``*.yaml``/``*.yml`` files that look like manifests, skipping hidden
    directories and files, ``labelsync.yaml`` and whatever ``ignore`` (the repository's
    ``.gitignore`` and ``.labelsyncignore``) excludes; sorted, each file once. The ignore
    rules only prune the search: a file named in ``paths`` is always read, and a named
    directory that the rules exclude is searched without them. ``contents`` receives the
    bytes of the files the search already read (to tell manifests from other YAML).
    """
    files: list[Path] = []
    diags: list[Diagnostic] = []
    seen: set[Path] = set()

    def add(p: Path) -> None:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            files.append(p)

    for path in paths:
        if path.is_dir():
            rules = None if ignore is not None and ignore.ignores(path.resolve(), is_dir=True) else ignore
            found, skipped = _search(path, rules, contents)
            if not found:
                note = f" ({skipped} path(s) excluded by {' and '.join(IGNORE_FILES)})" if skipped else ""
                diags.append(Diagnostic(display_name(path), 0, 0, f"no manifest (*.yaml, *.yml) found in this directory{note}"))
            for f in found:
                add(f)
        elif path.exists():
            add(path)
        else:
            diags.append(Diagnostic(str(path), 0, 0, "no such file or directory"))
    return files, diags


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


def run(paths: Sequence[Path], *, check_local: bool = True, root: Path | None = None) -> Result:
    """Validate the manifests under ``paths``; return the valid ones and every diagnostic.

    ``root`` (the repository root, see :func:`~labelsync.manifest.remotes.find_root`) defaults
    to the root of the first path found without running git (the CLI passes the one
    :func:`labelsync.local.git.find_root` finds). Never raises for anything the files can contain.
    """
    if root is None:
        root = find_root(paths[0] if paths else Path.cwd())
    remotes, diags = read_remotes(root)
    ignore, ignore_diags = read_ignore_rules(root)
    contents: dict[Path, bytes] = {}
    files, found_diags = expand_paths(paths, ignore, contents)
    diags += ignore_diags + found_diags
    loaded: list[LoadedManifest] = []
    scans = Scans()
    reads = LabelReads()
    located: list[semantic.Located] = []
    for file in files:
        display = display_name(file)
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
            problems = semantic.check_manifest(doc, manifest, remotes)
            if check_local and not any(d.path.startswith("spec.segments") for d in problems):
                provider = semantic.provider_of(manifest, remotes)
                problems += localcheck.check_local(doc, manifest, file, root, scans, provider=provider, reads=reads)
            diags += problems
            located.append(semantic.Located(doc, manifest))
            remote = remotes.get(manifest.spec.remote)
            if not has_errors(problems) and remote is not None:  # warnings do not drop a manifest
                loaded.append(LoadedManifest(manifest, file.resolve(), display, doc.line, doc.index, remote))
    diags += semantic.check_set(located, remotes)
    diags.sort(key=sort_key)
    return Result(ManifestSet(root, remotes, loaded, scans, reads), diags, files)
