"""The contract between the dispatcher and a channel, and the helpers every channel shares.

A channel never raises for a delivery problem: it answers a ``DeliveryOutcome`` that tells the
dispatcher whether to retry (``permanent=False``), when (``retry_after_s``), and why (``error``, always
scrubbed of secrets because the dispatcher stores and logs it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

from monitor.core import AlertMessage, DeliveryOutcome
from monitor.log import redact_text, register_secret

__all__ = ["Digest", "Notifier", "Scrubber", "fail", "transient"]


@dataclass(frozen=True, slots=True)
class Digest:
    """One message per schedule listing the period's hits; rendered grouped by ``AlertMessage.story_id``."""

    channel: str
    idempotency_key: str
    period_start: datetime
    period_end: datetime
    items: tuple[AlertMessage, ...]


@runtime_checkable
class Notifier(Protocol):
    """What the dispatcher calls. ``kind`` is ``console``, ``slack``, ``email`` or ``webhook``."""

    kind: str
    name: str

    async def send(self, message: AlertMessage) -> DeliveryOutcome: ...

    async def send_digest(self, digest: Digest) -> DeliveryOutcome: ...

    async def send_test(self) -> DeliveryOutcome: ...

    async def aclose(self) -> None: ...


class Scrubber:
    """Removes a channel's own secrets (and every registered one) from text before it leaves the channel.

    ``monitor.log`` masks registered secrets in log events, but a ``DeliveryOutcome.error`` is stored in
    the database too, and exception texts (httpx's mention the request URL) carry the secret verbatim.
    """

    def __init__(self, *secrets: str | None, urls: Iterable[str | None] = ()) -> None:
        values = [s for s in secrets if s]
        for url in urls:
            if url:
                values += _url_secrets(url)
        register_secret(*values)
        # Short values are not registered globally (too many false hits) but are still this channel's.
        self._secrets = sorted(set(values), key=len, reverse=True)

    def __call__(self, text: str, *, limit: int = 500) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        text = redact_text(text)
        return text if len(text) <= limit else text[: limit - 1] + "…"


def _url_secrets(url: str) -> list[str]:
    """The parts of a URL that may carry a credential: the URL itself, a long path/query, a password.

    A Slack webhook's secret is its path, and error pages like to echo the path without the host, so a
    path or query of 16+ characters is masked on its own as well.
    """
    found = [url]
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return found
    tail = parts.path + (f"?{parts.query}" if parts.query else "")
    if len(tail) >= 16:
        found.append(tail)
    if password:
        found.append(password)
    return found


def fail(error: str, *, retry_after_s: float | None = None) -> DeliveryOutcome:
    """A permanent failure: the dispatcher stops retrying the row."""
    return DeliveryOutcome(ok=False, permanent=True, error=error, retry_after_s=retry_after_s)


def transient(error: str, *, retry_after_s: float | None = None) -> DeliveryOutcome:
    """A failure worth retrying later (``retry_after_s`` is the server's hint, if any)."""
    return DeliveryOutcome(ok=False, permanent=False, error=error, retry_after_s=retry_after_s)
