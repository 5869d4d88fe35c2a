"""``labelsync emulator <provider>``: run a provider's local emulator in the foreground.

One subcommand per registered provider that has an emulator
(:class:`~labelsync.providers.contract.EmulatorSpec`). Each takes ``--host`` (default
127.0.0.1), ``--port``, ``--data-dir`` (state kept across restarts), ``--token``
(repeatable; default from the provider's token variable, else the emulator's documented
local token), the fault knobs ``--latency-ms``, ``--fail-rate`` and ``--seed``, and
``--client-bandwidth`` (e.g. ``10MB/s``: the request bodies each source address may send per
second, one machine's uplink; see :mod:`labelsync.emulator.bandwidth`); an
emulator that can serve HTTPS also takes ``--certfile``/``--keyfile`` (the official
TensorBay SDK only accepts https URLs); one whose upload route can run in worker processes
also takes ``--storage-workers N`` (N processes serve the uploads on a port of their own,
``--storage-port``, default any free one; they end with the emulator). On startup each prints the URL it serves and the
exact environment a labelsync client needs to use it, ready to copy: the remote's URL
override ``LABELSYNC_REMOTE_<NAME>_URL``, the provider settings the emulator needs (e.g.
``LABELSYNC_REMOTE_<NAME>_CLIENT_ID``) and the token variable (the remote's ``tokenEnv``
from ``labelsync.yaml``, else the provider's). ``--remote NAME`` picks the remote (default
``default`` for the default provider, else the provider's name). A token given with
``--token`` or through the environment is never printed: the line shows a placeholder.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from labelsync.providers.contract import ProviderSpec


def client_environment(
    remote_name: str, url: str, spec: ProviderSpec, tokens: tuple[str, ...], local_token: str
) -> list[str]:
    """The ``export`` lines a labelsync client needs to reach ``spec``'s emulator at ``url``.

    The token variable is the remote's ``tokenEnv`` when the current repository's
    ``labelsync.yaml`` defines the remote, else the provider's default. The built-in local
    token (not a secret) is printed as is; a token the user chose is shown as a placeholder.
    """
    from labelsync.local.git import find_root
    from labelsync.manifest.remotes import env_var_for, read_remotes

    remotes, _ = read_remotes(find_root(Path.cwd()), environ={})
    remote = remotes.get(remote_name)
    token_env = remote.token_env if remote is not None and remote.provider == spec.name else spec.token_env
    lines = [f"export {env_var_for(remote_name)}={shlex.quote(url)}"]
    assert spec.emulator is not None
    for key, value in spec.emulator.client_settings.items():
        lines.append(f"export {env_var_for(remote_name, key)}={shlex.quote(value)}")
    token = shlex.quote(local_token) if not tokens else "'<the token given with --token>'"
    lines.append(f"export {token_env}={token}")
    return lines


def _print_environment(remote_name: str, lines: list[str]) -> None:
    click.echo(f"To point labelsync's remote {remote_name!r} at this emulator, set:")
    for line in lines:
        click.echo(f"  {line}")


def _bandwidth(ctx: click.Context, param: click.Parameter, value: str | None) -> float:
    """``--client-bandwidth`` in bytes/s (0 when not given)."""
    if value is None:
        return 0.0
    from labelsync.emulator.bandwidth import parse_rate

    try:
        return parse_rate(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


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
                "--client-bandwidth",
                callback=_bandwidth,
                default=None,
                metavar="RATE",
                help="Cap the request bodies of each source address (one machine's uplink), e.g. 10MB/s or 512KiB/s.",
            ),
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


class _Emulators(click.Group):
    """The ``emulator`` group: one subcommand per registered provider with an emulator, made
    when first listed or asked for (so ``labelsync --help`` does not import the registry)."""

    def _load(self) -> None:
        if getattr(self, "_loaded", False):
            return
        from labelsync.providers.registry import PROVIDERS

        for spec in PROVIDERS.values():
            if spec.emulator is not None and spec.name not in self.commands:
                self.add_command(_command(spec))
        self._loaded = True

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._load()
        return super().get_command(ctx, cmd_name)


@click.group("emulator", cls=_Emulators)
def emulator() -> None:
    """Run a local emulator of a labelling platform (for tests, benchmarks and trying things out)."""


def _command(spec: ProviderSpec) -> click.Command:
    """The ``labelsync emulator <name>`` subcommand of one provider."""
    from labelsync.providers.registry import DEFAULT_PROVIDER

    assert spec.emulator is not None
    emu = spec.emulator
    default_remote = "default" if spec.name == DEFAULT_PROVIDER else spec.name

    def run(
        host: str,
        port: int,
        data_dir: Path,
        tokens: tuple[str, ...],
        latency_ms: float,
        fail_rate: float,
        seed: int | None,
        client_bandwidth: float,
        remote_name: str,
        certfile: str | None = None,
        keyfile: str | None = None,
        storage_workers: int = 0,
        storage_port: int = 0,
    ) -> None:
        if bool(certfile) != bool(keyfile):
            raise click.UsageError("--certfile and --keyfile go together")
        if storage_workers and storage_port and storage_port == port:
            raise click.UsageError("--storage-port must differ from --port: the storage workers listen on a port of their own")
        if storage_workers and client_bandwidth:
            raise click.UsageError("--client-bandwidth caps one process's connections: it cannot be combined with --storage-workers")
        module = spec.emulator_module()
        from labelsync.emulator.runtime import FaultConfig  # the server stack loads on demand

        faults = FaultConfig(latency_ms=latency_ms, fail_rate=fail_rate, seed=seed, client_bandwidth=client_bandwidth)
        storage = None
        if storage_workers:
            try:
                storage = module.StorageHost(
                    data_dir, storage_workers, host=host, port=storage_port, faults=faults, ssl_certfile=certfile, ssl_keyfile=keyfile
                ).start()
            except OSError as exc:
                raise click.ClickException(f"cannot serve the storage host on {host}:{storage_port}: {exc.strerror or exc}") from None
        try:
            _serve(module, data_dir, tokens, faults, storage, host, port, certfile, keyfile, remote_name)
        finally:
            if storage is not None:
                storage.stop()

    def _serve(
        module: Any,
        data_dir: Path,
        tokens: tuple[str, ...],
        faults: Any,
        storage: Any,
        host: str,
        port: int,
        certfile: str | None,
        keyfile: str | None,
        remote_name: str,
    ) -> None:
        from labelsync.emulator.runtime import serve_forever

        client_bandwidth = faults.client_bandwidth
        if storage is None:
            app = module.create_app(data_dir, tokens=list(tokens), faults=faults)
        else:
            app = module.create_app(data_dir, tokens=list(tokens), faults=faults, storage_port=storage.port)
        scheme = "https" if certfile else "http"
        url = f"{scheme}://{host}:{port}{emu.client_path}"
        served = f"{scheme}://{host}:{port}{emu.api_path or emu.client_path}"
        click.echo(f"{spec.title} emulator serving {served} (remote url {url}, state in {data_dir})")
        if client_bandwidth:
            click.echo(f"Request bodies capped at {client_bandwidth / 1e6:g} MB/s per source address")
        click.echo(f"Tokens: {'as given' if tokens else f'the built-in local token {module.LOCAL_TOKEN}'}")
        _print_environment(remote_name, client_environment(remote_name, url, spec, tokens, module.LOCAL_TOKEN))
        if storage is not None:
            pids = ",".join(str(pid) for pid in storage.pids)
            click.echo(f"Uploads served at {storage.url}/storage/upload by {storage.workers} storage workers (pids {pids})")
        serve_forever(app, host=host, port=port, ssl_certfile=certfile, ssl_keyfile=keyfile)

    run.__doc__ = f"Serve the {spec.title} emulator."
    fn: Any = _common(emu.port, f".labelsync/local/{spec.name}", spec.token_env, default_remote)(run)
    if emu.tls:
        fn = click.option("--keyfile", type=click.Path(exists=True, dir_okay=False), default=None, help="TLS private key (HTTPS).")(fn)
        fn = click.option("--certfile", type=click.Path(exists=True, dir_okay=False), default=None, help="TLS certificate (HTTPS).")(fn)
    if emu.storage_workers:
        fn = click.option(
            "--storage-port", type=int, default=0, show_default=True, help="Port of the storage workers (0: any free one)."
        )(fn)
        fn = click.option(
            "--storage-workers",
            type=click.IntRange(0, 64),
            default=0,
            show_default=True,
            help="Serve the upload route from N processes of their own, in parallel like a real object store (0: on the emulator).",
        )(fn)
    return click.command(spec.name)(fn)


COMMANDS: list[click.Command] = [emulator]
