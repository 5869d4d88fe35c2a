"""``labelsync emulator tensorbay|deepen``: run a local emulator in the foreground.

Both subcommands take ``--host`` (default 127.0.0.1), ``--port``, ``--data-dir`` (state
kept across restarts), ``--token`` (repeatable; default from ``TENSORBAY_ACCESS_KEY`` /
``DEEPEN_API_TOKEN``, else the emulator's documented local token), and the fault knobs
``--latency-ms``, ``--fail-rate`` and ``--seed``. ``tensorbay`` also takes
``--certfile``/``--keyfile`` to serve HTTPS (the official SDK only accepts https URLs).
On startup each prints the URL it serves and the exact environment a labelsync client
needs to use it, ready to copy: the remote's URL override ``LABELSYNC_REMOTE_<NAME>_URL``,
the token variable (the remote's ``tokenEnv`` from ``labelsync.yaml``, else
``TENSORBAY_ACCESS_KEY`` / ``DEEPEN_API_TOKEN``) and, for Deepen,
``LABELSYNC_REMOTE_<NAME>_CLIENT_ID``. ``--remote NAME`` picks the remote (default
``default`` for tensorbay, ``deepen`` for deepen). A token given with ``--token`` or through
the environment is never printed: the line shows a placeholder instead.
"""

from __future__ import annotations

import importlib
import shlex
from pathlib import Path
from typing import Any

import click

EMULATOR_CLIENT_ID = "emulator"
"""The client id printed for the Deepen emulator (it accepts any client id)."""


def client_environment(
    remote_name: str, url: str, provider: str, tokens: tuple[str, ...], local_token: str
) -> list[str]:
    """The ``export`` lines a labelsync client needs to reach an emulator at ``url``.

    The token variable is the remote's ``tokenEnv`` when the current repository's
    ``labelsync.yaml`` defines the remote, else the provider's default. The built-in local
    token (not a secret) is printed as is; a token the user chose is shown as a placeholder.
    """
    from labelsync.manifest.remotes import DEFAULT_TOKEN_ENV, env_var_for, find_root, read_remotes

    remotes, _ = read_remotes(find_root(Path.cwd()), environ={})
    remote = remotes.get(remote_name)
    token_env = remote.token_env if remote is not None and remote.provider == provider else DEFAULT_TOKEN_ENV[provider]
    url_var = env_var_for(remote_name)
    lines = [f"export {url_var}={shlex.quote(url)}"]
    if provider == "deepen":
        lines.append(f"export {url_var.removesuffix('_URL')}_CLIENT_ID={EMULATOR_CLIENT_ID}")
    token = shlex.quote(local_token) if not tokens else "'<the token given with --token>'"
    lines.append(f"export {token_env}={token}")
    return lines


def _print_environment(remote_name: str, lines: list[str]) -> None:
    click.echo(f"To point labelsync's remote {remote_name!r} at this emulator, set:")
    for line in lines:
        click.echo(f"  {line}")


def _common(default_port: int, default_dir: str, token_env: str, default_remote: str) -> Any:
    def decorate(fn: Any) -> Any:
        options = [
            click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on."),
            click.option("--port", type=int, default=default_port, show_default=True, help="TCP port."),
            click.option(
                "--data-dir",
                type=click.Path(file_okay=False, path_type=Path),
                default=default_dir,
                show_default=True,
                help="Where the emulator keeps its state (kept across restarts).",
            ),
            click.option(
                "--token",
                "tokens",
                multiple=True,
                envvar=token_env,
                help=f"Accepted access token (repeatable). Default: ${token_env}, else the built-in local token.",
            ),
            click.option("--latency-ms", type=float, default=0.0, show_default=True, help="Latency added to every request."),
            click.option(
                "--fail-rate",
                type=click.FloatRange(0.0, 1.0),
                default=0.0,
                show_default=True,
                help="Share of requests answered with 500/503/429 or a dropped connection.",
            ),
            click.option("--seed", type=int, default=None, help="Seed of the fault injection (reproducible runs)."),
            click.option(
                "--remote",
                "remote_name",
                default=default_remote,
                show_default=True,
                help="The labelsync remote the printed client environment points at this emulator.",
            ),
        ]
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate


@click.group("emulator")
def emulator() -> None:
    """Run a local emulator of a labelling platform (for tests, benchmarks and trying things out)."""


@emulator.command("tensorbay")
@_common(18081, ".labelsync/local/tensorbay", "TENSORBAY_ACCESS_KEY", "default")
@click.option("--certfile", type=click.Path(exists=True, dir_okay=False), default=None, help="TLS certificate (HTTPS).")
@click.option("--keyfile", type=click.Path(exists=True, dir_okay=False), default=None, help="TLS private key (HTTPS).")
def tensorbay(
    host: str,
    port: int,
    data_dir: Path,
    tokens: tuple[str, ...],
    latency_ms: float,
    fail_rate: float,
    seed: int | None,
    remote_name: str,
    certfile: str | None,
    keyfile: str | None,
) -> None:
    """Serve the TensorBay Open API v1 emulator."""
    from labelsync.emulator.tensorbay import API_PREFIX, LOCAL_TOKEN, create_app

    if bool(certfile) != bool(keyfile):
        raise click.UsageError("--certfile and --keyfile go together")
    from labelsync.emulator.runtime import FaultConfig, serve_forever  # the server stack loads on demand

    faults = FaultConfig(latency_ms=latency_ms, fail_rate=fail_rate, seed=seed)
    app = create_app(data_dir, tokens=list(tokens), faults=faults)
    scheme = "https" if certfile else "http"
    click.echo(f"TensorBay emulator serving {scheme}://{host}:{port}{API_PREFIX}/ (service URL {scheme}://{host}:{port}/)")
    click.echo(f"State in {data_dir}; tokens: {'as given' if tokens else f'the built-in local token {LOCAL_TOKEN}'}")
    service = f"{scheme}://{host}:{port}/"
    _print_environment(remote_name, client_environment(remote_name, service, "tensorbay", tokens, LOCAL_TOKEN))
    serve_forever(app, host=host, port=port, ssl_certfile=certfile, ssl_keyfile=keyfile)


@emulator.command("deepen")
@_common(18082, ".labelsync/local/deepen", "DEEPEN_API_TOKEN", "deepen")
def deepen(
    host: str,
    port: int,
    data_dir: Path,
    tokens: tuple[str, ...],
    latency_ms: float,
    fail_rate: float,
    seed: int | None,
    remote_name: str,
) -> None:
    """Serve the Deepen AI API emulator."""
    module = importlib.import_module("labelsync.emulator.deepen")
    from labelsync.emulator.runtime import FaultConfig, serve_forever  # the server stack loads on demand

    faults = FaultConfig(latency_ms=latency_ms, fail_rate=fail_rate, seed=seed)
    app = module.create_app(data_dir, tokens=list(tokens), faults=faults)
    api = f"http://{host}:{port}/api/v2"
    click.echo(f"Deepen emulator serving {api} (state in {data_dir})")
    click.echo(f"Tokens: {'as given' if tokens else f'the built-in local token {module.LOCAL_TOKEN}'}")
    _print_environment(remote_name, client_environment(remote_name, api, "deepen", tokens, module.LOCAL_TOKEN))
    serve_forever(app, host=host, port=port)


COMMANDS: list[click.Command] = [emulator]
