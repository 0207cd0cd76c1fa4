"""When a channel may be sent to: digest schedules, quiet hours, and the boundaries at which digests close.

Pure time arithmetic (zoneinfo, no database), so that the rules are tested directly:

* A ``Schedule`` is a set of instants: ``every`` N (a divisor of a day; periods start at local midnight
  and repeat every N of elapsed time) or ``at`` times of day (optionally on some weekdays), in a named
  time zone. Digests close at those instants.
* ``QuietHours`` is a daily local window (it may span midnight). Nothing is sent to the channel inside
  it: immediate alerts that come due are *held* (they join the channel's digest), a digest instant
  inside the window is postponed to the window's end, and a retry that falls inside waits for the end.
* Where the held alerts go (``ChannelPolicy.boundaries``): a channel with its own ``digest`` schedule
  sends them in its next digest; a channel without one sends them, as one digest, when the quiet hours
  end. Digest-mode alerts on a channel without its own schedule follow the default schedule
  (``delivery.digest``, daily at 08:00 UTC unless configured).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

__all__ = ["ChannelPolicy", "QuietHours", "Schedule", "digest_key", "policies_from_settings"]

_DAY = timedelta(days=1)
_TICK = timedelta(microseconds=1)
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _at(day: date, clock: time, tz: str) -> datetime:
    """The UTC instant of a local wall-clock time (a time skipped by DST maps as zoneinfo's fold=0 does)."""
    return datetime.combine(day, clock, tzinfo=_zone(tz)).astimezone(UTC)


def _local_day(t: datetime, tz: str) -> date:
    return t.astimezone(_zone(tz)).date()


@dataclass(frozen=True, slots=True)
class Schedule:
    tz: str = "UTC"
    every_s: int | None = None
    at: tuple[time, ...] = ()
    days: frozenset[int] = frozenset()  # weekday numbers (Monday 0); empty means every day

    def __post_init__(self) -> None:
        if (self.every_s is None) == (not self.at):
            raise ValueError("a schedule has exactly one of every_s or at")
        if self.every_s is not None and (self.every_s <= 0 or 86400 % self.every_s):
            raise ValueError("every_s must divide a day")
        _zone(self.tz)

    def _midnight(self, t: datetime) -> datetime:
        day = _local_day(t, self.tz)
        m = _at(day, time(0), self.tz)
        return m if m <= t else _at(day - _DAY, time(0), self.tz)

    def _instants(self, day: date) -> list[datetime]:
        if self.days and day.weekday() not in self.days:
            return []
        return sorted({_at(day, clock, self.tz) for clock in self.at})

    def last_at_or_before(self, t: datetime) -> datetime:
        if self.every_s is not None:
            m = self._midnight(t)
            return m + timedelta(seconds=self.every_s * ((t - m) // timedelta(seconds=self.every_s)))
        day = _local_day(t, self.tz)
        for back in range(9):
            found = [i for i in self._instants(day - back * _DAY) if i <= t]
            if found:
                return found[-1]
        raise ValueError("schedule has no instant in the last week")  # pragma: no cover - validated

    def next_after(self, t: datetime) -> datetime:
        if self.every_s is not None:
            m = self._midnight(t)
            step = timedelta(seconds=self.every_s)
            nxt = m + step * ((t - m) // step + 1)
            tomorrow = _at(_local_day(m, self.tz) + _DAY, time(0), self.tz)
            return min(nxt, tomorrow) if tomorrow > t else nxt
        day = _local_day(t, self.tz)
        for ahead in range(9):
            found = [i for i in self._instants(day + ahead * _DAY) if i > t]
            if found:
                return found[0]
        raise ValueError("schedule has no instant in the next week")  # pragma: no cover - validated


@dataclass(frozen=True, slots=True)
class QuietHours:
    start: time
    end: time
    tz: str = "UTC"

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValueError("quiet hours need start != end")
        _zone(self.tz)

    def _window(self, day: date) -> tuple[datetime, datetime]:
        """The window that starts on local ``day`` (it ends the next day when it spans midnight)."""
        end_day = day if self.end > self.start else day + _DAY
        return _at(day, self.start, self.tz), _at(end_day, self.end, self.tz)

    def _windows(self, t: datetime, days: Iterable[int]) -> list[tuple[datetime, datetime]]:
        base = _local_day(t, self.tz)
        return [self._window(base + k * _DAY) for k in days]

    def window_at(self, t: datetime) -> tuple[datetime, datetime] | None:
        for start, end in self._windows(t, (-1, 0)):
            if start <= t < end:
                return start, end
        return None

    def last_end_at_or_before(self, t: datetime) -> datetime:
        return max(end for _start, end in self._windows(t, (-2, -1, 0)) if end <= t)

    def next_end_after(self, t: datetime) -> datetime:
        return min(end for _start, end in self._windows(t, (-1, 0, 1)) if end > t)


DEFAULT_DIGEST = Schedule(tz="UTC", at=(time(8, 0),))


@dataclass(frozen=True, slots=True)
class ChannelPolicy:
    """Delivery timing of one channel. ``digest`` is the channel's own schedule (None: ``default``)."""

    digest: Schedule | None = None
    quiet: QuietHours | None = None
    digest_only: bool = False  # every alert waits for the digest (e-mail ``per: digest``)
    default: Schedule = field(default=DEFAULT_DIGEST)
    # Later members of an alerted story: "send" (update / follow-up), "digest" or "silence" (e-mail).
    story_updates: str = "send"

    def quiet_at(self, t: datetime) -> bool:
        return self.quiet is not None and self.quiet.window_at(t) is not None

    def holds(self, t: datetime) -> bool:
        """Whether immediate alerts of this channel that come due at ``t`` join its digest instead."""
        return self.digest_only or self.quiet_at(t)

    def quiet_end(self, t: datetime) -> datetime | None:
        window = self.quiet.window_at(t) if self.quiet is not None else None
        return window[1] if window else None

    def _schedule(self) -> Schedule:
        return self.digest or self.default

    def last_boundary(self, t: datetime) -> datetime:
        """The latest instant at or before ``t`` at which a digest of this channel closes."""
        schedule = self._schedule()
        s = schedule.last_at_or_before(t)
        while (window := self.quiet.window_at(s) if self.quiet else None) is not None:
            if window[1] <= t:
                s = window[1]
                break
            s = schedule.last_at_or_before(window[0] - _TICK)
        if self.quiet is not None and self.digest is None:
            s = max(s, self.quiet.last_end_at_or_before(t))
        return s

    def next_boundary(self, t: datetime) -> datetime:
        """The first instant after ``t`` at which a digest of this channel closes."""
        schedule = self._schedule()
        s = schedule.next_after(t)
        window = self.quiet.window_at(s) if self.quiet else None
        if window is not None:
            s = window[1]
        now_window = self.quiet.window_at(t) if self.quiet else None
        if now_window is not None and schedule.last_at_or_before(t) >= now_window[0]:
            s = min(s, now_window[1])  # an instant already passed inside these quiet hours
        if self.quiet is not None and self.digest is None:
            s = min(s, self.quiet.next_end_after(t))
        return s


def digest_key(channel: str, period_end: datetime) -> str:
    """The digest's idempotency key: stable for a channel and period, whoever seals or sends it."""
    return f"monitor-digest-{channel}-{period_end.astimezone(UTC):%Y%m%dT%H%M%SZ}"


# --- from the settings ------------------------------------------------------------------------------------
class _ScheduleConfig(Protocol):
    @property
    def every(self) -> float | None: ...
    @property
    def at(self) -> Sequence[time]: ...
    @property
    def days(self) -> Sequence[str]: ...
    @property
    def timezone(self) -> str | None: ...


class _QuietConfig(Protocol):
    @property
    def start(self) -> time: ...
    @property
    def end(self) -> time: ...
    @property
    def timezone(self) -> str | None: ...


class _ChannelConfig(Protocol):
    @property
    def digest(self) -> _ScheduleConfig | None: ...
    @property
    def quiet_hours(self) -> _QuietConfig | None: ...


class _DeliveryConfig(Protocol):
    @property
    def timezone(self) -> str: ...
    @property
    def digest(self) -> _ScheduleConfig: ...


class _SettingsLike(Protocol):
    @property
    def delivery(self) -> _DeliveryConfig: ...
    @property
    def channels(self) -> Mapping[str, _ChannelConfig]: ...


def schedule_of(cfg: _ScheduleConfig, default_tz: str) -> Schedule:
    return Schedule(
        tz=cfg.timezone or default_tz,
        every_s=int(cfg.every) if cfg.every is not None else None,
        at=tuple(cfg.at),
        days=frozenset(_WEEKDAYS.index(d) for d in cfg.days),
    )


def policies_from_settings(settings: _SettingsLike) -> tuple[dict[str, ChannelPolicy], Schedule]:
    """Each declared channel's policy, and the default digest schedule (for channels not declared)."""
    tz = settings.delivery.timezone
    default = schedule_of(settings.delivery.digest, tz)
    out: dict[str, ChannelPolicy] = {}
    for name, cfg in settings.channels.items():
        quiet = cfg.quiet_hours
        out[name] = ChannelPolicy(
            digest=schedule_of(cfg.digest, tz) if cfg.digest is not None else None,
            quiet=QuietHours(quiet.start, quiet.end, quiet.timezone or tz) if quiet is not None else None,
            digest_only=getattr(cfg, "per", "alert") == "digest",
            default=default,
            story_updates=str(getattr(cfg, "story_updates", "send")),
        )
    return out, default
