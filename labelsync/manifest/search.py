"""Find the manifest files that command-line paths name (``labelsync validate dir/``).

Contract of :func:`expand_paths` (documented for users in docs/manifest.md, "Finding manifests"):

* A file named in the paths is always read. A directory is searched recursively, top down,
  for ``*.yaml``/``*.yml`` files that look like manifests (they mention ``apiVersion`` or
  ``kind``), skipping hidden entries, ``labelsync.yaml``, symlinked directories and what the
  repository's ignore files (``.gitignore``, ``.labelsyncignore``) exclude.
* **Declared directories are not searched**: once a manifest is found in a directory, the
  directories its segments declare *below that directory* (``data.path``, ``labels.path``)
  are not searched for more manifests. Data trees hold data: this keeps a search from
  listing a million data files. The rule does not depend on search order (a directory's own
  files are read before any directory below it), and a data path that is the manifest's own
  directory prunes nothing. A manifest kept inside a data directory is read when its file
  (or a directory at or below the data directory) is named explicitly.
* Cost: one ``scandir`` per directory searched; each candidate is read once, its bytes and
  parsed documents handed on so that validation does not read or parse it again.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pathspec

from labelsync.diagnostics import Diagnostic
from labelsync.manifest.load import MAX_FILE_BYTES, Document, read_documents
from labelsync.manifest.remotes import CONFIG_FILE

MANIFEST_SUFFIXES = (".yaml", ".yml")


Parsed = dict[Path, tuple[list[Document], list[Diagnostic]]]
"""Documents (and YAML diagnostics) of the manifests a search parsed, by path as found."""


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


def declared_dirs(docs: Sequence[Document], here: Path) -> set[Path]:
    """The directories strictly below ``here`` that ``docs`` declare as segment data or
    labels (``spec.segments[].data.path``, ``.labels.path``), as lexically normalised
    absolute paths. Loose on purpose: whatever is not a string path is ignored (validation
    reports it)."""
    out: set[Path] = set()
    for doc in docs:
        spec = doc.data.get("spec") if isinstance(doc.data, dict) else None
        segments = spec.get("segments") if isinstance(spec, dict) else None
        for seg in segments if isinstance(segments, list) else ():
            for key in ("data", "labels"):
                block = seg.get(key) if isinstance(seg, dict) else None
                path = block.get("path") if isinstance(block, dict) else None
                if isinstance(path, str) and path and not os.path.isabs(path):
                    target = Path(os.path.normpath(here / path))
                    if target != here and here in target.parents:
                        out.add(target)
    return out


def _search(
    directory: Path, ignore: IgnoreRules | None, contents: dict[Path, bytes] | None = None,
    parsed: Parsed | None = None,
) -> tuple[list[Path], int]:
    """The manifest files below ``directory`` and how many paths ``ignore`` left out (the
    bytes of those read whole go to ``contents``, see :func:`_looks_like_manifest`; their
    parsed documents to ``parsed``). See the module docstring for what is not searched."""
    found: list[Path] = []
    skipped = 0
    pruned: set[Path] = set()
    contents = {} if contents is None else contents
    stack = [(directory, directory.resolve())]  # (path as given below `directory`, resolved)
    while stack:
        given, here = stack.pop()
        try:
            with os.scandir(given) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue  # unreadable: skipped, as os.walk does
        subdirs: list[str] = []
        for entry in entries:
            name = entry.name
            if name[0] == ".":
                continue
            try:
                if entry.is_dir():
                    if not entry.is_symlink():
                        subdirs.append(name)
                    continue
            except OSError:
                continue
            if name == CONFIG_FILE or not name.endswith(MANIFEST_SUFFIXES):
                continue
            if ignore is not None and ignore.ignores(here / name, is_dir=False):
                skipped += 1
                continue
            candidate = given / name
            if candidate.is_file() and _looks_like_manifest(candidate, contents):
                found.append(candidate)
                raw = contents.get(candidate)
                if raw is not None:
                    result = read_documents(candidate, display_name(candidate), raw=raw)
                    if parsed is not None:
                        parsed[candidate] = result
                        del contents[candidate]
                    pruned |= declared_dirs(result[0], here)
        for name in reversed(subdirs):  # popped in name order
            sub = here / name
            if sub in pruned:
                continue
            if ignore is not None and ignore.ignores(sub, is_dir=True):
                skipped += 1
                continue
            stack.append((given / name, sub))
    return sorted(found), skipped


def expand_paths(
    paths: Sequence[Path], ignore: IgnoreRules | None = None, contents: dict[Path, bytes] | None = None,
    parsed: Parsed | None = None,
) -> tuple[list[Path], list[Diagnostic]]:
    """The manifest files named by ``paths``: files as given, directories searched recursively.

    In a directory: ``*.yaml``/``*.yml`` files that look like manifests, skipping hidden
    directories and files, ``labelsync.yaml`` and whatever ``ignore`` (the repository's
    ``.gitignore`` and ``.labelsyncignore``) excludes; sorted, each file once. The ignore
    rules only prune the search: a file named in ``paths`` is always read, and a named
    directory that the rules exclude is searched without them. ``contents`` receives the
    bytes of the files the search already read (to tell manifests from other YAML), and
    ``parsed`` (when given) the documents of those it parsed instead (their bytes then leave
    ``contents``). Directories that found manifests declare are not searched (module docstring).
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
            found, skipped = _search(path, rules, contents, parsed)
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


