"""Pure scheduling deciders: when to poll a source next, after a success or a failure.

No I/O and no clock: ``now`` and a ``random.Random`` are passed in, so every decision is reproducible.

After a success two signals are combined:

* the publishing rate, in the manner of Miniflux's entry-frequency scheduler: the time spanned by the
  entries published in the last week divided by their number (the span, not the whole week, so a feed
  window that only shows the last two days still gives the true rate), so a feed that posts twenty items
  a day is polled about hourly and one silent for a week drifts to the maximum;
* the share of already-seen items, in the manner of Media Cloud's crawler: a poll where everything is new
  may have missed items (the feed window overflowed), so the next one comes twice as soon; a poll where
  nothing is new backs off gently (x1.2); a mixed poll moves halfway (geometrically) from the previous
  interval towards the rate estimate. Polling a steady source therefore settles at about one new item
  per poll.

The result is clamped to the source's ``[min_interval_s, max_interval_s]`` and never below the feed's
TTL or HTTP max-age, except that ``max_interval_s`` wins over a publisher's hint: a misconfigured
``max-age=31536000`` must not silence a source for a year. Jitter (+-10% by default) spreads sources that
were scheduled together, reflected at the bounds so it never piles them up on a bound.

After a failure the delay doubles with each consecutive error (from the larger of one minute and the
source's minimum interval), is jittered, capped (24 h by default) and never shorter than ``Retry-After``
(within the cap). A source is never abandoned: the worst case is one attempt per cap period.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from monitor.schedule._types import PollObservation, ScheduleDecision, ScheduleState

__all__ = [
    "failure_backoff_s",
    "next_after_failure",
    "next_after_success",
    "publishing_interval_s",
]

DAY = 86400.0
WEEK = 7 * DAY
_LONGEST = 365 * DAY  # no interval, bound or hint may push a check further than this
_SOONER = 0.5  # all items new: poll twice as soon
_LATER = 1.2  # no new item: back off gently
_SKEW = timedelta(hours=1)  # entries dated slightly in the future (clock skew) still count


def _finite(value: float | None, default: float) -> float:
    return default if value is None or not math.isfinite(value) else value


def _bounds(state: ScheduleState) -> tuple[float, float]:
    low = min(max(0.0, _finite(state.min_interval_s, 0.0)), _LONGEST)
    high = min(max(low, _finite(state.max_interval_s, low)), _LONGEST)
    return low, high


def _clamp(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _jitter(value: float, low: float, high: float, rng: random.Random, fraction: float) -> float:
    """``value`` moved by up to ``fraction`` either way, reflected back inside ``[low, high]``.

    Reflection (instead of clamping) keeps the spread when ``value`` sits on a bound, so sources at
    their minimum interval do not all fire on the same tick.
    """
    spread = abs(value) * max(0.0, fraction)
    moved = value + rng.uniform(-spread, spread)
    if moved < low:
        moved = low + (low - moved)
    if moved > high:
        moved = high - (moved - high)
    return _clamp(moved, low, high)


def publishing_interval_s(
    times: Iterable[datetime], *, now: datetime, window_s: float = WEEK
) -> float | None:
    """Average seconds between entries over the recent window, or ``None`` without any dated entry.

    Entries older than the window mean the source went quiet: ``math.inf`` (the caller clamps to its
    maximum). The span is at least a day, so three posts in the last hour do not mean "every 20 min".
    """
    stamps = {_utc(t) for t in times}
    if not stamps:
        return None
    now = _utc(now)
    start = now - timedelta(seconds=window_s)
    recent = [min(t, now) for t in stamps if start <= t <= now + _SKEW]
    if not recent:
        return math.inf
    # A handful of entries is weak evidence: their span counts as at least a day, a floor that
    # shrinks as entries get numerous (fifty posts in eight hours do mean one every ten minutes).
    floor = min(window_s, DAY * min(1.0, 4.0 / len(recent)))
    span = _clamp((now - min(recent)).total_seconds(), floor, window_s)
    return span / len(recent)


def next_after_success(
    state: ScheduleState,
    obs: PollObservation,
    *,
    now: datetime,
    rng: random.Random,
    jitter: float = 0.1,
) -> ScheduleDecision:
    """The next check after a successful poll (including 304 / unchanged body)."""
    low, high = _bounds(state)
    hint = max(_finite(obs.ttl_s, 0.0), _finite(obs.max_age_s, 0.0))
    floor = min(high, max(low, hint))
    previous = _clamp(_finite(state.interval_s, high), low, high)
    rate = publishing_interval_s((*state.recent_entry_times, *obs.entry_times), now=now)
    target = previous if rate is None else _clamp(rate, low, high)
    new, seen = max(0, obs.new_entries), max(0, obs.seen_entries)
    if new > 0 and seen == 0:
        interval, reason = min(previous, target) * _SOONER, "all-new"
    elif new == 0:
        interval, reason = previous * _LATER, "none-new"
    else:
        interval, reason = math.sqrt(previous * target), "mixed"
    interval = _clamp(interval, floor, high)
    delay = _jitter(interval, floor, high, rng, jitter)
    return ScheduleDecision(
        next_check_at=_utc(now) + timedelta(seconds=delay),
        interval_s=interval,
        delay_s=delay,
        reason=reason,
    )


def failure_backoff_s(error_count: int, *, base_s: float, cap_s: float) -> float:
    """``base_s * 2**error_count`` capped at ``cap_s``: the un-jittered delay after a failure."""
    exponent = min(max(0, error_count), 64)  # 2**64 minutes is far past any cap; avoid float overflow
    return min(cap_s, base_s * 2.0**exponent)


def next_after_failure(
    state: ScheduleState,
    *,
    error_retry_after_s: float | None,
    now: datetime,
    rng: random.Random,
    cap_s: float = DAY,
    base_s: float | None = None,
    jitter: float = 0.1,
) -> ScheduleDecision:
    """The next attempt after a failed poll; ``state.error_count`` is the count *before* this failure.

    The adaptive ``interval_s`` is returned unchanged, so the next success resumes the usual cadence.
    """
    low, high = _bounds(state)
    cap = _clamp(_finite(cap_s, DAY), 1.0, _LONGEST)
    base = _clamp(base_s if base_s is not None else max(60.0, low), 1.0, cap)
    backoff = failure_backoff_s(state.error_count, base_s=base, cap_s=cap)
    delay = _jitter(backoff, min(low, cap), cap, rng, jitter)
    reason = "backoff"
    retry_after = _finite(error_retry_after_s, -1.0)
    if retry_after >= 0:
        # Honour the server, spreading upwards only so nobody comes back early; the cap still holds.
        wanted = min(cap, retry_after * (1.0 + rng.uniform(0.0, max(0.0, jitter))))
        if wanted > delay:
            delay, reason = wanted, "retry-after"
    return ScheduleDecision(
        next_check_at=_utc(now) + timedelta(seconds=delay),
        interval_s=_clamp(_finite(state.interval_s, high), low, high),
        delay_s=delay,
        reason=reason,
    )
