"""Webhook signatures: how a receiver knows a notification came from this shopstream.

When ``alerts.webhook_secret`` is set, every request carries two headers:

- ``X-Shopstream-Timestamp``: the Unix time of the attempt in whole seconds (ASCII digits);
- ``X-Shopstream-Signature``: ``sha256=`` and the lowercase hex HMAC-SHA256, keyed with
  the secret (UTF-8), of the timestamp, one ``.`` and the raw request body, byte for byte:
  ``HMAC(secret, timestamp + "." + body)``.

Receivers recompute it over the body exactly as received (before any JSON parsing)
with :func:`verify_signature`, and refuse old timestamps (``max_age_seconds``) so a
captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Shopstream-Signature"
TIMESTAMP_HEADER = "X-Shopstream-Timestamp"
PREFIX = "sha256="


def sign(secret: str, body: bytes, timestamp: int | str) -> str:
    """The ``X-Shopstream-Signature`` value for ``body`` sent at ``timestamp``.

    >>> sign("s3cret", b'{"text":"hello"}', 1767225600)
    'sha256=b84227e9b323dc82b96fa8448dba87e6c0effdaddb7964b935aafa75d783f95a'
    """
    message = str(timestamp).encode("ascii") + b"." + body
    return PREFIX + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str,
    body: bytes,
    timestamp: int | str | None,
    header: str | None,
    *,
    max_age_seconds: float | None = None,
    now: float | None = None,
) -> bool:
    """Whether ``header`` is the signature of ``body`` at ``timestamp`` under ``secret``.

    With ``max_age_seconds``, a timestamp further than that from ``now`` (default:
    the current Unix time) is refused too. Missing or malformed headers are refused.

    >>> body = b'{"text":"hello"}'
    >>> verify_signature("s3cret", body, "1767225600", sign("s3cret", body, 1767225600))
    True
    >>> verify_signature("s3cret", body + b" ", "1767225600", sign("s3cret", body, 1767225600))
    False
    >>> verify_signature("s3cret", body, 1767225600, sign("s3cret", body, 1767225600), max_age_seconds=300)
    False
    """
    if timestamp is None or header is None or not str(timestamp).isdigit():
        return False
    if max_age_seconds is not None:
        current = time.time() if now is None else now
        if abs(current - int(timestamp)) > max_age_seconds:
            return False
    return hmac.compare_digest(sign(secret, body, timestamp), header.strip())
