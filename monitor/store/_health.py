"""Source health for operations: what the health decider reads, and applying its transitions.

A transition is applied as a compare-and-set on ``sources.health_state`` / ``health_changed_at``
(the row must still be in the state the decider saw) together with the insertion of one ``kind="ops"``
outbox row whose dedup key names the source, the new state and the instant of the change. Two
replicas deciding the same transition at the same time therefore write one alert: the second one's
update matches no row (and, were it to slip through, its insert would hit the unique key).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.store._sources import _parse_times
from monitor.store.models import Alert, Source

__all__ = ["HealthInput", "HealthTransition", "SourceHealth", "apply_transitions", "health_inputs"]


@dataclass(frozen=True, slots=True)
class HealthInput:
    """What the health decider needs to know about one source."""

    source_id: int
    name: str
    url: str
    enabled: bool
    active: bool
    health_state: str
    health_changed_at: datetime | None
    created_at: datetime
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    error_count: int
    last_new_entry_at: datetime | None
    recent_entry_times: tuple[datetime, ...]


@dataclass(frozen=True, slots=True)
class HealthTransition:
    """A source moving from one health state to another (``ok`` | ``failing`` | ``silent``).

    ``seen_state`` and ``seen_changed_at`` are what the decider read: the store applies the transition
    only if the row still says so. ``detail`` is the plain-text reason shown in the alert.
    """

    source_id: int
    name: str
    url: str
    seen_state: str
    seen_changed_at: datetime | None
    new_state: str
    detail: str


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """The health columns the CLI shows next to a ``SourceRow``."""

    health_state: str
    health_changed_at: datetime | None
    last_problem: str | None
    last_problem_at: datetime | None
    last_new_entry_at: datetime | None


def health_inputs(session: Session) -> list[HealthInput]:
    return [
        HealthInput(
            source_id=s.id,
            name=s.name,
            url=s.url,
            enabled=s.enabled,
            active=s.active,
            health_state=s.health_state or "ok",
            health_changed_at=s.health_changed_at,
            created_at=s.created_at,
            last_success_at=s.last_success_at,
            last_error=s.last_error,
            last_error_at=s.last_error_at,
            error_count=s.error_count,
            last_new_entry_at=s.last_new_entry_at,
            recent_entry_times=_parse_times(s.recent_entry_times or []),
        )
        for s in session.scalars(select(Source).order_by(Source.id))
    ]


def source_health(session: Session) -> dict[int, SourceHealth]:
    rows = session.execute(
        select(
            Source.id,
            Source.health_state,
            Source.health_changed_at,
            Source.last_problem,
            Source.last_problem_at,
            Source.last_new_entry_at,
        )
    ).all()
    return {r[0]: SourceHealth(r[1] or "ok", r[2], r[3], r[4], r[5]) for r in rows}


def dedup_key(source_id: int, state: str, changed_at: datetime) -> str:
    return f"ops:{source_id}:{state}:{changed_at.isoformat()}"


def apply_transitions(
    session: Session, transitions: Sequence[HealthTransition], *, channel: str | None, now: datetime
) -> list[HealthTransition]:
    """Apply the transitions that still hold, each with its ops alert (none when ``channel`` is None);
    answers the ones applied. One transaction: the caller's session."""
    applied: list[HealthTransition] = []
    for t in transitions:
        seen_at = (
            Source.health_changed_at.is_(None)
            if t.seen_changed_at is None
            else Source.health_changed_at == t.seen_changed_at
        )
        result = session.execute(
            update(Source)
            .where(Source.id == t.source_id, Source.health_state == t.seen_state, seen_at)
            .values(health_state=t.new_state, health_changed_at=now)
            .execution_options(synchronize_session=False)
        )
        if not int(getattr(result, "rowcount", 0) or 0):
            continue  # another checker (replica) applied it first, or the row changed meanwhile
        applied.append(t)
        if channel is None:
            continue
        try:
            with session.begin_nested():
                session.add(
                    Alert(
                        dedup_key=dedup_key(t.source_id, t.new_state, now)[:200],
                        channel=channel,
                        mode="immediate",
                        status="pending",
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                        kind="ops",
                        payload={
                            "kind": "ops",
                            "source": t.name,
                            "source_id": t.source_id,
                            "url": t.url,
                            "state": t.new_state,
                            "previous": t.seen_state,
                            "detail": t.detail,
                            "title": f"source {t.name}: {t.new_state}",
                            "at": now.isoformat(),
                        },
                    )
                )
        except IntegrityError:
            applied.pop()
    return applied
