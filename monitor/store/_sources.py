"""Sources and watchlists: declarations synced from the config, CLI edits, and the due-source query."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import ColumnElement, Table, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from monitor.store._types import SourceRow, SourceSpec, StoreError, WatchlistRow, WatchlistSpec
from monitor.store.models import Article, Source, Watchlist


def _parse_times(values: Sequence[object]) -> tuple[datetime, ...]:
    out: list[datetime] = []
    for value in values:
        if isinstance(value, str):
            try:
                out.append(datetime.fromisoformat(value))
            except ValueError:
                continue
    return tuple(out)


def source_row(src: Source, articles_24h: int = 0) -> SourceRow:
    return SourceRow(
        id=src.id,
        name=src.name,
        url=src.url,
        kind=src.kind,
        origin=src.origin,
        options=dict(src.options or {}),
        enabled=src.enabled,
        active=src.active,
        deactivated_reason=src.deactivated_reason,
        first_poll=src.first_poll,
        interval_s=src.interval_s,
        min_interval_s=src.min_interval_s,
        max_interval_s=src.max_interval_s,
        current_interval_s=src.current_interval_s,
        allow_private_networks=src.allow_private_networks,
        etag=src.etag,
        last_modified=src.last_modified,
        body_hash=src.body_hash,
        next_check_at=src.next_check_at,
        last_checked_at=src.last_checked_at,
        last_success_at=src.last_success_at,
        last_error=src.last_error,
        last_error_at=src.last_error_at,
        error_count=src.error_count,
        polls=src.polls,
        recent_entry_times=_parse_times(src.recent_entry_times or []),
        articles_24h=articles_24h,
    )


def _apply_spec(src: Source, spec: SourceSpec, now: datetime) -> bool:
    """Copy a declaration onto a row; True when something changed. A changed URL resets fetch state."""
    changed = False
    fields = {
        "kind": spec.kind,
        "interval_s": spec.interval_s,
        "min_interval_s": spec.min_interval_s,
        "max_interval_s": spec.max_interval_s,
        "first_poll": spec.first_poll,
        "allow_private_networks": spec.allow_private_networks,
        "enabled": spec.enabled,
        "options": dict(spec.options),
    }
    for key, value in fields.items():
        if getattr(src, key) != value:
            setattr(src, key, value)
            changed = True
    if src.url != spec.url:
        src.url = spec.url
        src.etag = src.last_modified = src.body_hash = None
        src.active, src.deactivated_reason = True, None
        src.next_check_at = now
        changed = True
    if not src.min_interval_s <= src.current_interval_s <= src.max_interval_s:
        src.current_interval_s = spec.interval_s
    if changed:
        src.updated_at = now
    return changed


def _new_source(spec: SourceSpec, origin: str, now: datetime) -> Source:
    src = Source(
        name=spec.name,
        url=spec.url,
        origin=origin,
        created_at=now,
        updated_at=now,
        next_check_at=now,
        current_interval_s=spec.interval_s,
        etag=None,
        last_modified=None,
        body_hash=None,
        error_count=0,
        polls=0,
        active=True,
        recent_entry_times=[],
    )
    _apply_spec(src, spec, now)
    return src


def sync_sources(session: Session, specs: Sequence[SourceSpec], now: datetime) -> tuple[int, int, int]:
    """Make config-declared sources match the file: (added, changed, removed)."""
    existing = {s.name: s for s in session.scalars(select(Source))}
    added = changed = removed = 0
    wanted = {spec.name for spec in specs}
    for spec in specs:
        src = existing.get(spec.name)
        if src is None:
            session.add(_new_source(spec, "config", now))
            added += 1
        else:
            if src.origin != "config":
                src.origin = "config"
            changed += _apply_spec(src, spec, now)
    for name, src in existing.items():
        if src.origin == "config" and name not in wanted:
            session.delete(src)
            removed += 1
    return added, changed, removed


def add_source(session: Session, spec: SourceSpec, now: datetime) -> Source:
    if session.scalar(select(Source.id).where(Source.name == spec.name)) is not None:
        raise StoreError(f"a source named {spec.name!r} already exists")
    src = _new_source(spec, "cli", now)
    session.add(src)
    session.flush()
    return src


def find_source(session: Session, ref: str) -> Source:
    """By name, by numeric id, or by URL."""
    stmt = select(Source).where(or_(Source.name == ref, Source.url == ref))
    if ref.isdigit():
        stmt = select(Source).where(or_(Source.name == ref, Source.id == int(ref)))
    found = session.scalars(stmt).first()
    if found is None:
        raise StoreError(f"no source named {ref!r}")
    return found


def list_sources(session: Session, now: datetime) -> list[SourceRow]:
    since = now - timedelta(hours=24)
    counts = dict(
        session.execute(
            select(Article.source_id, func.count())
            .where(Article.first_seen_at >= since)
            .group_by(Article.source_id)
        ).all()
    )
    return [source_row(s, counts.get(s.id, 0)) for s in session.scalars(select(Source).order_by(Source.name))]


def claim_due(session: Session, *, now: datetime, limit: int, lease_s: float) -> list[SourceRow]:
    """Sources due now, leased so that the next tick does not hand them out again while in flight.

    Read as plain rows and leased with one ``UPDATE ... WHERE id IN``: ``run_once`` claims a thousand
    sources at a time, and loading each as an ORM object and flushing its new lease (one UPDATE per
    row) was about a fifth of the steady pass's thread-pool time (``bench/poll.py``, py-spy).
    """
    table = cast(Table, Source.__table__)
    stmt = select(table).where(*_due_free(now)).order_by(table.c.next_check_at).limit(limit)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = session.execute(stmt).all()
    lease = now + timedelta(seconds=lease_s)
    ids = [row.id for row in rows]
    for i in range(0, len(ids), _LEASE_CHUNK):
        session.execute(_LEASE, {"ids": ids[i : i + _LEASE_CHUNK], "lease": lease})
    return [source_row(cast(Source, row)) for row in rows]  # a row has every column as an attribute


_LEASE_CHUNK = 500
_LEASE = (
    update(Source)
    .where(Source.id.in_(bindparam("ids", expanding=True)))
    .values(lease_until=bindparam("lease"))
    .execution_options(synchronize_session=False)
)


def force_due(session: Session, now: datetime) -> int:
    """Make every enabled, active source due now (``run --once`` does one pass over all of them)."""
    result = session.execute(
        update(Source)
        .where(Source.enabled.is_(True), Source.active.is_(True))
        .values(next_check_at=now, lease_until=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _due_free(now: datetime) -> list[ColumnElement[bool]]:
    return [
        Source.enabled.is_(True),
        Source.active.is_(True),
        Source.next_check_at <= now,
        or_(Source.lease_until.is_(None), Source.lease_until < now),
    ]


def due_ids(session: Session, *, now: datetime, limit: int) -> list[int]:
    """Ids of sources due now and not leased, earliest first (the job queue's tick; nothing written)."""
    stmt = select(Source.id).where(*_due_free(now)).order_by(Source.next_check_at).limit(limit)
    return list(session.scalars(stmt))


def lease_ids(session: Session, ids: Sequence[int], *, until: datetime, now: datetime) -> int:
    """Lease those of ``ids`` still due and free until ``until``, the fencing value of their poll jobs."""
    if not ids:
        return 0
    stmt = update(Source).where(Source.id.in_(list(ids)), *_due_free(now)).values(lease_until=until)
    return int(getattr(session.execute(stmt), "rowcount", 0) or 0)


def start_poll(session: Session, source_id: int, *, lease: datetime, now: datetime) -> SourceRow | None:
    """The source a poll job may poll now, or None when it must not.

    A job carries the lease value of the tick that deferred it. It may poll when the source still holds
    exactly that lease (also when the job is retried after its worker died: the dead run never recorded
    a poll, which would have cleared the lease), or when the source is due and free (the tick died
    before leasing it); it then takes that lease. Anything else (polled since, or leased by another job)
    means another run owns the source: the job does nothing.
    """
    src = session.scalars(select(Source).where(Source.id == source_id).with_for_update()).first()
    if src is None or not (src.enabled and src.active):
        return None
    held = src.lease_until
    if held != lease and not (src.next_check_at <= now and (held is None or held < now)):
        return None
    src.lease_until = lease
    return source_row(src)


def watchlist_row(wl: Watchlist) -> WatchlistRow:
    return WatchlistRow(
        id=wl.id,
        name=wl.name,
        query=wl.query,
        channels=tuple(wl.channels or ()),
        mode=wl.mode,
        synonyms=tuple(tuple(g) for g in wl.synonyms or ()),
        origin=wl.origin,
        enabled=wl.enabled,
        updated_at=wl.updated_at,
    )


def _apply_watchlist(wl: Watchlist, spec: WatchlistSpec, now: datetime) -> bool:
    fields = {
        "query": spec.query,
        "channels": list(spec.channels),
        "mode": spec.mode,
        "synonyms": [list(g) for g in spec.synonyms],
        "enabled": spec.enabled,
    }
    changed = False
    for key, value in fields.items():
        if getattr(wl, key) != value:
            setattr(wl, key, value)
            changed = True
    if changed:
        wl.updated_at = now
    return changed


def sync_watchlists(session: Session, specs: Sequence[WatchlistSpec], now: datetime) -> tuple[int, int, int]:
    existing = {w.name: w for w in session.scalars(select(Watchlist))}
    added = changed = removed = 0
    wanted = {s.name for s in specs}
    for spec in specs:
        wl = existing.get(spec.name)
        if wl is None:
            wl = Watchlist(name=spec.name, origin="config", created_at=now, updated_at=now)
            _apply_watchlist(wl, spec, now)
            session.add(wl)
            added += 1
        else:
            wl.origin = "config"
            changed += _apply_watchlist(wl, spec, now)
    for name, wl in existing.items():
        if wl.origin == "config" and name not in wanted:
            session.delete(wl)
            removed += 1
    return added, changed, removed


def add_watchlist(
    session: Session, spec: WatchlistSpec, now: datetime, *, replace: bool = False
) -> Watchlist:
    wl = session.scalars(select(Watchlist).where(Watchlist.name == spec.name)).first()
    if wl is not None and not replace:
        raise StoreError(f"a watchlist named {spec.name!r} already exists")
    if wl is None:
        if replace:
            raise StoreError(f"no watchlist named {spec.name!r}")
        wl = Watchlist(name=spec.name, origin="cli", created_at=now, updated_at=now)
        session.add(wl)
    _apply_watchlist(wl, spec, now)
    session.flush()
    return wl


def find_watchlist(session: Session, name: str) -> Watchlist:
    wl = session.scalars(select(Watchlist).where(Watchlist.name == name)).first()
    if wl is None:
        raise StoreError(f"no watchlist named {name!r}")
    return wl
