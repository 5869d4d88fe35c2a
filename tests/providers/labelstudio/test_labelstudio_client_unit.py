"""Pure parts of the Label Studio client: token kinds, JWT expiry, request batching, error text."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from labelsync import errors
from labelsync.providers.labelstudio.client import (
    MAX_BYTES_PER_REQUEST,
    PART_OVERHEAD,
    UploadFile,
    error_of,
    jwt_expiry,
    token_kind,
    upload_batches,
)


def _jwt(claims: dict) -> str:
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"eyJhbGciOiJIUzI1NiJ9.{body}.c2ln"


def test_token_kind_by_shape() -> None:
    assert token_kind(_jwt({"exp": 1})) == "pat"
    assert token_kind("0123456789abcdef0123456789abcdef01234567") == "legacy"


def test_jwt_expiry() -> None:
    assert jwt_expiry(_jwt({"exp": 1700000300})) == 1700000300
    assert jwt_expiry(_jwt({"iat": 1})) is None
    assert jwt_expiry("not.a.jwt") is None


def _files(n: int, size: int = 10) -> list[UploadFile]:
    return [UploadFile(f"{i}.png", b"x" * size, size) for i in range(n)]


def test_batches_hold_at_most_100_files() -> None:
    assert [len(b) for b in upload_batches(_files(201))] == [100, 100, 1]
    assert [len(b) for b in upload_batches(_files(100))] == [100]
    assert upload_batches([]) == []


def test_batches_hold_at_most_250_mb() -> None:
    big = MAX_BYTES_PER_REQUEST // 2 - PART_OVERHEAD
    files = [UploadFile(f"{i}.png", b"", big) for i in range(3)]
    assert [len(b) for b in upload_batches(files)] == [2, 1]
    assert [[f.name for f in b] for b in upload_batches(files)] == [["0.png", "1.png"], ["2.png"]]


def test_a_file_too_big_for_any_request_is_refused() -> None:
    with pytest.raises(errors.LocalDataError, match="huge.png: .* more than Label Studio accepts"):
        upload_batches([UploadFile("huge.png", b"", MAX_BYTES_PER_REQUEST)])


def test_error_text_includes_validation_errors() -> None:
    body = {"detail": "Validation error", "validation_errors": {"non_field_errors": ["These labels still exist: ped"]}}
    response = httpx.Response(400, json=body)
    assert error_of(response) == (None, "These labels still exist: ped")
    assert error_of(httpx.Response(404, json={"detail": "Invalid page."})) == (None, "Invalid page.")
    assert error_of(httpx.Response(404, text="<html>nope</html>", headers={"content-type": "text/html"}))[1] == "Not Found"
