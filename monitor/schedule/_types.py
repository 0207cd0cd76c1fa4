"""Inputs and output of the scheduling deciders (plain frozen values, stored and built by the caller)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["PollObservation", "ScheduleDecision", "ScheduleState"]


@dataclass(frozen=True, slots=True)
class ScheduleState:
    """What the store keeps per source between polls.

    ``interval_s`` is the adaptive polling interval (without jitter); ``recent_entry_times`` are the
    publication times of recent entries as the feed stated them, from which the publishing rate is
    estimated. ``error_count`` counts consecutive failures; the caller resets it after a success.
    """

    interval_s: float
    min_interval_s: float
    max_interval_s: float
    error_count: int = 0
    recent_entry_times: tuple[datetime, ...] = ()


@dataclass(frozen=True, slots=True)
class PollObservation:
    """What one successful poll saw: how many items were new or already known, their publication
    times, and the publisher's caching hints (RSS ``<ttl>`` and HTTP max-age, both in seconds).
    A 304 / unchanged body is ``new_entries=0, seen_entries=0``."""

    new_entries: int
    seen_entries: int
    entry_times: tuple[datetime, ...]
    ttl_s: float | None
    max_age_s: float | None


@dataclass(frozen=True, slots=True)
class ScheduleDecision:
    """When to poll next. ``interval_s`` is the new adaptive interval to store (after a failure it is
    the unchanged one, so a recovered source resumes its cadence); ``delay_s`` is the jittered delay
    actually used, ``next_check_at = now + delay_s``; ``reason`` is a short tag for logs and metrics."""

    next_check_at: datetime
    interval_s: float
    delay_s: float
    reason: str
