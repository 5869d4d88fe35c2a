"""HMAC signatures for upload policies and download URLs.

The emulator is its own storage host, so it signs what it hands out and checks it when it
comes back. The secret is 32 random bytes persisted in the data directory, so policies and
URLs stay valid across a restart (until they expire).

Upload policy (S3 POST-policy style): ``policy`` is base64 of a JSON document
``{"expiration": <ISO-8601>, "expireAt": <epoch s>, "conditions": [{"bucket": ...},
["starts-with", "$key", <objectPrefix>], {"success_action_status": "200"},
{"x-amz-algorithm": ...}, {"x-amz-credential": ...}, {"x-amz-date": ...}]}``;
``x-amz-signature`` is hex HMAC-SHA256 of the base64 policy. Any change to the document
(expiry, key prefix) breaks the signature.

Download URL: ``<base>/files/<key>?expires=<epoch s>&signature=<hex>`` where the signature
is HMAC-SHA256 over ``"<key>\\n<expires>"``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from labelsync.emulator.tensorbay.errors import ApiError, access_denied

ALGORITHM = "AWS4-HMAC-SHA256"
BUCKET = "labelsync-emulator"
Clock = Callable[[], float]


def load_secret(data_dir: Path) -> bytes:
    """The persisted signing secret of ``data_dir``, created on first use."""
    path = data_dir / "signing.key"
    try:
        secret = path.read_bytes()
        if len(secret) == 32:
            return secret
    except FileNotFoundError:
        pass
    secret = os.urandom(32)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(secret)
    os.replace(tmp, path)
    return secret


class Signer:
    """Signs and verifies upload policies and download URLs with one secret."""

    def __init__(self, secret: bytes, clock: Clock = time.time) -> None:
        self._secret = secret
        self.clock = clock
        self._verified: dict[tuple[str, str], tuple[int, list[Any]]] = {}

    def _mac(self, message: str) -> str:
        return hmac.new(self._secret, message.encode(), hashlib.sha256).hexdigest()

    # -- upload policies -------------------------------------------------------------
    def policy_fields(self, object_prefix: str, expire_at: int) -> dict[str, Any]:
        """The form fields of an upload policy for keys under ``object_prefix``."""
        date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self.clock()))
        credential = f"LABELSYNCEMULATOR/{date[:8]}/local/s3/aws4_request"
        document = {
            "expiration": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expire_at)),
            "expireAt": expire_at,
            "conditions": [
                {"bucket": BUCKET},
                ["starts-with", "$key", object_prefix],
                {"success_action_status": "200"},
                {"x-amz-algorithm": ALGORITHM},
                {"x-amz-credential": credential},
                {"x-amz-date": date},
            ],
        }
        policy = base64.b64encode(json.dumps(document, separators=(",", ":")).encode()).decode()
        return {
            "x-amz-algorithm": ALGORITHM,
            "x-amz-credential": credential,
            "x-amz-date": date,
            "policy": policy,
            "x-amz-signature": self._mac(policy),
            "success_action_status": "200",
        }

    def verify_policy(self, form: Mapping[str, str], key: str) -> None:
        """Check a POSTed form against the policy it carries; raise 403 ``AccessDenied``.

        Refused: a missing or wrong signature (tampered policy), an expired policy, a key
        outside the signed prefix, or form fields that differ from the signed conditions.
        """
        policy = form.get("policy")
        signature = form.get("x-amz-signature")
        if not policy or not signature:
            raise access_denied("Invalid according to Policy: missing policy or signature")
        expire_at, conditions = self._policy_document(policy, signature)
        if self.clock() >= expire_at:
            raise access_denied("Invalid according to Policy: Policy expired.")
        for condition in conditions:
            if isinstance(condition, list) and condition[:2] == ["starts-with", "$key"]:
                if not key.startswith(condition[2]):
                    raise access_denied(
                        'Invalid according to Policy: Policy Condition failed: ["starts-with", "$key"]'
                    )
            elif isinstance(condition, dict):
                for name, value in condition.items():
                    if name != "bucket" and form.get(name) != value:
                        raise access_denied(f"Invalid according to Policy: Policy Condition failed: {name}")

    def _policy_document(self, policy: str, signature: str) -> tuple[int, list[Any]]:
        """``(expireAt, conditions)`` of a signed policy; 403 if the signature or document is bad.

        A client reuses one policy for thousands of uploads, so verified documents are
        remembered (by policy and signature; a few hundred at most).
        """
        known = self._verified.get((policy, signature))
        if known is not None:
            return known
        if not signature.isascii() or not hmac.compare_digest(self._mac(policy), signature):
            raise ApiError(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided",
            )
        try:
            document = json.loads(base64.b64decode(policy, validate=True))
            known = (int(document["expireAt"]), list(document["conditions"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise access_denied("Invalid Policy: unreadable policy document") from exc
        if len(self._verified) >= 256:
            self._verified.clear()
        self._verified[(policy, signature)] = known
        return known

    # -- download URLs ---------------------------------------------------------------
    def sign_url(self, base_url: str, key: str, ttl: int) -> str:
        """A download URL for ``key`` valid for ``ttl`` seconds."""
        expires = int(self.clock()) + ttl
        signature = self._mac(f"{key}\n{expires}")
        return f"{base_url}/files/{key}?expires={expires}&signature={signature}"

    def verify_url(self, key: str, expires: str | None, signature: str | None) -> None:
        """Raise 403 ``AccessDenied`` unless the URL signature is right and not expired."""
        if not expires or not signature or not expires.isdigit():
            raise access_denied("Request has missing or malformed signature parameters")
        if not hmac.compare_digest(self._mac(f"{key}\n{expires}"), signature):
            raise ApiError(403, "SignatureDoesNotMatch", "The request signature does not match")
        if self.clock() >= int(expires):
            raise access_denied("Request has expired")
