"""``labelsync.yaml``: the remotes a repository's manifests name.

Format (at the repository root)::

    remotes:
      default:   {provider: tensorbay, url: "https://gas.graviti.com/", tokenEnv: TENSORBAY_ACCESS_KEY}
      labellers: {provider: deepen, url: "https://tools.deepen.ai/api/v2", clientId: acme}
      scratch:   {provider: tensorbay, url: local}

* ``provider`` is ``tensorbay`` or ``deepen`` (required).
* ``url`` is the service base; ``local`` (the default) means the embedded emulator.
* ``tokenEnv`` names the environment variable holding the token (default
  ``TENSORBAY_ACCESS_KEY`` / ``DEEPEN_API_TOKEN``). Tokens never appear in the file.
* ``clientId`` (deepen) is the client id used in deepen URLs; default ``local`` for a
  local remote.

Built-in remotes apply when the file does not define a remote of that name:
``default`` and ``tensorbay`` (tensorbay, local) and ``deepen`` (deepen, local). So the
examples work with no ``labelsync.yaml`` at all.

The environment overrides the file: ``LABELSYNC_REMOTE_<NAME>_URL`` (``NAME`` upper-cased,
``-`` as ``_``) replaces a remote's url, and ``LABELSYNC_REMOTE_<NAME>_CLIENT_ID`` a deepen
remote's client id (required when a built-in deepen remote is pointed at a real server).

This module reads files and the environment but never the network.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from labelsync.diagnostics import Diagnostic, json_type
from labelsync.errors import ConfigError
from labelsync.manifest.load import Document, read_documents
from labelsync.manifest.schema import did_you_mean

CONFIG_FILE = "labelsync.yaml"
LOCAL = "local"
DEFAULT_TOKEN_ENV = {"tensorbay": "TENSORBAY_ACCESS_KEY", "deepen": "DEEPEN_API_TOKEN"}


@dataclass(frozen=True, slots=True)
class Remote:
    """A named remote: which provider, where, and which environment variable holds the token."""

    name: str
    provider: str
    url: str = LOCAL
    token_env: str = ""
    client_id: str | None = None
    builtin: bool = False
    """True for the built-in remotes (no ``labelsync.yaml`` entry)."""

    @property
    def is_local(self) -> bool:
        """True when the remote is the embedded emulator (url ``local``)."""
        return self.url == LOCAL


BUILTIN_REMOTES: dict[str, Remote] = {
    "default": Remote("default", "tensorbay", LOCAL, DEFAULT_TOKEN_ENV["tensorbay"], builtin=True),
    "tensorbay": Remote("tensorbay", "tensorbay", LOCAL, DEFAULT_TOKEN_ENV["tensorbay"], builtin=True),
    "deepen": Remote("deepen", "deepen", LOCAL, DEFAULT_TOKEN_ENV["deepen"], "local", builtin=True),
}


class _RemoteEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)

    provider: str = Field(pattern="^(tensorbay|deepen)$")
    url: str = Field(LOCAL, min_length=1)
    token_env: str | None = Field(None, alias="tokenEnv", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    client_id: str | None = Field(None, alias="clientId", min_length=1)


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    remotes: dict[str, _RemoteEntry] = {}


def env_var_for(name: str) -> str:
    """The environment variable that overrides remote ``name``'s url."""
    return "LABELSYNC_REMOTE_" + name.upper().replace("-", "_") + "_URL"


