"""Connecting to a remote: a provider bound to a url and a token, or to the embedded emulator.

A remote whose url is ``local`` (the built-in remotes, or no ``labelsync.yaml``) runs the
matching emulator in-process on an ephemeral loopback port, with its state under
``<root>/.labelsync/local/<provider>/``, so a newcomer can plan and apply with no account.
Otherwise the token is read from the remote's environment variable; it is never printed.
A token that cannot travel in an HTTP header (a line break, a control or non-ASCII
character: a token pasted with its newline or a typographic dash) is refused here with one
line naming the variable and the character, never the token (:func:`check_token`).
"""

from __future__ import annotations

import errno
import os
import sqlite3
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labelsync.errors import AuthError, ConfigError
from labelsync.manifest.remotes import Remote
from labelsync.providers.base import DEFAULT_JOBS, Provider
from labelsync.providers.registry import PROVIDERS

LOCAL_TOKEN = "Accesskey-labelsync-local"
"""The token of the embedded emulator (it only listens on loopback; not a secret)."""


@dataclass
class Connection:
    """A provider for one remote, plus the embedded server behind it (if any)."""

    remote: Remote
    provider: Provider
    server: Any = None
    url: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        self.provider.close()
        if self.server is not None:
            self.server.stop()


def local_state_dir(root: Path, provider: str) -> Path:
    """Where the embedded emulator of ``provider`` keeps its state for repository ``root``."""
    return root / ".labelsync" / "local" / provider


def connect(remote: Remote, root: Path, *, jobs: int = DEFAULT_JOBS) -> Connection:
    """Open a :class:`Connection` to ``remote`` (starting the embedded emulator if local)."""
    server = None
    if remote.is_local:
        server = _start_local(remote.provider, local_state_dir(root, remote.provider))
        url, token = server.url, LOCAL_TOKEN
    else:
        url = remote.url
        token = os.environ.get(remote.token_env, "")
        if not token:
            raise AuthError(
                f"remote '{remote.name}' needs a token: the environment variable {remote.token_env} is not set",
                hint=f"export {remote.token_env}=<your access key> (tokens never go in manifests)",
            )
        check_token(remote.token_env, token)
    try:
        provider = _provider(remote, url, token, jobs)
    except BaseException:
        if server is not None:
            server.stop()
        raise
    return Connection(remote=remote, provider=provider, server=server, url=url)


def _char(ch: str) -> str:
    names = {"\n": "a newline (\\n)", "\r": "a carriage return (\\r)", "\t": "a tab", " ": "a space"}
    return names.get(ch) or f"U+{ord(ch):04X} ({unicodedata.name(ch, 'unnamed')})"


def check_token(env: str, token: str) -> None:
    """Refuse a token an HTTP header cannot carry; the message names ``env`` and the first
    bad character (and where it is), never the token itself."""
    if token.strip() and token.strip() != token:
        end, ch = ("ends", token[-1]) if token.rstrip() != token else ("starts", token[0])
        raise AuthError(
            f"the token in ${env} {end} with {_char(ch)}; a token cannot hold whitespace",
            hint=f"set {env} again without it, e.g. export {env}=\"$(tr -d '[:space:]' < token-file)\"",
        )
    for pos, ch in enumerate(token, 1):
        if not (ch.isascii() and ch.isprintable()) or ch == " ":
            kind = "non-ASCII" if not ch.isascii() else "control" if not ch.isprintable() else "whitespace"
            raise AuthError(
                f"the token in ${env} holds a {kind} character, {_char(ch)}, at position {pos} of {len(token)}; "
                "HTTP headers carry printable ASCII only",
                hint=f"copy the token again from the provider's console into {env} (a pasted token may carry a "
                "typographic dash or quote)",
            )


def _start_local(provider: str, state: Path) -> Any:
    from labelsync.emulator.runtime import EmbeddedServer

    spec = PROVIDERS[provider]
    if spec.emulator is None:
        raise ConfigError(
            f"{spec.title} has no local emulator: a {provider} remote needs a url",
            hint="give the remote a url in labelsync.yaml",
        )
    try:
        state.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot keep the local emulator's state in {state}: {exc.strerror or exc}",
            hint="run labelsync from a writable checkout, or point the remote at a server (labelsync.yaml)",
        ) from exc
    try:
        app = spec.emulator_module().create_app(state, tokens=[LOCAL_TOKEN])
    except (sqlite3.Error, OSError) as exc:
        raise unusable_local_state(state, exc) from None
    return EmbeddedServer(app).start()


def unusable_local_state(state: Path, exc: BaseException) -> ConfigError:
    """The one-line error for local-remote state that cannot be opened or written."""
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
    where = f"{exc.filename}" if isinstance(exc, OSError) and exc.filename else str(state)
    full = isinstance(exc, OSError) and exc.errno == errno.ENOSPC or "disk is full" in reason
    hint = (
        "free some disk space and run again"
        if full
        else f"the local remote only holds what apply sent it: move {state} aside (or delete it) and apply again"
    )
    return ConfigError(f"the local remote's state cannot be used: {where}: {reason}", hint=hint)


def _provider(remote: Remote, url: str, token: str, jobs: int) -> Provider:
    spec = PROVIDERS.get(remote.provider)
    if spec is None:
        raise ConfigError(f"remote '{remote.name}': unknown provider {remote.provider!r}", hint=f"use one of {', '.join(PROVIDERS)}")
    provider: Provider = spec.load("connect")(remote, url, token, jobs=jobs)
    return provider


class Connections:
    """One connection per remote name, opened on first use, all closed together."""

    def __init__(self, remotes: dict[str, Remote], root: Path, *, jobs: int = DEFAULT_JOBS) -> None:
        self.remotes = remotes
        self.root = root
        self.jobs = jobs
        self._open: dict[str, Connection] = {}

    def get(self, name: str) -> Connection:
        if name not in self._open:
            remote = self.remotes.get(name)
            if remote is None:
                known = ", ".join(sorted(self.remotes))
                raise ConfigError(f"unknown remote '{name}'", hint=f"name one of: {known} (or add it to labelsync.yaml)")
            self._open[name] = connect(remote, self.root, jobs=self.jobs)
        return self._open[name]

    def close(self) -> None:
        for conn in self._open.values():
            conn.close()
        self._open.clear()

    def __enter__(self) -> Connections:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
