"""Making a plan: read each desired dataset's live state and diff it (the differ is pure).

Also records where the plan comes from (the git repository and commit of the manifests),
so the commit labelsync makes names its source.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from labelsync.engine.connect import Connections
from labelsync.plan.differ import build_dataset_plan
from labelsync.plan.model import DatasetPlan, Plan
from labelsync.plan.renameplan import plan_renames
from labelsync.plan.stats import plan_stats
from labelsync.providers.base import Provider
from labelsync.providers.registry import PROVIDERS
from labelsync.state import Desired, Live


def make_plan(
    desired: Sequence[Desired], connections: Connections, root: Path, *, tag: str | None = None,
    lives: Mapping[tuple[str, str], Live] | None = None,
) -> Plan:
    """The plan that turns every dataset's live state into ``desired`` (manifest order).

    ``tag`` names the commit of every versioned dataset with changes (see :func:`plan_dataset`).
    ``lives``: live states already read, by ``(remote, dataset name)`` (not read again).
    """
    datasets = []
    for want in desired:
        known = (lives or {}).get((want.dataset.remote, want.dataset.name))
        _, planned = plan_dataset(want, connections.get(want.dataset.remote).provider, root, tag=tag, live=known)
        datasets.append(replace(planned, manifest=_root_relative(want.manifest, root)))
    return Plan(
        datasets=tuple(datasets),
        created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        root=str(root),
        source=git_source(root),
    )


def plan_dataset(
    want: Desired, provider: Provider, root: Path, *, tag: str | None = None, live: Live | None = None
) -> tuple[Live, DatasetPlan]:
    """Read ``want``'s live state (unless ``live`` gives it) and plan it: ``(live, plan)``.

    A plan proven a no-op by the recorded digest (``noop_proven``) carries no ``stats``
    and never reads the desired items, so an unchanged tree is not looked up file by file.

    The tag is part of the plan of a dataset with changes on a provider with tags
    (tensorbay); a tag that already exists there blocks the plan, so apply refuses it before
    anything is written. Other providers, and datasets with no changes, get no tag.
    """
    live = live if live is not None else provider.read_live(want)
    capabilities = PROVIDERS[want.dataset.provider].capabilities
    planned = build_dataset_plan(want, live, root=str(root), capabilities=capabilities)
    if not planned.noop_proven:
        # A proven no-op has no statistics to show (before equals after), and counting them
        # would build every item that its recorded digest made unnecessary (LazyItems).
        live_side = live.dataset if live.complete else want.dataset
        planned = replace(planned, stats=plan_stats(live_side, want.dataset))
    planned = plan_renames(planned, want, live, capabilities, root=str(root))
    if tag and planned.has_changes and capabilities.versioned:
        planned = replace(planned, tag=tag)
        problem = provider.tag_problem(live, want.dataset.name, tag)
        if problem is not None:
            planned = replace(planned, blocked=(*planned.blocked, problem))
    return live, planned


def _root_relative(where: str, root: Path) -> str:
    """``file:line`` (file relative to the working directory) made relative to ``root``.

    Saved plans name their manifests relative to the repository root, so ``apply PLANFILE``
    finds them whatever directory it runs from.
    """
    path, sep, line = where.rpartition(":")
    if not sep or not line.isdigit():
        path, line = where, ""
    try:
        rel = (Path.cwd() / path).resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError):
        return where
    return f"{rel}:{line}" if line else rel


_CREDENTIALS = re.compile(r"//[^/@]*@")


def git_output(root: Path, *args: str) -> str:
    """``git ARGS`` in ``root``, stripped; ``""`` outside git or when git is missing or fails."""
    try:
        out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def git_source(root: Path) -> dict[str, str]:
    """``{"repository", "commit"}`` of the git checkout at ``root`` ({} outside git).

    Credentials embedded in a remote url (``https://user:token@host``) are removed.
    """
    commit = git_output(root, "rev-parse", "HEAD")
    if not commit:
        return {}
    repository = _CREDENTIALS.sub("//", git_output(root, "config", "--get", "remote.origin.url"))
    out = {"commit": commit}
    if repository:
        out["repository"] = repository
    return out
