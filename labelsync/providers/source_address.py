"""``LABELSYNC_SOURCE_ADDRESS``: the local IP address every connection to a remote binds.

Unset (the default), the operating system picks the source address. Set, e.g.
``LABELSYNC_SOURCE_ADDRESS=127.0.0.2``, every connection labelsync opens (the API client of
:func:`~labelsync.providers.http.make_client`, the upload pool's
:class:`~labelsync.providers.transport.Connections`, proxied or not) is bound to that address
(port chosen by the system): a machine with several interfaces picks its uplink, and the
sharding benchmark gives each shard process its own loopback address, so the emulator's
per-client bandwidth cap sees each shard as a separate machine.

A value that is not an IP address, or not one of this machine's, is a
:class:`~labelsync.errors.UsageError` naming the variable (checked by binding a socket
once), instead of every connection failing later.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import socket

from labelsync.errors import UsageError

__all__ = ["ENV", "source_address"]

ENV = "LABELSYNC_SOURCE_ADDRESS"


def source_address() -> str | None:
    """The address to bind from ``LABELSYNC_SOURCE_ADDRESS``, or None to let the system pick."""
    raw = os.environ.get(ENV, "").strip()
    return _checked(raw) if raw else None


@functools.lru_cache(maxsize=8)
def _checked(raw: str) -> str:
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        raise UsageError(
            f"{ENV}={raw!r} is not an IP address", hint=f"set {ENV} to one of this machine's addresses, e.g. 127.0.0.2, or unset it"
        ) from None
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((str(address), 0))
    except OSError as exc:
        raise UsageError(
            f"{ENV}={raw!r} is not an address of this machine ({exc.strerror or exc})",
            hint=f"set {ENV} to an address of one of this machine's interfaces, or unset it",
        ) from None
    return str(address)
