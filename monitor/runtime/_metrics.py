"""Prometheus metrics of the daemon, in a registry of its own (no global state, one per daemon).

Names follow Prometheus conventions: the ``monitor_`` prefix, base units (seconds, bytes), ``_total`` on
counters; labels are bounded (result kind, status class, source kind, channel type, watchlist name) and
never carry a URL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_SIZE_BUCKETS = (1e3, 1e4, 3e4, 1e5, 3e5, 1e6, 3e6, 1e7)


def status_class(status: int | None) -> str:
    return f"{status // 100}xx" if status else "none"


class Metrics:
    """Implements ``pipeline.PollObserver`` and the dispatcher's delivery hook."""

    def __init__(self, *, watchlist_name: Callable[[int], str] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._watchlist_name = watchlist_name or str
        self._children: dict[tuple[object, tuple[str, ...]], Any] = {}  # see ``_child``
        self.fetches = Counter(
            "monitor_fetches_total",
            "Fetches by target, result and HTTP status class.",
            ["target", "result", "status_class"],
            registry=r,
        )
        self.fetch_seconds = Histogram(
            "monitor_fetch_duration_seconds",
            "Time to fetch a source or article.",
            ["target"],
            buckets=_DURATION_BUCKETS,
            registry=r,
        )
        self.response_bytes = Histogram(
            "monitor_response_size_bytes",
            "Size of fetched bodies after decoding.",
            ["target"],
            buckets=_SIZE_BUCKETS,
            registry=r,
        )
        self.parse_seconds = Histogram(
            "monitor_parse_duration_seconds",
            "Time to parse a source document.",
            ["kind"],
            buckets=_DURATION_BUCKETS,
            registry=r,
        )
        self.articles = Counter("monitor_articles_ingested_total", "New articles stored.", registry=r)
        self.hits = Counter("monitor_hits_total", "Watchlist hits recorded.", ["watchlist"], registry=r)
        self.alerts_sent = Counter(
            "monitor_alerts_sent_total", "Alerts accepted by a channel.", ["channel_type"], registry=r
        )
        self.alerts_failed = Counter(
            "monitor_alerts_failed_total", "Alerts that failed permanently.", ["channel_type"], registry=r
        )
        self.alerts_retried = Counter(
            "monitor_alerts_retried_total",
            "Alert deliveries that will be retried.",
            ["channel_type"],
            registry=r,
        )
        self.sources_due = Gauge("monitor_sources_due", "Sources due at the last tick.", registry=r)
        self.schedule_lag = Gauge(
            "monitor_schedule_lag_seconds",
            "How late the most overdue source was at the last tick.",
            registry=r,
        )
        self.outbox_depth = Gauge("monitor_outbox_pending", "Alerts waiting in the outbox.", registry=r)
        self.outbox_oldest = Gauge(
            "monitor_outbox_oldest_age_seconds", "Age of the oldest pending alert.", registry=r
        )
        self.last_tick = Gauge(
            "monitor_scheduler_last_tick_timestamp_seconds",
            "Unix time of the last scheduler tick.",
            registry=r,
        )

    # PollObserver -------------------------------------------------------------------------------------
    def _child(self, metric: Any, *labels: str) -> Any:
        """``metric.labels(*labels)``, remembered: every poll lands in ``fetch_done`` on the event loop,
        and ``labels()`` takes a lock and validates the labels on each call (~1 % of the loop's time in
        the steady pass of ``bench/poll.py``). The label values are a small closed set."""
        key = (metric, labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def fetch_done(self, *, what: str, result: str, status: int | None, elapsed_s: float, size: int) -> None:
        self._child(self.fetches, what, result, status_class(status)).inc()
        self._child(self.fetch_seconds, what).observe(elapsed_s)
        if size:
            self._child(self.response_bytes, what).observe(size)

    def parse_done(self, *, kind: str, elapsed_s: float) -> None:
        self.parse_seconds.labels(kind).observe(elapsed_s)

    def ingested(self, *, source: str, articles: int, hits_by_watchlist: Mapping[int, int]) -> None:
        if articles:
            self.articles.inc(articles)
        for wid, count in hits_by_watchlist.items():
            self.hits.labels(self._watchlist_name(wid)).inc(count)

    # dispatcher ---------------------------------------------------------------------------------------
    def delivered(self, *, channel_type: str, outcome: str, count: int) -> None:
        counter = {"sent": self.alerts_sent, "failed": self.alerts_failed, "retry": self.alerts_retried}[
            outcome
        ]
        counter.labels(channel_type).inc(count)
