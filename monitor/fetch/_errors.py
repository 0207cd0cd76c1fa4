"""The one exception the fetch stage raises.

A single exception type with a ``kind`` keeps the caller's error handling flat: the pipeline records
``kind``/``status`` for metrics, hands ``retry_after_s`` to the scheduler and deactivates a source only when
``permanent`` is set (410 Gone). Nothing else escapes ``HttpFetcher.fetch`` except cancellation.
"""

from __future__ import annotations

__all__ = ["FetchError"]


class FetchError(Exception):
    """A fetch that did not produce a usable response.

    ``kind`` is one of ``"timeout"``, ``"connect"``, ``"dns"``, ``"tls"``, ``"network"``, ``"protocol"``,
    ``"http"``, ``"too_large"``, ``"decompression"``, ``"ssrf"``, ``"redirect_loop"``,
    ``"too_many_redirects"``, ``"bad_redirect"``, ``"scheme"``, ``"url"``, ``"local_file"`` (local files
    not allowed), ``"io"`` (a local file could not be read). ``str(err)`` is one line naming what failed
    and where.
    """

    kind: str
    status: int | None
    retry_after_s: float | None
    permanent: bool
    url: str

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        url: str,
        status: int | None = None,
        retry_after_s: float | None = None,
        permanent: bool = False,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.url = url
        self.status = status
        self.retry_after_s = retry_after_s
        self.permanent = permanent

    def __str__(self) -> str:
        text = f"{self.kind}: {self.message} ({self.url})"
        if self.retry_after_s is not None:
            text += f"; retry after {self.retry_after_s:g}s"
        if self.permanent:
            text += "; permanent"
        return " ".join(text.split())  # always one line, whatever the server put in a reason phrase

    def __repr__(self) -> str:
        return (
            f"FetchError(kind={self.kind!r}, status={self.status!r}, url={self.url!r}, "
            f"retry_after_s={self.retry_after_s!r}, permanent={self.permanent!r})"
        )

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only arguments need help to survive pickling (process pools, task queues).
        state = (self.kind, self.message, self.url, self.status, self.retry_after_s, self.permanent)
        return (_rebuild, state)


def _rebuild(
    kind: str, message: str, url: str, status: int | None, retry_after_s: float | None, permanent: bool
) -> FetchError:
    return FetchError(kind, message, url=url, status=status, retry_after_s=retry_after_s, permanent=permanent)
