"""HTTP status and exception classification shared by the Slack and webhook channels.

Redirects are never followed: a signed webhook body or a Slack token must not be replayed to wherever a
3xx points, so a redirect is reported as a (permanent) configuration problem instead.
"""

from __future__ import annotations

import math
import time
from email.utils import parsedate_to_datetime

import httpx

from monitor.core import DeliveryOutcome
from monitor.notify._base import Scrubber, fail, transient

__all__ = ["outcome_for_exception", "outcome_for_status", "parse_retry_after"]

# Longest hint passed on; a server asking for more is treated as asking for this.
_MAX_RETRY_AFTER_S = 24 * 3600.0


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date); ``None`` if absent."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), _MAX_RETRY_AFTER_S)


def _excerpt(response: httpx.Response, limit: int = 200) -> str:
    try:
        text = response.text
    except (UnicodeDecodeError, LookupError):
        return ""
    text = " ".join(text.split())
    return text[:limit]


def outcome_for_status(response: httpx.Response, *, what: str, scrub: Scrubber) -> DeliveryOutcome:
    """Map a non-success HTTP answer to an outcome: 408/429/5xx transient, other 4xx and 3xx permanent."""
    status = response.status_code
    body = _excerpt(response)
    detail = scrub(f"{what}: HTTP {status}" + (f" {body}" if body else ""))
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if status in (408, 429) or status >= 500:
        return transient(detail, retry_after_s=retry_after)
    if 300 <= status < 400:
        return fail(scrub(f"{what}: HTTP {status} redirect not followed; configure the final URL"))
    if 400 <= status < 500:
        return fail(detail)
    return transient(detail, retry_after_s=retry_after)


def outcome_for_exception(exc: Exception, *, what: str, timeout_s: float, scrub: Scrubber) -> DeliveryOutcome:
    """Timeouts and network errors are transient; a malformed URL or scheme is a permanent config error."""
    if isinstance(exc, httpx.TimeoutException):
        return transient(scrub(f"{what}: no answer within {timeout_s:g}s ({type(exc).__name__})"))
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return fail(scrub(f"{what}: invalid URL ({type(exc).__name__}: {exc})"))
    return transient(scrub(f"{what}: {type(exc).__name__}: {exc}"))
