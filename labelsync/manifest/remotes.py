"""``labelsync.yaml``: the remotes a repository's manifests name.

Format (at the repository root)::

    remotes:
      default:   {provider: tensorbay, url: "https://gas.graviti.com/", tokenEnv: TENSORBAY_ACCESS_KEY}
      labellers: {provider: deepen, url: "https://tools.deepen.ai/api/v2", clientId: acme}
      scratch:   {provider: tensorbay, url: local}

* ``provider`` names a registered provider (:data:`labelsync.providers.registry.PROVIDERS`;
  required).
* ``url`` is the service base; ``local`` (the default) means the embedded emulator.
* ``tokenEnv`` names the environment variable holding the token (default: the provider's,
  e.g. ``TENSORBAY_ACCESS_KEY``). Tokens never appear in the file.
* Any other key is a provider setting of the remote (e.g. Deepen's ``clientId``), validated
  by the provider's :class:`~labelsync.providers.contract.RemoteSettings` model; settings the
  model lists in ``required_for_servers`` must be given unless the url is ``local``, where
  the provider's ``local_remote_defaults`` fill them in.

Built-in remotes apply when the file does not define a remote of that name: ``default``
(the default provider) and one per provider that has an emulator, named after it, all
local. So the examples work with no ``labelsync.yaml`` at all.

The environment overrides the file: ``LABELSYNC_REMOTE_<NAME>_URL`` (``NAME`` upper-cased,
``-`` as ``_``) replaces a remote's url, and ``LABELSYNC_REMOTE_<NAME>_<SETTING>`` a
provider setting (``clientId`` -> ``CLIENT_ID``), which a built-in remote pointed at a real
server may need.

This module reads files and the environment but never the network.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from labelsync.diagnostics import Diagnostic, json_type
from labelsync.errors import ConfigError
from labelsync.manifest.load import Document, read_documents
from labelsync.manifest.schema import did_you_mean
from labelsync.providers.registry import DEFAULT_PROVIDER, PROVIDERS

CONFIG_FILE = "labelsync.yaml"
LOCAL = "local"


@dataclass(frozen=True, slots=True)
class Remote:
    """A named remote: which provider, where, which environment variable holds the token,
    and the provider's own settings of the remote (keys as in ``labelsync.yaml``)."""

    name: str
    provider: str
    url: str = LOCAL
    token_env: str = ""
    settings: Mapping[str, Any] = field(default_factory=dict)
    builtin: bool = False
    """True for the built-in remotes (no ``labelsync.yaml`` entry)."""

    @property
    def is_local(self) -> bool:
        """True when the remote is the embedded emulator (url ``local``)."""
        return self.url == LOCAL

    def setting(self, key: str) -> Any:
        """One provider setting (``None`` when not given)."""
        return self.settings.get(key)


def _builtin(name: str, provider: str) -> Remote:
    spec = PROVIDERS[provider]
    return Remote(name, provider, LOCAL, spec.token_env, dict(spec.local_remote_defaults), builtin=True)


BUILTIN_REMOTES: dict[str, Remote] = {
    "default": _builtin("default", DEFAULT_PROVIDER),
    **{name: _builtin(name, name) for name, spec in PROVIDERS.items() if spec.emulator},
}
"""The remotes every repository has unless ``labelsync.yaml`` redefines them."""

_CORE_KEYS = ("provider", "url", "tokenEnv")


