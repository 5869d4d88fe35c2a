"""``labelsync init [DIRECTORY]``: prepare a repository for labelsync; never clobbers a file.

Runs :data:`STEPS` in order against the repository root and prints one line per step
saying what it did (``created``, ``updated`` or ``kept``):

1. :func:`write_config`: ``labelsync.yaml``, a commented template explaining the built-in
   remotes, created only when missing.
2. :func:`ignore_state`: ``.labelsync/`` (the embedded emulator's database and signing key,
   and the caches) added to ``.gitignore`` unless that file already ignores it; the rest of
   the file is kept byte for byte.

Every write is atomic (a temporary file in the same directory, flushed, then linked or
renamed into place), so a file is either as it was or complete. Running ``init`` again
changes nothing. A step is a function ``(root) -> Step | None`` in :data:`STEPS`.

3. :func:`labelsync.cli.scaffold.scaffold_manifest`: ``dataset.yaml`` scaffolded from the
   data and labels found in the directory (any supported label format, detected by
   content), created only when missing; nothing when no labels are found.
"""

from __future__ import annotations

import errno
import os
import stat
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click
import pathspec

from labelsync.errors import UsageError

GITIGNORE = ".gitignore"
STATE_PATTERN = ".labelsync/"
"""``STATE_DIR`` (:mod:`labelsync.manifest.validate`) as an ignore line; written out so that
``labelsync --help`` does not import the manifest stack (a test checks they agree)."""
STATE_COMMENT = "# labelsync: this machine's state (embedded emulator database and signing key, caches)"


@dataclass(frozen=True, slots=True)
class Step:
    """What one step did to one file, for the line ``init`` prints."""

    verb: str
    """``created``, ``updated`` or ``kept``."""
    path: Path
    detail: str

    def line(self) -> str:
        from labelsync.manifest.validate import display_name

        return f"{self.verb} {display_name(self.path)}: {self.detail}"


def config_template() -> str:
    """The ``labelsync.yaml`` that ``init`` writes: valid as it is (no remotes of its own)."""
    from labelsync.manifest.remotes import BUILTIN_REMOTES

    width = max(len(name) for name in BUILTIN_REMOTES)
    builtins = []
    for remote in BUILTIN_REMOTES.values():
        client = "".join(f", {key} {value}" for key, value in remote.settings.items())
        builtins.append(
            f"#   {remote.name:<{width}}  provider {remote.provider}, url {remote.url}{client}, "
            f"token from ${remote.token_env}"
        )
    return "\n".join([
        "# labelsync.yaml: the remotes that manifests name in spec.remote (docs/manifest.md).",
        "#",
        "# Built-in remotes work without an entry here; an entry with the same name replaces one:",
        *builtins,
        "# url 'local' is the embedded emulator: it starts in-process on a loopback port, needs no",
        "# account or token, and keeps its state under .labelsync/local/ (never commit .labelsync/).",
        "#",
        "# An entry: NAME: {provider: tensorbay|deepen, url: local|https://..., tokenEnv: VAR, clientId: ID}",
        "# - tokenEnv names the environment variable that holds the token (default TENSORBAY_ACCESS_KEY",
        "#   or DEEPEN_API_TOKEN). Never write a token in this file.",
        "# - clientId is your Deepen client id; a deepen remote that is not local needs one.",
        "# - LABELSYNC_REMOTE_<NAME>_URL and LABELSYNC_REMOTE_<NAME>_CLIENT_ID override them from",
        "#   the environment (for CI, or a standalone `labelsync emulator`).",
        "#",
        "# For example:",
        '#   default:   {provider: tensorbay, url: "https://gas.graviti.com/", tokenEnv: TENSORBAY_ACCESS_KEY}',
        '#   labellers: {provider: deepen, url: "https://tools.deepen.ai/api/v2", clientId: acme, tokenEnv: DEEPEN_API_TOKEN}',
        "remotes: {}",
        "",
    ])


def _cannot(path: Path, exc: OSError) -> UsageError:
    from labelsync.manifest.validate import display_name

    return UsageError(f"cannot write {display_name(path)}: {exc.strerror or exc}",
                      hint="run init in a writable directory; nothing was changed in that file")


def write_atomic(path: Path, data: bytes, *, create: bool) -> bool:
    """Write ``data`` to ``path`` atomically; return False when ``create`` found it existing.

    ``create``: make a new file and never replace one (a file that appears meanwhile is
    kept). Otherwise replace ``path``, keeping its permission bits. A new file gets the
    usual mode (0666 less the umask). Raises :class:`UsageError` on a write error, with the
    temporary file removed.
    """
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        mode = None if create else stat.S_IMODE(path.stat().st_mode)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        if not create:
            os.replace(tmp, path)
            return True
        try:
            os.link(tmp, path)  # fails instead of replacing a file that exists
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                raise
            if path.exists():  # a file system without hard links: check, then rename
                return False
            os.replace(tmp, path)
        return True
    except OSError as exc:
        raise _cannot(path, exc) from exc
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass


