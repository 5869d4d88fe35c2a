"""The TensorBay error model: every failure is JSON ``{"code": ..., "message": ...}``.

:class:`ApiError` carries the HTTP status and the TensorBay error code; the app turns it
into a response at the boundary. The codes and statuses are those of the contract (§1.3):

==========================  ======
code                        status
==========================  ======
``InvalidParamsValue``      400
``RequestParamsMissing``    400
``Unauthorized``            401
``AccessDenied``            403
``Forbidden``               403
``ResourceNotExist``        404
``NameConflict``            409
``InternalServerError``     500
``NotSupported``            501 (emulator: jobs, storage configs, cloud files)
==========================  ======
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A request the emulator refuses; becomes ``status`` + ``{"code", "message"}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        """The JSON error body the SDK reads (``code`` is what it maps to exceptions)."""
        return {"code": self.code, "message": self.message, "success": False}


def invalid(message: str) -> ApiError:
    """400 ``InvalidParamsValue``."""
    return ApiError(400, "InvalidParamsValue", message)


def missing(name: str) -> ApiError:
    """400 ``RequestParamsMissing`` for the parameter ``name``."""
    return ApiError(400, "RequestParamsMissing", f"required parameter '{name}' is missing")


def not_found(message: str) -> ApiError:
    """404 ``ResourceNotExist``."""
    return ApiError(404, "ResourceNotExist", message)


def conflict(message: str) -> ApiError:
    """409 ``NameConflict``."""
    return ApiError(409, "NameConflict", message)


def forbidden(message: str) -> ApiError:
    """403 ``Forbidden``."""
    return ApiError(403, "Forbidden", message)


def access_denied(message: str) -> ApiError:
    """403 ``AccessDenied`` (storage: bad or expired signatures)."""
    return ApiError(403, "AccessDenied", message)


def internal(message: str) -> ApiError:
    """500 ``InternalServerError`` (also the contract's answer to an aborted copy/move)."""
    return ApiError(500, "InternalServerError", message)


def not_supported(what: str) -> ApiError:
    """501 ``NotSupported``: an endpoint the emulator deliberately leaves out."""
    return ApiError(501, "NotSupported", f"{what} is not supported by the labelsync TensorBay emulator")


INJECTED_CODES = {500: "InternalServerError", 503: "ServiceUnavailable", 429: "TooManyRequests"}


def injected_error_body(status: int) -> dict[str, Any]:
    """Body of a fault injected by :class:`~labelsync.emulator.runtime.Knobs`."""
    return {
        "code": INJECTED_CODES.get(status, "SystemError"),
        "message": f"injected fault ({status})",
        "success": False,
    }
