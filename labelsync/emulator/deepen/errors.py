"""The one exception the Deepen emulator raises for a client error, rendered DRF-style."""

from __future__ import annotations


class ApiError(Exception):
    """An HTTP error answered as ``{"detail": detail}`` with ``status`` (contract §9)."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


def not_found() -> ApiError:
    """DRF's 404: ``{"detail": "Not found."}``."""
    return ApiError(404, "Not found.")


def bad_request(detail: str) -> ApiError:
    """A 400 with a readable ``detail``."""
    return ApiError(400, detail)