class _RemoteEntry(BaseModel):
    """The provider-neutral keys of one remote; the rest go to the provider's model."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True, populate_by_name=True)

    provider: str
    url: str = Field(LOCAL, min_length=1)
    token_env: str | None = Field(None, alias="tokenEnv", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")


def env_var_for(name: str, setting: str = "url") -> str:
    """The environment variable that overrides remote ``name``'s url (or another setting:
    ``clientId`` -> ``LABELSYNC_REMOTE_<NAME>_CLIENT_ID``)."""
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", setting).upper()
    return "LABELSYNC_REMOTE_" + name.upper().replace("-", "_") + "_" + snake


def find_root(start: Path, *, git_toplevel: Callable[[Path], Path | None] | None = None) -> Path:
    """The repository root for ``start`` (a file or directory).

    The nearest ancestor holding ``labelsync.yaml``; else the nearest holding ``.git``; else
    what ``git_toplevel`` (e.g. :func:`labelsync.local.git.toplevel`, which runs git) answers
    for it; else ``start`` (its directory, when ``start`` is a file). This module runs no
    programs: without ``git_toplevel`` that step is skipped.
    """
    start = start.resolve()
    base = start if start.is_dir() else start.parent
    for candidate in (base, *base.parents):
        if (candidate / CONFIG_FILE).is_file():
            return candidate
    for candidate in (base, *base.parents):
        if (candidate / ".git").exists():
            return candidate
    top = git_toplevel(base) if git_toplevel is not None else None
    return top if top is not None else base


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
            hint=f"fix labelsync.yaml (remotes: {{name: {{provider: {'|'.join(PROVIDERS)}, url: ..., tokenEnv: ...}}}})",
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
            diags += _read_config(doc, remotes)
    for name, remote in list(remotes.items()):
        remote, problems = _overridden(remote, env)
        remotes[name] = remote
        diags += problems
    return remotes, diags


def _read_config(doc: Document, remotes: dict[str, Remote]) -> list[Diagnostic]:
    """Add the remotes of ``labelsync.yaml`` (``doc``) to ``remotes``; its problems."""
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        return [doc.diagnostic((), f"expected a mapping with 'remotes', got {json_type(data)}")]
    diags: list[Diagnostic] = []
    entries = data.get("remotes", {})
    if not isinstance(entries, dict):
        diags.append(doc.diagnostic(("remotes",), f"expected a mapping, got {json_type(entries)}"))
        entries = {}
    for name, raw in entries.items():
        if not isinstance(raw, dict):
            diags.append(doc.diagnostic(("remotes", name), f"expected a mapping, got {json_type(raw)}"))
            continue
        remote, problems = _remote(doc, str(name), raw)
        diags += problems
        if remote is not None:
            remotes[str(name)] = remote
    for key in data:
        if key not in _TOP_KEYS:
            hint = did_you_mean(str(key), _TOP_KEYS)
            message = f"unknown field {key!r}{hint}" + ("" if hint else f"; allowed: {', '.join(_TOP_KEYS)}")
            diags.append(doc.diagnostic((key,), message, key=True))
    return diags


def _remote(doc: Document, name: str, raw: dict[str, Any]) -> tuple[Remote | None, list[Diagnostic]]:
    """The remote of one ``labelsync.yaml`` entry, with the problems of its keys."""
    where = ("remotes", name)
    try:
        entry = _RemoteEntry.model_validate(raw)
    except ValidationError as exc:
        return None, [_config_diagnostic(doc, err, where) for err in exc.errors()]
    spec = PROVIDERS.get(entry.provider)
    if spec is None:
        message = f"{entry.provider!r} is not one of {', '.join(PROVIDERS)}{did_you_mean(entry.provider, PROVIDERS)}"
        return None, [doc.diagnostic(where + ("provider",), message)]
    extra = dict(entry.model_extra or {})
    try:
        spec.remote_model.model_validate(extra)
    except ValidationError as exc:
        allowed = (*_CORE_KEYS, *_aliases(spec.remote_model))
        return None, [_config_diagnostic(doc, err, where, allowed) for err in exc.errors()]
    problems: list[Diagnostic] = []
    if ":" not in entry.url and entry.url != LOCAL:
        problems.append(doc.diagnostic(where + ("url",), f"url {entry.url!r} is neither 'local' nor an http(s) URL"))
    refused = spec.remote_model.url_problem(entry.url)
    if refused is not None:
        problems.append(doc.diagnostic(where + ("url",) if "url" in raw else where, f"remote {name!r}: {refused[0]}", hint=refused[1]))
    settings = {**(spec.local_remote_defaults if entry.url == LOCAL else {}), **extra}
    for key in spec.remote_model.required_for_servers:
        if entry.url != LOCAL and not settings.get(key):
            problems.append(
                doc.diagnostic(where, f"{spec.name} remote {name!r} needs a {key}", hint=f"add {key}: <your {spec.title} {key}>")
            )
    token_env = entry.token_env or spec.token_env
    return Remote(name, entry.provider, entry.url, token_env, settings), problems


def _overridden(remote: Remote, env: Mapping[str, str]) -> tuple[Remote, list[Diagnostic]]:
    """``remote`` with the environment's overrides of its url and provider settings."""
    spec = PROVIDERS[remote.provider]
    url = env.get(env_var_for(remote.name)) or remote.url
    settings = dict(remote.settings)
    for key in _aliases(spec.remote_model):
        value = env.get(env_var_for(remote.name, key))
        if value:
            settings[key] = value
    if url == remote.url and settings == dict(remote.settings):
        return remote, []
    problems = []
    refused = spec.remote_model.url_problem(url) if url != remote.url else None
    if refused is not None:
        problems.append(Diagnostic(env_var_for(remote.name), 0, 0, f"remote {remote.name!r}: {refused[0]}", hint=refused[1]))
    if url != LOCAL:
        for key in spec.remote_model.required_for_servers:
            if not settings.get(key) or settings.get(key) == spec.local_remote_defaults.get(key):
                problems.append(
                    Diagnostic(
                        env_var_for(remote.name), 0, 0,
                        f"{spec.name} remote {remote.name!r} is pointed at {url} but has no {key}",
                        hint=f"also set {env_var_for(remote.name, key)}, or give the remote a {key} in labelsync.yaml",
                    )
                )
    return Remote(remote.name, remote.provider, url, remote.token_env, settings, remote.builtin), problems


def _aliases(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


_TOP_KEYS = ("remotes",)


def _config_diagnostic(doc: Document, err: Any, base: tuple[str, ...], allowed: tuple[str, ...] = _CORE_KEYS) -> Diagnostic:
    """One pydantic error of ``labelsync.yaml`` in the user's words, like manifest errors:
    ``unknown field 'clientid' (did you mean 'clientId'?)`` at the key, not pydantic's text.
    ``base`` prefixes the error's location (errors of a provider's remote model)."""
    loc = base + tuple(err["loc"])
    kind = err.get("type", "")
    if kind == "extra_forbidden" and loc:
        key = str(loc[-1])
        hint = did_you_mean(key, allowed)
        message = f"unknown field {key!r}{hint}" + ("" if hint else f"; allowed: {', '.join(allowed)}")
        return doc.diagnostic(loc, message, key=True)
    if kind == "missing" and loc:
        return doc.diagnostic(loc[:-1], f"missing required field {str(loc[-1])!r}")
    if kind in ("model_type", "dict_type"):
        return doc.diagnostic(loc, f"expected a mapping, got {json_type(err.get('input'))}")
    return doc.diagnostic(loc, err["msg"])


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
