"""Progress hooks of apply: the engine and providers report, a display decides what to show.

The protocol lives in the provider contract (:mod:`labelsync.providers.session`), because
providers report through it and must not import the engine; the engine's progress display
(:mod:`labelsync.engine.progress`) implements it. The CLI passes
:func:`labelsync.engine.progress.make_progress`, tests pass a recorder, and everything else
gets :class:`NullEvents`.
"""

from __future__ import annotations

from labelsync.providers.session import ApplyEvents, NullEvents

__all__ = ["ApplyEvents", "NullEvents"]
