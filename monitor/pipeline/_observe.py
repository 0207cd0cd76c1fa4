"""The pipeline's observation seam: the runtime plugs metrics in here, the stages know nothing of them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class PollObserver(Protocol):
    def fetch_done(self, *, what: str, result: str, status: int | None, elapsed_s: float, size: int) -> None:
        """One HTTP/file fetch ended. ``what`` is "source" or "article"; ``result`` "ok", "not_modified"
        or a FetchError kind."""

    def parse_done(self, *, kind: str, elapsed_s: float) -> None: ...

    def ingested(self, *, source: str, articles: int, hits_by_watchlist: Mapping[int, int]) -> None: ...


class NullObserver:
    def fetch_done(self, *, what: str, result: str, status: int | None, elapsed_s: float, size: int) -> None:
        return None

    def parse_done(self, *, kind: str, elapsed_s: float) -> None:
        return None

    def ingested(self, *, source: str, articles: int, hits_by_watchlist: Mapping[int, int]) -> None:
        return None
