"""The pieces of the job-queue mode that need no cluster: poll fencing by lease (SQLite and PostgreSQL),
cron periods, connection strings, the ``--role`` option, and the procrastinate schema migration."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect
from typer.testing import CliRunner

from monitor.cli import app
from monitor.runtime._jobs import PollTicket
from monitor.runtime._jobs_queue import cron_every, libpq_url
from monitor.store import PollRecord, SourceSpec, SourceUpdate, Store

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    s.upgrade()
    yield s
    s.close()


def _source(store: Store, name: str = "src") -> int:
    row = store.add_source(SourceSpec(name=name, url=f"https://feeds.example/{name}.xml"), now=NOW)
    return row.id


def _record(store: Store, source_id: int, at: datetime) -> None:
    update = SourceUpdate(success=True, next_check_at=at + timedelta(minutes=15), current_interval_s=900)
    store.apply_poll(PollRecord(source_id, update), now=at)


def test_a_poll_runs_only_under_its_own_lease(store: Store) -> None:
    sid = _source(store)
    t = NOW + timedelta(seconds=1)
    assert store.due_source_ids(now=t, limit=10) == [sid]
    lease = t + timedelta(seconds=900)
    assert store.lease_sources([sid], until=lease, now=t) == 1
    assert store.due_source_ids(now=t, limit=10) == []  # leased: the next tick leaves it alone
    assert store.lease_sources([sid], until=lease + timedelta(seconds=5), now=t) == 0

    # another tick's poll (a different lease) must not run; the poll holding the lease may
    assert store.start_poll(sid, lease=lease + timedelta(seconds=5), now=t) is None
    row = store.start_poll(sid, lease=lease, now=t)
    assert row is not None and row.id == sid
    # retried after its worker died (nothing recorded): still entitled
    assert store.start_poll(sid, lease=lease, now=t + timedelta(seconds=30)) is not None

    _record(store, sid, t + timedelta(seconds=40))  # the poll is recorded: the lease is gone
    assert store.start_poll(sid, lease=lease, now=t + timedelta(seconds=41)) is None
    assert store.due_source_ids(now=t + timedelta(seconds=41), limit=10) == []


def test_a_poll_queued_by_a_tick_that_died_takes_the_lease_itself(store: Store) -> None:
    sid = _source(store)
    t = NOW + timedelta(seconds=1)
    first = t + timedelta(seconds=900)
    assert store.start_poll(sid, lease=first, now=t) is not None  # due and free: takes the lease
    second = first + timedelta(seconds=10)
    assert store.start_poll(sid, lease=second, now=t) is None  # now leased by the first
    assert store.lease_sources([sid], until=second, now=t) == 0  # the late tick cannot steal it
    assert store.due_source_ids(now=first + timedelta(seconds=1), limit=10) == [sid]  # lease ran out


def test_paused_or_unknown_sources_are_not_polled(store: Store) -> None:
    sid = _source(store)
    lease = NOW + timedelta(seconds=900)
    store.set_source_enabled("src", False, now=NOW)
    assert store.start_poll(sid, lease=lease, now=NOW + timedelta(seconds=1)) is None
    assert store.start_poll(sid + 1000, lease=lease, now=NOW + timedelta(seconds=1)) is None


def test_poll_ticket_round_trips_through_job_arguments() -> None:
    ticket = PollTicket(7, datetime(2026, 11, 22, 9, 15, 0, 123456, tzinfo=UTC))
    assert PollTicket.from_args(**ticket.as_args()) == ticket  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no time zone"):
        PollTicket.from_args(source_id=7, lease="2026-11-22T09:15:00")


@pytest.mark.parametrize(
    ("seconds", "cron", "period"),
    [
        (1, "* * * * * *", 1),
        (5, "* * * * * */5", 5),
        (45, "* * * * * */30", 30),
        (60, "* * * * *", 60),
        (90, "* * * * *", 60),
        (900, "*/15 * * * *", 900),
        (3600, "0 * * * *", 3600),
        (5 * 3600, "0 */4 * * *", 4 * 3600),
        (2 * 86400, "0 0 * * *", 86400),
    ],
)
def test_cron_every_rounds_down_to_a_period_cron_can_express(seconds: float, cron: str, period: int) -> None:
    assert cron_every(seconds) == (cron, period)


def test_libpq_url_drops_the_sqlalchemy_driver_and_keeps_options() -> None:
    url = "postgresql+psycopg://u:p@db:5432/monitor?options=-csearch_path%3Dx"
    assert libpq_url(url) == "postgresql://u:p@db:5432/monitor?options=-csearch_path%3Dx"
    assert libpq_url("postgres://db/m") == "postgresql://db/m"


def test_run_rejects_an_unknown_role() -> None:
    result = CliRunner().invoke(app, ["run", "--role", "janitor"])
    assert result.exit_code == 2
    assert "--role must be one of poller, notifier, all" in result.output


def test_job_queue_schema_only_on_postgresql(store: Store) -> None:
    tables = set(inspect(store.engine).get_table_names())
    queue = {
        "procrastinate_jobs",
        "procrastinate_workers",
        "procrastinate_events",
        "procrastinate_periodic_defers",
    }
    if store.dialect == "postgresql":
        assert queue <= tables  # in the test's own schema (search_path), like ours
    else:
        assert not queue & tables
    assert store.schema_drift() == []


def test_the_embedded_mode_never_loads_the_job_queue(tmp_path: Path) -> None:
    """SQLite runs everything in-process: a ``run --once`` pass must not import procrastinate or psycopg
    (~12 MB and 140 modules in the loop's process that the embedded mode never uses)."""
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(f'database_url: "sqlite:///{tmp_path / "m.db"}"\nhttp_port: null\n', encoding="utf-8")
    script = f"""
import asyncio, sys
from monitor.cli import app  # what the installed script imports
from monitor.runtime import Daemon
from monitor.settings import load_settings

async def go():
    daemon = Daemon(load_settings({str(cfg)!r}))
    try:
        await daemon.run_once()
    finally:
        await daemon.aclose()

asyncio.run(go())
print(sorted({{m.split(".")[0] for m in sys.modules if m.startswith(("procrastinate", "psycopg"))}}))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout[-500:]
