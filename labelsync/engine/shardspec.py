"""The sharded apply's file (``shards.json``) and which shard a remote path belongs to.

``labelsync apply --prepare -o shards.json --shards N`` writes a :class:`ShardSpec`; every
``--shard I/N`` and the ``--finish`` read it. It holds what the shards need besides the
manifests and the data (no secret: the token comes from the environment as usual):

* the dataset, its manifest (relative to the repository root) and the remote's name;
* ``base``: the branch head the shards write on top of; ``prepared``: the provider's lock
  state (TensorBay: the dataset id, the draft number and the lock's run id);
* ``desired``: the dataset's desired metadata (kind, branch, settings, notes, catalog,
  segments and their sensors, prune), from which ``--finish`` computes the desired digest
  together with the shard reports, without reading any data file;
* ``run``: the sharded apply's id; reports of another run are never counted;
* ``live``: where each shard's share of the remote's items at ``base`` is
  (:mod:`labelsync.engine.shardlive`: the file next to this one, and a fingerprint of each
  shard's section); empty in a file of an older labelsync (the shards list the remote).

:func:`shard_of` is the partition: ``sha1(remote path) mod N``, 1-based, stable across
processes, machines and Python versions (never ``hash()``, which is salted per process).
Pure: no I/O but :func:`read_spec`/:func:`spec_json`'s text.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from labelsync.errors import UsageError

FORMAT = "labelsync-shards/v1"
MAX_SHARDS = 10_000


@dataclass(frozen=True)
class ShardSpec:
    """What ``--prepare`` recorded (see the module docstring)."""

    run: str
    shards: int
    dataset: str
    manifest: str
    remote: str
    provider: str
    branch: str
    base: str | None
    prepared: dict[str, Any]
    desired: dict[str, Any]
    root: str = ""
    remote_url: str = ""
    message: str = ""
    source: dict[str, str] = field(default_factory=dict)
    live: dict[str, Any] = field(default_factory=dict)


def shard_of(remote_path: str, shards: int) -> int:
    """The 1-based shard (of ``shards``) that writes ``remote_path``."""
    digest = hashlib.sha1(remote_path.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % shards + 1


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` -> ``(I, N)`` with ``1 <= I <= N``; :class:`UsageError` otherwise."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)) <= MAX_SHARDS:
        raise UsageError(f"--shard {text!r} is not I/N with 1 <= I <= N", hint="e.g. --shard 1/4 (shards are numbered from 1)")
    return int(m.group(1)), int(m.group(2))


def spec_json(spec: ShardSpec) -> str:
    """The file's text (stable key order)."""
    return json.dumps({"format": FORMAT, **asdict(spec)}, indent=2, sort_keys=True) + "\n"


def read_spec(text: str, *, origin: str) -> ShardSpec:
    """Parse a ``shards.json``; :class:`UsageError` naming ``origin`` when it is not one."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{origin}: not a shards file ({exc})", hint="write it with labelsync apply --prepare -o FILE") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UsageError(
            f"{origin}: not a {FORMAT} file", hint="write it with labelsync apply --prepare -o FILE (this version of labelsync)"
        )
    data.pop("format")
    try:
        spec = ShardSpec(**data)
    except TypeError as exc:
        raise UsageError(f"{origin}: malformed shards file ({exc})", hint="prepare again: labelsync apply --prepare -o FILE") from exc
    if not isinstance(spec.shards, int) or not 1 <= spec.shards <= MAX_SHARDS:
        raise UsageError(f"{origin}: bad shard count {spec.shards!r}", hint="prepare again with --shards N")
    return spec
