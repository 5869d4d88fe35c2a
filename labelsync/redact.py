"""The one redaction rule set: what labelsync never prints, logs or writes for GitHub.

Every path to the terminal goes through :func:`redact`: log records (:func:`install_log_filter`),
CLI errors and tracebacks (``labelsync.cli``), HTTP error messages
(``labelsync.providers.http``) and the GitHub Action (``labelsync.github.mask``). The rules,
applied in this order, each replacing the secret with ``***``:

1. **Known values**: every value registered with :func:`register_secret` (the tokens a client
   was built with), every ``extra`` value passed in, and the value of every environment
   variable whose name looks like a credential (:data:`SECRET_NAME`), each line of a
   multi-line value too. Values shorter than :data:`MIN_SECRET_LENGTH` are ignored (masking
   ``"1"`` would mangle every number).
2. **Shapes of secrets**, even when no one registered them: TensorBay access keys
   (``Accesskey-...``), ``Bearer``/``Token`` credentials, JWTs (``eyJ...``), and the values of
   ``signature``/``policy``/``token``/``credential`` fields, whether written as
   ``name=value``, ``name: value`` or JSON ``"name": "value"``.
3. **Signed URLs**: in every ``http(s)://`` URL, user info and fragments are dropped, and
   when any query key looks sensitive (:data:`SENSITIVE_KEY`) every query value is hidden
   (:func:`redact_url`).

The module is pure apart from the process-wide registry and reading ``os.environ``.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlsplit, urlunsplit

__all__ = [
    "MIN_SECRET_LENGTH",
    "REPLACEMENT",
    "SECRET_NAME",
    "env_secrets",
    "install_log_filter",
    "known_values",
    "pieces",
    "redact",
    "redact_url",
    "register_secret",
]

REPLACEMENT = "***"
MIN_SECRET_LENGTH = 6
SECRET_NAME = re.compile(r"TOKEN|SECRET|ACCESS_KEY|PASSWORD|API_KEY|PRIVATE_KEY|CREDENTIAL", re.IGNORECASE)
"""Environment variable names whose values are credentials."""

SENSITIVE_KEY = re.compile(
    r"sig|signature|token|key|credential|policy|auth|secret|password|passwd|session|upload_?id|x-amz-|x-goog-",
    re.IGNORECASE,
)
"""A query key matching this marks a URL as signed: then every query value is hidden."""

_registered: set[str] = set()
_lock = threading.Lock()

_URL = re.compile(r"https?://[^\s'\"<>]+")
_SHAPES = [
    # TensorBay access keys, wherever they appear (a traceback repr, a header dump).
    (re.compile(r"Accesskey-[A-Za-z0-9_\-]+"), REPLACEMENT),
    # JSON Web Tokens: three base64url parts, the first two starting with '{"'.
    (re.compile(r"eyJ[A-Za-z0-9_\-]+\.eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"), REPLACEMENT),
    # "Authorization: Bearer x", "bearer x", "Token x".
    (re.compile(r"\b(Bearer|Basic)(\s+)[A-Za-z0-9._~+/=\-]{6,}", re.IGNORECASE), r"\1\2" + REPLACEMENT),
    # "Token x" only when x holds a digit, so prose ("token refresh failed") is not taken for one.
    (re.compile(r"\b(Token)(\s+)(?=[A-Za-z._~+/=\-]*\d)[A-Za-z0-9._~+/=\-]{6,}", re.IGNORECASE), r"\1\2" + REPLACEMENT),
    # "signature": "abc", 'policy': 'abc' (JSON or Python reprs).
    (
        re.compile(
            r"""(["'](?:x-amz-)?(?:signature|policy|token|credential|access_?key|secret)["']\s*:\s*)(["'])[^"']*\2""",
            re.IGNORECASE,
        ),
        r"\1\2" + REPLACEMENT + r"\2",
    ),
    # signature=abc1…, Signature: ab12…, policy ZXh0…1 in free text (a storage error message);
    # the value must hold a digit, so words ("Policy expired") stay.
    (
        re.compile(
            r"\b((?:x-amz-)?(?:signature|policy|credential)s?\b\s*[=:]?\s*)((?=[A-Za-z0-9+/=_\-.%]*\d)[A-Za-z0-9+/=_\-.%]{8,})",
            re.IGNORECASE,
        ),
        r"\1" + REPLACEMENT,
    ),
]


def register_secret(value: str) -> None:
    """Add ``value`` (and each line of it) to the strings :func:`redact` removes, process-wide.

    Like ``::add-mask::`` in GitHub Actions: a token registered by one client must not leak
    through a message built from another's exception. Short values are ignored.
    """
    found = pieces([value])
    if found:
        with _lock:
            _registered.update(found)


def env_secrets(environ: Mapping[str, str] | None = None, names: Iterable[str] = ()) -> list[str]:
    """Values of the credential-looking variables of ``environ`` (default ``os.environ``) and of
    the variables ``names`` (a remote's ``tokenEnv``)."""
    env = os.environ if environ is None else environ
    wanted = set(names)
    return [value for key, value in env.items() if SECRET_NAME.search(key) or key in wanted]


def pieces(values: Iterable[str]) -> set[str]:
    """The non-trivial values and lines of ``values`` (what a mask must cover)."""
    out: set[str] = set()
    for value in values:
        if not value:
            continue
        if len(value.strip()) >= MIN_SECRET_LENGTH:
            out.add(value)
            out.add(value.strip())
        out.update(line.strip() for line in value.splitlines() if len(line.strip()) >= MIN_SECRET_LENGTH)
    return out


def known_values(extra: Iterable[str] = (), environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Every literal value rule 1 removes, longest first (so a secret holding another goes whole)."""
    with _lock:
        registered = set(_registered)
    return tuple(sorted(registered | pieces(extra) | pieces(env_secrets(environ)), key=len, reverse=True))


def redact_url(url: object) -> str:
    """``url`` fit for messages and logs: no user info, no fragment, no signed query values.

    When any query key looks sensitive (``signature``, ``X-Amz-Signature``, ``token``,
    ``upload_id``, ``Policy``, ...), every query value is replaced by ``***`` (the keys stay,
    which is enough to debug); other queries (``offset=0&limit=128``) are kept as they are.
    """
    parts = urlsplit(str(url))
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(SENSITIVE_KEY.search(k) for k, _ in pairs) or not pairs:
            query = "&".join(f"{k}={REPLACEMENT}" for k, _ in pairs) if pairs else REPLACEMENT
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def redact(text: str, extra: Iterable[str] = (), *, environ: Mapping[str, str] | None = None) -> str:
    """``text`` with every secret the rules of the module docstring find replaced by ``***``."""
    if not text:
        return text
    values = known_values(extra, environ)
    if values:
        text = re.sub("|".join(re.escape(v) for v in values), REPLACEMENT, text)
    for pattern, replacement in _SHAPES:
        text = pattern.sub(replacement, text)
    return _URL.sub(lambda m: redact_url(m.group(0)), text)


class _RedactingFilter(logging.Filter):
    """Rewrites each record's message through :func:`redact` (arguments merged first)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and record.exc_text is None and record.exc_info[0] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def install_log_filter(handler: logging.Handler) -> None:
    """Make ``handler`` emit only redacted records (idempotent)."""
    if not any(isinstance(f, _RedactingFilter) for f in handler.filters):
        handler.addFilter(_RedactingFilter())
