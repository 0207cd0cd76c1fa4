"""Digest schedules, quiet hours and digest boundaries: pure time arithmetic in named time zones."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.runtime._digest import ChannelPolicy, QuietHours, Schedule, digest_key


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_hourly_follows_local_hours_in_a_half_hour_zone() -> None:
    s = Schedule(tz="Asia/Kolkata", every_s=3600)  # UTC+05:30
    t = utc(2026, 11, 20, 10, 10)
    assert s.last_at_or_before(t) == utc(2026, 11, 20, 9, 30)
    assert s.next_after(t) == utc(2026, 11, 20, 10, 30)
    assert s.last_at_or_before(utc(2026, 11, 20, 9, 30)) == utc(2026, 11, 20, 9, 30)  # inclusive


def test_daily_0800_paris_keeps_local_time_across_dst() -> None:
    s = Schedule(tz="Europe/Paris", at=(time(8, 0),))
    assert s.next_after(utc(2026, 3, 28, 12)) == utc(2026, 3, 29, 6)  # CEST from 29 March: 08:00 = 06:00Z
    assert s.last_at_or_before(utc(2026, 3, 29, 5)) == utc(2026, 3, 28, 7)  # CET the day before
    assert s.next_after(utc(2026, 10, 24, 12)) == utc(2026, 10, 25, 7)  # back to CET on 25 October


def test_weekly_digest_on_chosen_days() -> None:
    s = Schedule(tz="America/New_York", at=(time(9, 0),), days=frozenset({0}))  # Mondays 09:00
    friday = utc(2026, 11, 20, 18)
    assert s.next_after(friday) == utc(2026, 11, 23, 14)
    assert s.last_at_or_before(friday) == utc(2026, 11, 16, 14)


def test_quiet_hours_span_midnight() -> None:
    q = QuietHours(time(22, 0), time(7, 0), "Europe/Berlin")  # UTC+1 in November
    assert q.window_at(utc(2026, 11, 20, 20, 59)) is None
    assert q.window_at(utc(2026, 11, 20, 21, 0)) == (utc(2026, 11, 20, 21), utc(2026, 11, 21, 6))
    assert q.window_at(utc(2026, 11, 21, 5, 59)) == (utc(2026, 11, 20, 21), utc(2026, 11, 21, 6))
    assert q.window_at(utc(2026, 11, 21, 6, 0)) is None
    assert q.next_end_after(utc(2026, 11, 20, 12)) == utc(2026, 11, 21, 6)
    assert q.last_end_at_or_before(utc(2026, 11, 20, 12)) == utc(2026, 11, 20, 6)


def test_digest_instant_inside_quiet_hours_is_postponed_to_their_end() -> None:
    p = ChannelPolicy(digest=Schedule(at=(time(23, 0),)), quiet=QuietHours(time(22, 0), time(7, 0)))
    assert p.next_boundary(utc(2026, 11, 20, 12)) == utc(2026, 11, 21, 7)
    assert p.next_boundary(utc(2026, 11, 20, 23, 30)) == utc(2026, 11, 21, 7)  # 23:00 passed, still quiet
    assert p.last_boundary(utc(2026, 11, 21, 6, 59)) == utc(2026, 11, 20, 7)
    assert p.last_boundary(utc(2026, 11, 21, 7, 0)) == utc(2026, 11, 21, 7)


def test_without_own_digest_quiet_hours_end_is_a_boundary() -> None:
    p = ChannelPolicy(quiet=QuietHours(time(22, 0), time(7, 0)), default=Schedule(at=(time(8, 0),)))
    assert p.next_boundary(utc(2026, 11, 20, 23)) == utc(2026, 11, 21, 7)
    assert p.next_boundary(utc(2026, 11, 21, 7, 30)) == utc(2026, 11, 21, 8)
    assert p.last_boundary(utc(2026, 11, 21, 7, 30)) == utc(2026, 11, 21, 7)
    assert p.holds(utc(2026, 11, 20, 23)) and not p.holds(utc(2026, 11, 20, 21))
    assert ChannelPolicy(digest_only=True).holds(utc(2026, 11, 20, 12))


def test_digest_key_is_stable_per_channel_and_period() -> None:
    end = utc(2026, 11, 21, 7)
    assert digest_key("team", end) == "monitor-digest-team-20261121T070000Z"
    assert digest_key("team", end.astimezone(ZoneInfo("Asia/Tokyo"))) == digest_key("team", end)
    assert digest_key("other", end) != digest_key("team", end)


def test_invalid_schedules_are_refused() -> None:
    with pytest.raises(ValueError, match="divide a day"):
        Schedule(every_s=7 * 3600)
    with pytest.raises(ValueError, match="exactly one"):
        Schedule(every_s=3600, at=(time(8),))
    with pytest.raises(ValueError, match="start != end"):
        QuietHours(time(8), time(8))


ZONES = st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"])
INSTANTS = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1)).map(
    lambda d: d.replace(tzinfo=UTC)
)


@settings(max_examples=300, deadline=None)
@given(
    tz=ZONES,
    every=st.sampled_from([900, 3600, 6 * 3600, 86400]),
    at=st.lists(st.times(), min_size=1, max_size=3),
    use_every=st.booleans(),
    quiet=st.one_of(st.none(), st.tuples(st.times(), st.times()).filter(lambda p: p[0] != p[1])),
    own=st.booleans(),
    t=INSTANTS,
)
def test_boundaries_bracket_any_instant_and_avoid_quiet_hours(
    tz: str,
    every: int,
    at: list[time],
    use_every: bool,
    quiet: tuple[time, time] | None,
    own: bool,
    t: datetime,
) -> None:
    schedule = Schedule(tz=tz, every_s=every) if use_every else Schedule(tz=tz, at=tuple(at))
    q = QuietHours(quiet[0], quiet[1], tz) if quiet else None
    p = ChannelPolicy(digest=schedule if own else None, quiet=q, default=schedule)
    last, nxt = p.last_boundary(t), p.next_boundary(t)
    assert last <= t < nxt
    assert nxt - last <= timedelta(days=3)
    for b in (last, nxt):
        assert not p.quiet_at(b)  # a digest never goes out inside quiet hours
    assert p.last_boundary(nxt) == nxt and p.next_boundary(last) > last