def find_root(start: Path) -> Path:
    """The repository root for ``start`` (a file or directory).

    The nearest ancestor holding ``labelsync.yaml``; else the git top level; else ``start``
    (its directory, when ``start`` is a file).
    """
    start = start.resolve()
    base = start if start.is_dir() else start.parent
    for candidate in (base, *base.parents):
        if (candidate / CONFIG_FILE).is_file():
            return candidate
    for candidate in (base, *base.parents):
        if (candidate / ".git").exists():
            return candidate
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], cwd=base, capture_output=True, text=True, timeout=10, check=False
        )
        if out.returncode == 0 and out.stdout.strip():
            return Path(out.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return base


def config_diagnostics(root: Path, environ: Mapping[str, str] | None = None) -> list[Diagnostic]:
    """Every problem of ``root/labelsync.yaml`` (empty when it is absent or valid)."""
    _, diags = read_remotes(root, environ)
    return diags


def load_remotes(root: Path, environ: Mapping[str, str] | None = None) -> dict[str, Remote]:
    """The remotes of the repository at ``root``: built-ins, then ``labelsync.yaml``, then env.

    Raises :class:`~labelsync.errors.ConfigError` when ``labelsync.yaml`` is invalid.
    ``environ`` defaults to ``os.environ``.
    """
    remotes, diags = read_remotes(root, environ)
    if diags:
        raise ConfigError(
            "; ".join(str(d) for d in diags),
            hint="fix labelsync.yaml (remotes: {name: {provider: tensorbay|deepen, url: ..., tokenEnv: ...}})",
        )
    return remotes


def read_remotes(root: Path, environ: Mapping[str, str] | None = None) -> tuple[dict[str, Remote], list[Diagnostic]]:
    """The remotes of ``root`` and the problems of its ``labelsync.yaml`` (never raises)."""
    env = os.environ if environ is None else environ
    remotes = dict(BUILTIN_REMOTES)
    diags: list[Diagnostic] = []
    path = root / CONFIG_FILE
    if path.is_file():
        docs, diags = read_documents(path, display=_display(path))
        if not diags and len(docs) != 1:
            diags.append(Diagnostic(_display(path), 1, 1, "labelsync.yaml must hold exactly one YAML document"))
        if not diags:
            doc = docs[0]
            try:
                config = _Config.model_validate(doc.data if doc.data is not None else {})
            except ValidationError as exc:
                diags += [_config_diagnostic(doc, err) for err in exc.errors()]
            else:
                for name, entry in config.remotes.items():
                    remotes[name] = Remote(
                        name=name,
                        provider=entry.provider,
                        url=entry.url,
                        token_env=entry.token_env or DEFAULT_TOKEN_ENV[entry.provider],
                        client_id=entry.client_id or ("local" if entry.provider == "deepen" and entry.url == LOCAL else None),
                    )
                    if entry.provider == "deepen" and entry.url != LOCAL and not entry.client_id:
                        diags.append(
                            doc.diagnostic(
                                ("remotes", name),
                                f"deepen remote {name!r} needs a clientId",
                                hint="add clientId: <your Deepen client id>",
                            )
                        )
                    if ":" not in entry.url and entry.url != LOCAL:
                        diags.append(
                            doc.diagnostic(("remotes", name, "url"), f"url {entry.url!r} is neither 'local' nor an http(s) URL")
                        )
    for name, remote in list(remotes.items()):
        override = env.get(env_var_for(name))
        client_id = env.get(env_var_for(name).removesuffix("_URL") + "_CLIENT_ID") or remote.client_id
        if override:
            if remote.provider == "deepen" and override != LOCAL and client_id in (None, "local"):
                diags.append(
                    Diagnostic(
                        env_var_for(name), 0, 0,
                        f"deepen remote {name!r} is pointed at {override} but has no clientId",
                        hint=f"also set {env_var_for(name).removesuffix('_URL')}_CLIENT_ID, or give the remote a clientId in labelsync.yaml",
                    )
                )
            remotes[name] = Remote(remote.name, remote.provider, override, remote.token_env, client_id, remote.builtin)
    return remotes, diags


_TOP_KEYS = ("remotes",)
_REMOTE_KEYS = ("provider", "url", "tokenEnv", "clientId")


def _config_diagnostic(doc: Document, err: Any) -> Diagnostic:
    """One pydantic error of ``labelsync.yaml`` in the user's words, like manifest errors:
    ``unknown field 'clientid' (did you mean 'clientId'?)`` at the key, not pydantic's text."""
    loc = tuple(err["loc"])
    kind = err.get("type", "")
    if kind == "extra_forbidden" and loc:
        key = str(loc[-1])
        allowed = _TOP_KEYS if len(loc) == 1 else _REMOTE_KEYS
        hint = did_you_mean(key, allowed)
        message = f"unknown field {key!r}{hint}" + ("" if hint else f"; allowed: {', '.join(allowed)}")
        return doc.diagnostic(loc, message, key=True)
    if kind == "missing" and loc:
        return doc.diagnostic(loc[:-1], f"missing required field {str(loc[-1])!r}")
    if loc and loc[-1] == "provider" and kind == "string_pattern_mismatch":
        value = str(err.get("input"))
        return doc.diagnostic(loc, f"{value!r} is not one of tensorbay, deepen{did_you_mean(value, ('tensorbay', 'deepen'))}")
    if kind in ("model_type", "dict_type"):
        return doc.diagnostic(loc, f"expected a mapping, got {json_type(err.get('input'))}")
    return doc.diagnostic(loc, err["msg"])


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
