"""Executing a plan: refuse stale or blocked plans, then apply dataset by dataset.

Apply never re-diffs: it executes the :class:`~labelsync.plan.model.Plan` it is given.
Before touching a dataset it checks that the remote head is still the plan's base (the
local desired digest is checked by the caller, which resolves the manifests). Each
provider's apply is resumable, so an interrupted run is finished by running apply again.
"""

from __future__ import annotations

from labelsync.engine.connect import Connections
from labelsync.engine.events import ApplyEvents
from labelsync.errors import PlanError
from labelsync.plan.model import Plan
from labelsync.providers.base import ApplyOptions, ApplyResult, stale_plan


def check_applicable(plan: Plan) -> None:
    """Raise :class:`PlanError` when any dataset of ``plan`` is blocked."""
    reasons = [reason for d in plan.datasets for reason in d.blocked]
    if reasons:
        raise PlanError(
            "the plan cannot be applied: " + "; ".join(reasons),
            hint="change the manifest (or allow what it needs), then plan again",
        )


def apply_plan(plan: Plan, connections: Connections, options: ApplyOptions, events: ApplyEvents) -> list[ApplyResult]:
    """Apply every dataset of ``plan`` that has changes; returns one result per applied dataset.

    Raises :class:`StalePlanError` when a dataset's remote head moved since the plan, and
    whatever the provider raises; datasets applied before a failure stay applied.
    """
    check_applicable(plan)
    results: list[ApplyResult] = []
    try:
        for dp in plan.datasets:
            if not dp.has_changes:
                continue
            provider = connections.get(dp.remote).provider
            current = provider.current_base(dp)
            if current != dp.base:
                raise stale_plan(dp, current)
            results.append(provider.apply(dp, options, events))
    finally:
        events.done()
    return results