def write_config(root: Path) -> Step:
    """Create ``root/labelsync.yaml`` from :func:`config_template` unless it exists."""
    from labelsync.manifest.remotes import BUILTIN_REMOTES, CONFIG_FILE

    path = root / CONFIG_FILE
    if path.exists() or path.is_symlink() or not write_atomic(path, config_template().encode(), create=True):
        return Step("kept", path, "it exists; not changed")
    names = ", ".join(BUILTIN_REMOTES)
    return Step("created", path, f"no remotes of its own yet; comments explain the built-in {names} and how to add one")


def _ignores_state(text: str) -> bool:
    """True when the gitignore ``text`` already ignores the ``.labelsync/`` directory."""
    lines = []
    for line in text.splitlines():
        try:
            pathspec.GitIgnoreSpec.from_lines([line])
        except ValueError:
            continue  # git skips a pattern it cannot read; so does this check
        lines.append(line)
    return pathspec.GitIgnoreSpec.from_lines(lines).match_file(STATE_PATTERN)


def ignore_state(root: Path) -> Step:
    """Make ``root/.gitignore`` ignore ``.labelsync/``: create it, or append two lines to it.

    An existing file keeps every byte (line endings and encoding included); a symlinked
    ``.gitignore`` is updated at its target.
    """
    from labelsync.manifest.validate import display_name

    link = root / GITIGNORE
    path = link.resolve() if link.is_symlink() else link
    try:
        old = path.read_bytes()
    except FileNotFoundError:
        old = None
    except OSError as exc:
        raise UsageError(f"cannot read {display_name(link)}: {exc.strerror or exc}",
                         hint=f"make {GITIGNORE} a readable file, or add the line {STATE_PATTERN} to it yourself") from exc
    addition = f"{STATE_COMMENT}\n{STATE_PATTERN}\n"
    if old is None:
        if write_atomic(path, addition.encode(), create=True):
            return Step("created", link, f"with {STATE_PATTERN} (the embedded emulator's database and key, caches)")
        return ignore_state(root)  # appeared meanwhile: treat it as existing
    if _ignores_state(old.decode("utf-8", errors="surrogateescape")):
        return Step("kept", link, f"{STATE_PATTERN} is already ignored")
    eol = b"\r\n" if b"\r\n" in old else b"\n"
    new = old + (eol if old and not old.endswith(b"\n") else b"") + addition.replace("\n", eol.decode()).encode()
    write_atomic(path, new, create=False)
    return Step("updated", link, f"added {STATE_PATTERN} (the embedded emulator's database and key, caches)")


def _scaffold(root: Path) -> Step | None:
    from labelsync.cli.scaffold import scaffold_manifest

    step: Step | None = scaffold_manifest(root)
    return step


STEPS: tuple[Callable[[Path], Step | None], ...] = (write_config, ignore_state, _scaffold)
"""The steps in order; a step returns ``None`` when it has nothing to do (and prints nothing)."""


def run_init(root: Path) -> list[Step]:
    """Run every step of :data:`STEPS` against ``root`` (an existing directory), in order."""
    return [step for step in (run(root) for run in STEPS) if step is not None]


@click.command("init")
@click.argument("directory", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
def init(directory: Path | None) -> None:
    """Create labelsync.yaml (if missing) and ignore .labelsync/ in .gitignore; when the
    directory holds data plus labels (coco, voc, yolo, labelme, kitti or JSON Lines), also
    scaffold dataset.yaml from them and say what was guessed.

    DIRECTORY is the repository root; by default the nearest directory above the working
    directory with a labelsync.yaml, else the git top level, else the working directory.
    Existing files are never replaced; running init again changes nothing.
    """
    from labelsync.local.git import find_root, tracked_files
    from labelsync.manifest.validate import STATE_DIR

    root = directory if directory is not None else find_root(Path.cwd())
    for step in run_init(root):
        click.echo(step.line())
    tracked = tracked_files(root, STATE_DIR)
    if tracked:
        click.echo(f"note: git still tracks {len(tracked)} file(s) under {STATE_PATTERN}; "
                   f"untrack them with: git rm -r --cached {STATE_DIR}")


COMMANDS: list[click.Command] = [init]
