"""Reading request parameters with the contract's error codes.

Missing required values answer 400 ``RequestParamsMissing``; present but wrong values
answer 400 ``InvalidParamsValue``. Paging accepts ``offset >= 0`` (default 0) and
``1 <= limit <= 128`` (default 128), exactly as the contract's §3 says.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labelsync.emulator.names import unsafe_name
from labelsync.emulator.tensorbay.errors import invalid, missing

MAX_LIMIT = 128


def as_int(value: Any, name: str) -> int:
    """``value`` as an int (JSON int or decimal string); 400 otherwise."""
    if isinstance(value, bool):
        raise invalid(f"'{name}' must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise invalid(f"'{name}' must be an integer")


def req_str(source: Mapping[str, Any], name: str) -> str:
    """A required non-empty string parameter."""
    value = source.get(name)
    if value is None or value == "":
        raise missing(name)
    if not isinstance(value, str):
        raise invalid(f"'{name}' must be a string")
    return value


def segment_name(source: Mapping[str, Any], name: str) -> str:
    """A required segment name for a segment being created: 400 ``InvalidParamsValue`` when
    :func:`~labelsync.emulator.names.unsafe_name` refuses it (``../x``, ``/abs``, ``a/b``)."""
    value = req_str(source, name)
    problem = unsafe_name(value)
    if problem is not None:
        raise invalid(f"'{name}' {value!r} {problem}")
    return value


def opt_str(source: Mapping[str, Any], name: str) -> str | None:
    """An optional string parameter (None when absent)."""
    value = source.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(f"'{name}' must be a string")
    return value


def req_int(source: Mapping[str, Any], name: str) -> int:
    """A required integer parameter."""
    value = source.get(name)
    if value is None or value == "":
        raise missing(name)
    return as_int(value, name)


def paging(query: Mapping[str, str]) -> tuple[int, int]:
    """``(offset, limit)`` of a paged list request."""
    offset = as_int(query.get("offset", "0"), "offset")
    limit = as_int(query.get("limit", str(MAX_LIMIT)), "limit")
    if offset < 0:
        raise invalid("'offset' must be >= 0")
    if not 1 <= limit <= MAX_LIMIT:
        raise invalid(f"'limit' must be between 1 and {MAX_LIMIT}")
    return offset, limit


def page_body(key: str, items: list[Any], offset: int, total: int) -> dict[str, Any]:
    """The reply of a paged list: items plus ``offset``, ``recordSize``, ``totalCount``."""
    return {key: items, "offset": offset, "recordSize": len(items), "totalCount": total}
