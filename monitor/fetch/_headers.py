"""Small pure helpers over response headers and bodies.

They take ``now`` instead of reading the clock so that they are deterministic and testable; the fetcher
passes the time at which the response arrived.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["body_hash", "parse_http_date", "parse_max_age", "parse_retry_after"]

_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)\"?", re.I)
_NO_CACHE = re.compile(r"(?:^|[,\s])(?:no-store|no-cache)(?:$|[,\s=])", re.I)


def body_hash(body: bytes) -> str:
    """SHA-256 hex digest of a body: the change detector for servers that ignore conditional requests."""
    return hashlib.sha256(body).hexdigest()


def parse_http_date(value: str) -> datetime | None:
    """An HTTP-date (RFC 9110: IMF-fixdate, and the obsolete RFC 850 / asctime forms) as aware UTC."""
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _aware(now: datetime) -> datetime:
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def parse_retry_after(value: str, *, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP-date.

    A date in the past means "now" (0.0); garbage, negative numbers and non-finite values give ``None`` so
    the caller falls back to its own backoff instead of trusting a broken header.
    """
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        return float(int(text))
    try:
        number = float(text)  # not RFC-conformant, but "120.0" is seen in the wild
    except ValueError:
        number = None
    if number is not None:
        return number if math.isfinite(number) and number >= 0 else None
    when = parse_http_date(text)
    if when is None:
        return None
    return max(0.0, (when - _aware(now)).total_seconds())


def parse_max_age(headers: Mapping[str, str], *, now: datetime) -> float | None:
    """Freshness lifetime in seconds from ``Cache-Control: max-age`` (minus ``Age``) or ``Expires``.

    ``no-store``/``no-cache`` mean no lifetime. ``Expires`` is measured against the response's own
    ``Date`` when present (clock skew between us and the server then cancels out).
    """
    cache_control = headers.get("cache-control", "")
    if cache_control and _NO_CACHE.search(cache_control):
        return None
    match = _MAX_AGE.search(cache_control) if cache_control else None
    if match:
        max_age = float(int(match.group(1)))
        age_header = headers.get("age", "").strip()
        age = float(int(age_header)) if age_header.isdigit() else 0.0
        return max(0.0, max_age - age)
    expires_header = headers.get("expires")
    if not expires_header:
        return None
    expires = parse_http_date(expires_header)
    if expires is None:
        return 0.0  # RFC 9111: an invalid Expires means "already expired"
    date_header = headers.get("date")
    reference = parse_http_date(date_header) if date_header else None
    return max(0.0, (expires - (reference or _aware(now))).total_seconds())
