"""Plain value types shared by every stage.

Stages never import each other; they exchange the frozen dataclasses defined here, so that each stage
can be tested alone and the pipeline is the only place that knows the order of the stages.
"""

from monitor.core.types import (
    AlertMessage,
    AlertWatchlist,
    DeliveryOutcome,
    Entry,
    FetchResult,
    NormalizedArticle,
    Span,
    WatchlistHit,
)
from monitor.core.urls import canonical_url, host_of, url_key

__all__ = [
    "AlertMessage",
    "AlertWatchlist",
    "DeliveryOutcome",
    "Entry",
    "FetchResult",
    "NormalizedArticle",
    "Span",
    "WatchlistHit",
    "canonical_url",
    "host_of",
    "url_key",
]
