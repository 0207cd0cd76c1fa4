"""The scheduling deciders: bounds, jitter, adaptivity, backoff and recovery."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.schedule import (
    PollObservation,
    ScheduleState,
    failure_backoff_s,
    next_after_failure,
    next_after_success,
    publishing_interval_s,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
MIN, HOUR, DAY = 60.0, 3600.0, 86400.0
EPS = 1e-6


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def obs(
    new: int = 0,
    seen: int = 0,
    times: tuple[datetime, ...] = (),
    ttl: float | None = None,
    max_age: float | None = None,
) -> PollObservation:
    return PollObservation(
        new_entries=new, seen_entries=seen, entry_times=times, ttl_s=ttl, max_age_s=max_age
    )


times_strategy = st.lists(st.floats(min_value=-2 * HOUR, max_value=30 * DAY).map(ago), max_size=60).map(tuple)


@st.composite
def states(draw: st.DrawFn) -> ScheduleState:
    low = draw(st.floats(min_value=0, max_value=DAY))
    high = draw(st.floats(min_value=low, max_value=30 * DAY))
    return ScheduleState(
        interval_s=draw(st.floats(min_value=0, max_value=60 * DAY)),
        min_interval_s=low,
        max_interval_s=high,
        error_count=draw(st.integers(min_value=0, max_value=10_000)),
        recent_entry_times=draw(times_strategy),
    )


observations = st.builds(
    obs,
    new=st.integers(min_value=0, max_value=300),
    seen=st.integers(min_value=0, max_value=300),
    times=times_strategy,
    ttl=st.none() | st.floats(min_value=0, max_value=60 * DAY),
    max_age=st.none() | st.floats(min_value=0, max_value=400 * DAY),
)


@given(states(), observations, st.randoms(use_true_random=False))
def test_success_respects_bounds_hints_and_jitter(
    state: ScheduleState, observation: PollObservation, rng: random.Random
) -> None:
    decision = next_after_success(state, observation, now=NOW, rng=rng)
    low, high = state.min_interval_s, state.max_interval_s
    floor = min(high, max(low, observation.ttl_s or 0.0, observation.max_age_s or 0.0))
    assert low - EPS <= decision.interval_s <= high + EPS
    assert floor - EPS <= decision.interval_s
    assert floor - EPS <= decision.delay_s <= high + EPS
    assert abs(decision.delay_s - decision.interval_s) <= 0.1 * decision.interval_s + EPS
    assert decision.next_check_at == NOW + timedelta(seconds=decision.delay_s)


@given(states(), st.integers(min_value=1, max_value=100), times_strategy, st.randoms(use_true_random=False))
def test_all_new_polls_sooner_and_all_seen_backs_off_gently(
    state: ScheduleState, count: int, times: tuple[datetime, ...], rng: random.Random
) -> None:
    low, high = state.min_interval_s, state.max_interval_s
    previous = min(high, max(low, state.interval_s))
    sooner = next_after_success(state, obs(new=count, times=times), now=NOW, rng=rng)
    assert sooner.reason == "all-new"
    assert sooner.interval_s <= max(low, previous * 0.5) + EPS
    later = next_after_success(state, obs(seen=count, times=times), now=NOW, rng=rng)
    assert later.reason == "none-new"
    assert later.interval_s == pytest.approx(min(high, max(low, previous * 1.2)))


def test_rate_estimate_follows_the_publishing_frequency() -> None:
    hourly = tuple(ago(h * HOUR) for h in range(168))
    assert publishing_interval_s(hourly, now=NOW) == pytest.approx(HOUR, rel=0.01)
    # A feed window of 20 items over two days: the rate is over the span they cover, not the week.
    truncated = tuple(ago(i * 2.4 * HOUR) for i in range(20))
    assert publishing_interval_s(truncated, now=NOW) == pytest.approx(2.4 * HOUR, rel=0.06)
    # Three posts in the last hour are not "one every 20 minutes": the span is at least a day.
    assert publishing_interval_s((ago(60), ago(600), ago(3000)), now=NOW) == pytest.approx(8 * HOUR)
    assert publishing_interval_s((ago(30 * DAY),), now=NOW) == math.inf  # went quiet
    assert publishing_interval_s((), now=NOW) is None  # undated: no opinion
    naive = tuple(t.replace(tzinfo=None) for t in hourly)
    assert publishing_interval_s(naive, now=NOW.replace(tzinfo=None)) == pytest.approx(HOUR, rel=0.01)


def _simulate(state: ScheduleState, published_every_s: float, polls: int, seed: int = 7) -> ScheduleState:
    """Poll a source that publishes on a fixed grid (every ``published_every_s`` since a week before
    ``NOW``) and whose feed shows its 20 latest items; return the state after ``polls`` polls."""
    rng = random.Random(seed)
    origin = NOW - timedelta(days=7)
    now = NOW
    last_poll = now - timedelta(seconds=state.interval_s)
    for _ in range(polls):
        published = int((now - origin).total_seconds() // published_every_s)
        shown = tuple(
            origin + timedelta(seconds=k * published_every_s) for k in range(published, published - 20, -1)
        )
        new = sum(1 for t in shown if t > last_poll)
        observation = obs(new=new, seen=len(shown) - new, times=shown)
        decision = next_after_success(state, observation, now=now, rng=rng)
        kept = tuple(sorted({*state.recent_entry_times, *shown})[-50:])  # what the store keeps
        state = ScheduleState(
            decision.interval_s, state.min_interval_s, state.max_interval_s, recent_entry_times=kept
        )
        last_poll, now = now, decision.next_check_at
    return state


WEEK_S = 7 * DAY


@pytest.mark.parametrize(
    ("start", "period"),
    [(6 * HOUR, HOUR), (5 * MIN, HOUR), (10 * MIN, 6 * HOUR), (HOUR, 10 * MIN), (HOUR, 20 * HOUR)],
)
def test_interval_converges_towards_the_publishing_rate(start: float, period: float) -> None:
    state = ScheduleState(interval_s=start, min_interval_s=5 * MIN, max_interval_s=DAY)
    final = _simulate(state, period, polls=40)
    assert period / 1.5 <= final.interval_s <= period * 1.5


def test_quiet_source_drifts_to_the_maximum() -> None:
    old = tuple(ago(20 * DAY + h * HOUR) for h in range(20))
    state = ScheduleState(interval_s=HOUR, min_interval_s=5 * MIN, max_interval_s=DAY, recent_entry_times=old)
    rng = random.Random(1)
    for _ in range(30):
        decision = next_after_success(state, obs(seen=20, times=old), now=NOW, rng=rng)
        state = ScheduleState(
            decision.interval_s, state.min_interval_s, state.max_interval_s, recent_entry_times=old
        )
    assert state.interval_s == DAY


def test_ttl_and_max_age_are_floors_but_the_maximum_wins() -> None:
    state = ScheduleState(interval_s=10 * MIN, min_interval_s=5 * MIN, max_interval_s=12 * HOUR)
    rng = random.Random(3)
    for hint in ({"ttl": 2 * HOUR}, {"max_age": 2 * HOUR}):
        decision = next_after_success(state, obs(new=5, **hint), now=NOW, rng=rng)  # type: ignore[arg-type]
        assert decision.interval_s == 2 * HOUR
        assert 2 * HOUR <= decision.delay_s <= 2.2 * HOUR
    absurd = next_after_success(state, obs(new=5, max_age=365 * DAY), now=NOW, rng=rng)
    assert absurd.delay_s == pytest.approx(12 * HOUR)


def test_jitter_spreads_sources_even_on_a_bound() -> None:
    state = ScheduleState(interval_s=5 * MIN, min_interval_s=5 * MIN, max_interval_s=DAY)
    delays = [
        next_after_success(state, obs(new=3), now=NOW, rng=random.Random(seed)).delay_s for seed in range(200)
    ]
    assert all(5 * MIN <= d <= 5.5 * MIN for d in delays)
    assert len(set(delays)) == 200  # nobody piles up on the bound itself
    assert max(delays) - min(delays) > 0.4 * MIN
    middle = ScheduleState(interval_s=HOUR, min_interval_s=MIN, max_interval_s=DAY)
    spread = [
        next_after_success(middle, obs(new=1, seen=1), now=NOW, rng=random.Random(s)).delay_s
        for s in range(200)
    ]
    interval = next_after_success(middle, obs(new=1, seen=1), now=NOW, rng=random.Random(0)).interval_s
    assert min(spread) < interval * 0.95 and max(spread) > interval * 1.05


def test_deciders_are_pure() -> None:
    state = ScheduleState(
        interval_s=HOUR, min_interval_s=MIN, max_interval_s=DAY, recent_entry_times=(ago(HOUR),)
    )
    observation = obs(new=2, seen=5, times=(ago(60),))
    first = next_after_success(state, observation, now=NOW, rng=random.Random(42))
    assert first == next_after_success(state, observation, now=NOW, rng=random.Random(42))
    failure = next_after_failure(state, error_retry_after_s=None, now=NOW, rng=random.Random(42))
    assert failure == next_after_failure(state, error_retry_after_s=None, now=NOW, rng=random.Random(42))


@given(
    st.integers(min_value=0, max_value=200),
    st.floats(min_value=1, max_value=DAY),
    st.floats(min_value=1, max_value=7 * DAY),
)
def test_backoff_is_monotone_and_capped(errors: int, base: float, cap: float) -> None:
    here = failure_backoff_s(errors, base_s=base, cap_s=cap)
    after = failure_backoff_s(errors + 1, base_s=base, cap_s=cap)
    assert here <= after <= cap
    assert after == min(cap, 2 * here) or here == cap
    assert failure_backoff_s(10**9, base_s=base, cap_s=cap) == cap


@given(
    states(),
    st.none() | st.floats(min_value=0, max_value=10 * DAY),
    st.randoms(use_true_random=False),
)
def test_failure_delay_is_bounded_jittered_and_honours_retry_after(
    state: ScheduleState, retry_after: float | None, rng: random.Random
) -> None:
    decision = next_after_failure(state, error_retry_after_s=retry_after, now=NOW, rng=rng)
    base = max(60.0, state.min_interval_s)
    backoff = failure_backoff_s(state.error_count, base_s=min(base, DAY), cap_s=DAY)
    assert 0 < decision.delay_s <= DAY + EPS  # never abandoned: at least one attempt a day
    if retry_after is not None:
        assert decision.delay_s >= min(retry_after, DAY) - EPS
    if decision.reason == "backoff":
        assert 0.9 * backoff - EPS <= decision.delay_s <= 1.1 * backoff + EPS
    assert decision.next_check_at == NOW + timedelta(seconds=decision.delay_s)
    # The adaptive interval is kept for when the source recovers.
    assert decision.interval_s == pytest.approx(
        min(state.max_interval_s, max(state.min_interval_s, state.interval_s))
    )


def test_consecutive_failures_back_off_then_stay_at_the_cap() -> None:
    rng = random.Random(5)
    state = ScheduleState(interval_s=HOUR, min_interval_s=5 * MIN, max_interval_s=DAY)
    delays = []
    for errors in range(16):
        failing = ScheduleState(
            state.interval_s, state.min_interval_s, state.max_interval_s, error_count=errors
        )
        delays.append(next_after_failure(failing, error_retry_after_s=None, now=NOW, rng=rng).delay_s)
    assert 4.5 * MIN <= delays[0] <= 5.5 * MIN
    uncapped = [d for d in delays if d < 0.9 * DAY]
    assert uncapped == sorted(uncapped) and len(uncapped) >= 8  # doubling beats a 10% jitter
    assert all(0.9 * DAY <= d <= DAY for d in delays[-4:])


def test_retry_after_wins_over_a_shorter_backoff_but_not_over_the_cap() -> None:
    state = ScheduleState(interval_s=HOUR, min_interval_s=MIN, max_interval_s=DAY)
    told = next_after_failure(state, error_retry_after_s=2 * HOUR, now=NOW, rng=random.Random(1))
    assert told.reason == "retry-after"
    assert 2 * HOUR <= told.delay_s <= 2.2 * HOUR
    too_long = next_after_failure(state, error_retry_after_s=5 * DAY, now=NOW, rng=random.Random(1))
    assert too_long.delay_s == DAY
    custom_cap = next_after_failure(
        state, error_retry_after_s=5 * DAY, now=NOW, rng=random.Random(1), cap_s=HOUR
    )
    assert custom_cap.delay_s == HOUR


def test_recovery_ignores_past_errors() -> None:
    healthy = ScheduleState(interval_s=HOUR, min_interval_s=MIN, max_interval_s=DAY)
    sick = ScheduleState(interval_s=HOUR, min_interval_s=MIN, max_interval_s=DAY, error_count=9)
    failed = next_after_failure(sick, error_retry_after_s=None, now=NOW, rng=random.Random(0))
    assert failed.delay_s > 4 * HOUR and failed.interval_s == HOUR
    observation = obs(new=2, seen=8)
    recovered = next_after_success(sick, observation, now=NOW, rng=random.Random(9))
    assert recovered == next_after_success(healthy, observation, now=NOW, rng=random.Random(9))
    assert recovered.delay_s < 1.5 * HOUR


def test_broken_state_values_do_not_break_the_decider() -> None:
    weird = ScheduleState(interval_s=math.nan, min_interval_s=-5, max_interval_s=math.inf, error_count=-3)
    ok = next_after_success(weird, obs(new=1, ttl=math.nan, max_age=math.inf), now=NOW, rng=random.Random(0))
    assert math.isfinite(ok.delay_s) and ok.delay_s >= 0
    failed = next_after_failure(weird, error_retry_after_s=math.inf, now=NOW, rng=random.Random(0))
    assert 0 < failed.delay_s <= DAY
    inverted = ScheduleState(interval_s=HOUR, min_interval_s=DAY, max_interval_s=MIN)
    pinned = next_after_success(inverted, obs(new=1), now=NOW, rng=random.Random(0))
    assert pinned.interval_s == DAY
