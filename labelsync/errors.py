"""The one exception tree of labelsync.

Every error a user can cause (bad manifest, missing path, auth failure, HTTP error, stale
plan, interrupted run) is a :class:`LabelsyncError`. The CLI prints ``Error: <message>``
and, when present, ``Hint: <hint>`` and exits with ``exit_code`` and no traceback.
Anything else escaping to the CLI is a bug (exit 3, traceback).

Third-party exceptions (httpx, jsonschema, pydantic, ruamel.yaml) are translated at the
module boundary with ``raise ... from exc``. Messages must never contain secrets.
"""

from __future__ import annotations


class LabelsyncError(Exception):
    """Base of all expected errors. ``str(err)`` is the one-line message."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(LabelsyncError):
    """A bad flag, argument combination or environment setting."""


class ManifestError(LabelsyncError):
    """Manifests that cannot be loaded or are invalid.

    ``diagnostics`` holds every problem found (each with file, line, column and JSON path);
    the CLI prints all of them.
    """

    def __init__(self, message: str, *, diagnostics: list | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.diagnostics = diagnostics or []


class LocalDataError(LabelsyncError):
    """A data directory, data file or label file that cannot be read as declared."""


class ConfigError(LabelsyncError):
    """``labelsync.yaml`` (the remotes) is missing something or is invalid."""


class UnsupportedError(LabelsyncError):
    """The platform cannot do what was asked (for example give a data file's bytes)."""


class RemoteError(LabelsyncError):
    """The remote platform answered with an error, or could not be reached."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.code = code


class AuthError(RemoteError):
    """The remote refused the credentials (HTTP 401/403 on authentication)."""


class NotFoundError(RemoteError):
    """The remote does not have the addressed resource (HTTP 404)."""


class ConflictError(RemoteError):
    """The remote state conflicts with the request (name taken, draft locked by someone else)."""


class TransientError(RemoteError):
    """A retryable failure (429, 5xx, dropped connection) that outlived the retry budget."""


class BadAnswerError(TransientError):
    """The remote answered something the client cannot use: not JSON, truncated, empty, the
    wrong shape, or larger than the documented cap. A server error: retried where the method
    is safe to repeat, and after a write it is ambiguous (the write may have happened)."""


class DeadlineError(TransientError):
    """A request or the whole command ran past its deadline (``LABELSYNC_REQUEST_TIMEOUT``,
    ``LABELSYNC_DEADLINE`` / ``--deadline``)."""


class PlanError(LabelsyncError):
    """A plan that cannot be applied as it stands (replace without opt-in, unsupported change)."""


class StalePlanError(PlanError):
    """A saved plan whose base (remote head or local desired digest) has moved since."""


class ApplyError(LabelsyncError):
    """An apply that stopped part-way; re-running apply resumes it."""


class Interrupted(LabelsyncError):
    """The user interrupted the run (Ctrl-C / SIGTERM)."""

    exit_code = 130
