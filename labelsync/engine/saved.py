"""Checking a saved plan before it is applied: a plan file is untrusted input.

In the documented flow a pull request's plan artifact is applied on merge, so anyone who can
write the artifact could otherwise make apply read any file and record a digest that hides
what was really sent. :func:`check_saved_plan` refuses a plan (one line, exit 1) unless:

1. every ``source`` path it names (data files, mask files, Deepen replace items) resolves
   inside the repository by the rules manifests follow (:mod:`labelsync.local.paths`: no
   absolute path, no ``..`` climbing out, no symlink leading out);
2. each dataset's ``desired_digest`` is the digest of the desired state the repository's
   manifests and files give now (else the plan is stale);
3. the changes the plan carries are exactly the changes that take the remote, as it is at
   the plan's base, to that desired state: the plan is re-planned from the trusted inputs
   (manifests, local files, the remote) and any added, missing or edited change refuses
   it. So the digest a commit records always describes what the apply made true.

Apply itself still never re-diffs: it executes the saved plan, which this check has shown
to be the plan labelsync would make.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from labelsync.engine.connect import Connections
from labelsync.engine.planning import plan_dataset
from labelsync.errors import LocalDataError, PlanError, StalePlanError
from labelsync.local.paths import Inside, resolve_inside
from labelsync.plan.model import Change, DatasetPlan, FileChange, Plan, Replacement
from labelsync.plan.serialize import LayoutMismatch, change_to_dict, loads_plan, plan_from_lines
from labelsync.providers.base import stale_plan
from labelsync.state import Desired, canonical_json

_HINT = "run `labelsync plan -o FILE` again and review the new plan"


def read_saved_plan(path: Path, *, origin: str) -> Plan:
    """The plan saved in ``path`` (``plan -o``), read line by line (a plan of a million
    files is never held as text or as dicts); a file laid out otherwise is read whole as
    JSON. Raises :class:`PlanError` (one line naming ``origin``) when it is unreadable, not
    a labelsync plan, or of another format version."""
    try:
        with open(path, encoding="utf-8") as fh:
            try:
                return plan_from_lines(fh, origin=origin)
            except LayoutMismatch:
                pass
        return loads_plan(Path(path).read_text(encoding="utf-8"), origin=origin)
    except UnicodeDecodeError as exc:
        raise PlanError(f"{origin}: not a labelsync plan file (not UTF-8 text)", hint=_HINT) from exc
    except OSError as exc:
        raise PlanError(f"{origin}: cannot read the plan: {exc.strerror or exc}", hint=_HINT) from exc


def plan_sources(change: Change) -> Iterable[str | None]:
    """Every local ``source`` path a change names (data files, masks, replace items)."""
    after = change.after
    files = list(after.items) if isinstance(after, Replacement) else [after] if isinstance(after, FileChange) else []
    for f in files:
        if f.source is not None:
            yield f.source
        for mask in f.masks:
            if mask.source is not None:
                yield mask.source


def check_sources(plan: Plan, root: Path, *, origin: str) -> None:
    """Refuse ``plan`` when a ``source`` it names is not a safe path inside ``root``."""
    inside = Inside(root, root)
    for dp in plan.datasets:
        for change in dp.changes:
            for source in plan_sources(change):
                if not isinstance(source, str):
                    raise PlanError(f"{origin}: {change.address}: source {source!r} is not a path", hint=_HINT)
                try:
                    inside.resolve(source)
                except LocalDataError as exc:
                    raise PlanError(
                        f"{origin}: {change.address}: refusing to read a file outside the repository: {exc.message}",
                        hint="a saved plan may only name files inside the repository; " + _HINT,
                    ) from exc


def manifest_path(dp: DatasetPlan, root: Path) -> Path:
    """The manifest file a saved plan says declares ``dp``, proven to lie inside ``root``."""
    declared = dp.manifest.rsplit(":", 1)[0] if dp.manifest.rpartition(":")[2].isdigit() else dp.manifest
    try:
        return resolve_inside(root, root, declared)
    except LocalDataError as exc:
        raise PlanError(
            f"plan: dataset '{dp.name}': refusing a manifest outside the repository: {exc.message}",
            hint="a saved plan may only name files inside the repository; " + _HINT,
        ) from exc


def check_digests(plan: Plan, desired: Sequence[Desired]) -> dict[tuple[str, str], Desired]:
    """The desired state of each planned dataset; :class:`StalePlanError` when its digest
    is not the one the plan claims."""
    now = {(d.dataset.remote, d.dataset.name): d for d in desired}
    for dp in plan.datasets:
        want = now.get((dp.remote, dp.name))
        if want is None or want.digest != dp.desired_digest:
            raise StalePlanError(
                f"plan is stale: the local files or manifests of dataset '{dp.name}' changed since the plan was made",
                hint=_HINT,
            )
    return now


def check_changes(plan: Plan, desired: Sequence[Desired], connections: Connections, root: Path, *, origin: str) -> None:
    """Refuse ``plan`` unless each dataset's changes are the ones labelsync plans now.

    Raises :class:`StalePlanError` when a dataset's remote moved from the plan's base, and
    :class:`PlanError` naming the first address that differs when the changes do not match.
    """
    now = check_digests(plan, desired)
    for dp in plan.datasets:
        if not dp.has_changes:
            continue
        want = now[(dp.remote, dp.name)]
        live, fresh = plan_dataset(want, connections.get(dp.remote).provider, root, tag=dp.tag)
        if live.head != dp.base:
            raise stale_plan(dp, live.head)
        new = [reason for reason in fresh.blocked if reason not in dp.blocked]
        if new:
            raise PlanError(f"the plan cannot be applied now: {new[0]}", hint="fix that, then plan again")
        problem = _difference(dp, fresh)
        if problem is not None:
            raise PlanError(
                f"{origin}: dataset '{dp.name}': {problem}, so it does not hold the changes its desired digest "
                "stands for (the plan was edited, or the remote changed without moving its head)",
                hint=_HINT,
            )


def _difference(saved: DatasetPlan, fresh: DatasetPlan) -> str | None:
    """One line naming the first difference between two plans of one dataset, or None.

    Plans whose changes match one by one, in order, are compared as they are walked (one
    change of each at a time); otherwise both are indexed by address, to name the first
    differing address in sorted order (the same answer either way)."""
    for field in ("provider", "kind", "branch", "remote_id", "tag", "blocked"):
        if getattr(saved, field) != getattr(fresh, field):
            return f"its {field} {getattr(saved, field)!r} is not {getattr(fresh, field)!r}"
    if len(saved.changes) == len(fresh.changes) and all(
        _json(a) == _json(b) for a, b in zip(saved.changes, fresh.changes, strict=True)
    ):
        return None  # the same changes in the same order (a plan as labelsync wrote it): no index of either
    mine = _by_address(saved.changes)
    theirs = _by_address(fresh.changes)
    for address in sorted(set(mine) | set(theirs)):
        if address not in theirs:
            return f"change {address} is not needed"
        if address not in mine:
            return f"change {address} is missing"
        if mine[address] != theirs[address]:
            return f"change {address} was altered"
    return None


def _by_address(changes: Iterable[Change]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for change in changes:
        out.setdefault(change.address, []).append(_json(change))
    return out


def _json(change: Change) -> str:
    return canonical_json(change_to_dict(change))
