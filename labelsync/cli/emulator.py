"""``labelsync emulator tensorbay|deepen``: run a local emulator in the foreground.

Both subcommands take ``--host`` (default 127.0.0.1), ``--port``, ``--data-dir`` (state
kept across restarts), ``--token`` (repeatable; default from ``TENSORBAY_ACCESS_KEY`` /
``DEEPEN_API_TOKEN``, else the emulator's documented local token), and the fault knobs
``--latency-ms``, ``--fail-rate`` and ``--seed``. ``tensorbay`` also takes
``--certfile``/``--keyfile`` to serve HTTPS (the official SDK only accepts https URLs).
The URL being served is printed on startup.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import click


def _common(default_port: int, default_dir: str, token_env: str) -> Any:
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
        ]
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate


@click.group("emulator")
def emulator() -> None:
    """Run a local emulator of a labelling platform (for tests, benchmarks and trying things out)."""


@emulator.command("tensorbay")
@_common(18081, ".labelsync/local/tensorbay", "TENSORBAY_ACCESS_KEY")
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
    serve_forever(app, host=host, port=port, ssl_certfile=certfile, ssl_keyfile=keyfile)


@emulator.command("deepen")
@_common(18082, ".labelsync/local/deepen", "DEEPEN_API_TOKEN")
def deepen(
    host: str,
    port: int,
    data_dir: Path,
    tokens: tuple[str, ...],
    latency_ms: float,
    fail_rate: float,
    seed: int | None,
) -> None:
    """Serve the Deepen AI API emulator."""
    module = importlib.import_module("labelsync.emulator.deepen")
    from labelsync.emulator.runtime import FaultConfig, serve_forever  # the server stack loads on demand

    faults = FaultConfig(latency_ms=latency_ms, fail_rate=fail_rate, seed=seed)
    app = module.create_app(data_dir, tokens=list(tokens), faults=faults)
    click.echo(f"Deepen emulator serving http://{host}:{port}/ (state in {data_dir})")
    serve_forever(app, host=host, port=port)


COMMANDS: list[click.Command] = [emulator]
