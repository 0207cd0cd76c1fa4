"""``monitor stats`` and ``monitor prune`` (and the same prune as the daemon's scheduled job)."""

from __future__ import annotations

import asyncio
import os
import pty
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from monitor.cli import app
from monitor.core import Span, WatchlistHit
from monitor.runtime._housekeeping import Housekeeper, prune_articles
from monitor.store import NewArticle, PollRecord, SourceSpec, SourceUpdate, Store, WatchlistSpec
from tests.ops.conftest import Clock, cli, cli_json, write_config

SENTENCE = "The port authority confirmed the strike would close berth four."


def _article(n: int, hits: tuple[WatchlistHit, ...] = ()) -> NewArticle:
    url = f"https://courier.example/a/{n}"
    return NewArticle(
        url=url,
        guid=None,
        title=f"Harbour report {n}",
        published=date(2026, 11, 1),
        date_source="feed",
        text=f"Harbour report {n}\n20261101\n{url}\n{SENTENCE}\n",
        content_hash=f"{n:064x}",
        language="en",
        extractor="test",
        hits=hits,
    )


def _ok(now: datetime) -> SourceUpdate:
    return SourceUpdate(success=True, next_check_at=now + timedelta(minutes=15), current_interval_s=900.0)


def _hit(wid: int) -> WatchlistHit:
    return WatchlistHit(wid, SENTENCE, (Span(4, 18),))


def test_stats_per_day_watchlist_and_source_health(tmp_path: Path, db_url: str) -> None:
    channels = "channels:\n  console: {type: console}\n  desk: {type: console}\n"
    cfg = write_config(tmp_path / "m.yaml", db_url, channels)
    # In the past and on today's UTC date whatever the hour: noon moved back a day before 12:00 UTC, which
    # put "today's" rows on yesterday's date and failed `stats --days 1` every morning (UTC).
    now = datetime.now(UTC)
    today = max(now.replace(hour=0, minute=0, second=0, microsecond=0), now - timedelta(minutes=1))
    yesterday = today - timedelta(days=1)
    store = Store(db_url)
    try:
        store.upgrade()
        src = store.add_source(SourceSpec(name="courier", url="https://courier.example/rss"), now=yesterday)
        store.add_source(SourceSpec(name="paused", url="https://p.example/rss"), now=yesterday)
        store.set_source_enabled("paused", False, now=yesterday)
        broken = store.add_source(SourceSpec(name="broken", url="https://b.example/rss"), now=yesterday)
        store.add_source(SourceSpec(name="fresh", url="https://f.example/rss"), now=yesterday)
        ports = store.add_watchlist(
            WatchlistSpec(name="ports", query="strike", channels=("console", "desk")), now=yesterday
        )
        ferries = store.add_watchlist(WatchlistSpec(name="ferries", query="ferry"), now=yesterday)
        # yesterday: 2 articles, 1 hit on ports (2 alerts); today: 3 articles, 2 hits on ports, 1 on ferries
        store.apply_poll(
            PollRecord(src.id, _ok(yesterday), (_article(1, (_hit(ports.id),)), _article(2))), now=yesterday
        )
        store.apply_poll(
            PollRecord(
                src.id,
                _ok(today),
                (
                    _article(3, (_hit(ports.id), _hit(ferries.id))),
                    _article(4, (_hit(ports.id),)),
                    _article(5),
                ),
            ),
            now=today,
        )
        fail = SourceUpdate(success=False, next_check_at=today, current_interval_s=900.0, error="HTTP 500")
        store.apply_poll(PollRecord(broken.id, fail), now=today)
        y_alerts = [a for a in store.list_alerts(limit=100) if a.created_at == yesterday]
        store.mark_sent([y_alerts[0].id], now=yesterday)
        store.mark_failed([y_alerts[1].id], error="HTTP 404")
    finally:
        store.close()

    report = cli_json(cfg, "stats", "--days", "3")
    days = {d["day"]: d for d in report["days"]}
    y, t = yesterday.date().isoformat(), today.date().isoformat()
    assert days[y] == {
        "day": y,
        "articles": 2,
        "hits": 1,
        "alerts_sent": 1,
        "alerts_failed": 1,
        "alerts_pending": 0,
    }
    assert days[t] == {
        "day": t,
        "articles": 3,
        "hits": 3,
        "alerts_sent": 0,
        "alerts_failed": 0,
        "alerts_pending": 5,
    }
    wls = {w["watchlist"]: w for w in report["watchlists"]}
    assert wls["ports"] == {
        "watchlist": "ports",
        "hits": 3,
        "alerts_sent": 1,
        "alerts_failed": 1,
        "alerts_pending": 4,
    }
    assert wls["ferries"] == {
        "watchlist": "ferries",
        "hits": 1,
        "alerts_sent": 0,
        "alerts_failed": 0,
        "alerts_pending": 1,
    }
    assert report["sources"] == {"ok": 1, "new": 1, "failing": 1, "silent": 0, "paused": 1, "deactivated": 0}

    only_today = cli_json(cfg, "stats", "--days", "1")
    assert [d["day"] for d in only_today["days"]] == [t]

    code, out = cli(cfg, "stats", "--days", "3")
    assert code == 0 and "1 ok, 1 new, 1 failing, 0 silent, 1 paused, 0 deactivated" in out
    assert any(line.split()[:3] == [t, "3", "3"] for line in out.splitlines())
    code, out = cli(cfg, "stats", "--days", "0")
    assert code == 2 and "--days" in out


def _seed_ages(db_url: str, now: datetime) -> tuple[int, int]:
    """Five articles 100 days old (two with hits), two a day old; answers (watchlist id, source id)."""
    store = Store(db_url)
    try:
        store.upgrade()
        src = store.add_source(SourceSpec(name="courier", url="https://courier.example/rss"), now=now)
        wl = store.add_watchlist(WatchlistSpec(name="ports", query="strike"), now=now)
        old = now - timedelta(days=100)
        arts = tuple(_article(n, (_hit(wl.id),) if n < 3 else ()) for n in range(1, 6))
        store.apply_poll(PollRecord(src.id, _ok(old), arts), now=old)
        store.apply_poll(
            PollRecord(src.id, _ok(now), (_article(6), _article(7))), now=now - timedelta(days=1)
        )
        return wl.id, src.id
    finally:
        store.close()


def test_prune_cli_batches_and_keeps_hits(tmp_path: Path, db_url: str) -> None:
    cfg = write_config(tmp_path / "m.yaml", db_url)
    _seed_ages(db_url, datetime.now(UTC))

    code, out = cli(cfg, "prune", "--dry-run")  # retention default: 90 days
    assert code == 0 and "would prune 5 article(s) first seen more than 90d ago (dry run)" in out
    result = CliRunner().invoke(app, ["prune", "--older-than", "90d", "--batch", "2", "--config", str(cfg)])
    assert result.exit_code == 0  # standard output is a pipe here: the result line, no progress bar
    assert (
        result.stdout
        == "pruned 5 article(s) first seen more than 90d ago in 3 batch(es); hits and alerts kept\n"
    )

    store = Store(db_url)
    try:
        assert store.counts()["articles"] == 2
        hits = store.list_hits()
        assert len(hits) == 2 and all(h.article_id is None for h in hits)  # kept, unlinked
        assert {h.title for h in hits} == {"Harbour report 1", "Harbour report 2"}
        assert all(h.snippet == SENTENCE for h in hits)
        assert all(a.title.startswith("Harbour report") for a in store.list_alerts())
    finally:
        store.close()
    report = cli_json(cfg, "prune")
    assert report["deleted"] == 0 and report["candidates"] == 0 and report["dry_run"] is False


def test_prune_usage_errors(tmp_path: Path, db_url: str) -> None:
    cfg = write_config(tmp_path / "m.yaml", db_url)
    code, out = cli(cfg, "prune", "--older-than", "ninety days")
    assert code == 2 and "--older-than 'ninety days'" in out
    code, out = cli(cfg, "prune", "--older-than", "0d")
    assert code == 2
    off = write_config(tmp_path / "off.yaml", db_url, "retention: null\n")
    code, out = cli(off, "prune")
    assert code == 2 and "retention is off" in out
    code, out = cli(off, "prune", "--older-than", "30d")
    assert code == 0 and "pruned 0" in out


def test_prune_function_and_daemon_job(db_url: str) -> None:
    clock = Clock(datetime.now(UTC))
    _seed_ages(db_url, clock.now)
    store = Store(db_url)
    try:
        seen: list[int] = []
        report = prune_articles(store, max_age_s=50 * 86400, batch=4, now=clock.now, progress=seen.append)
        assert (report.deleted, report.batches, seen) == (5, 2, [4, 1])
        assert store.counts()["articles"] == 2
        # the daemon's job: the same function with the configured age, batch and clock
        keeper = Housekeeper(
            store=store,
            health=None,
            ops_channel=None,
            retention_max_age_s=3600.0,
            retention_batch=1,
            clock=clock,
        )
        assert [j[0] for j in keeper.jobs()] == ["prune"]
        asyncio.run(keeper.prune())
        assert store.counts()["articles"] == 0
        stopped = Housekeeper(store=store, health=None, ops_channel=None, clock=clock, stopping=lambda: True)
        assert stopped.jobs() == []
    finally:
        store.close()


def test_prune_in_a_terminal_shows_a_progress_bar(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'd.db'}"
    cfg = write_config(tmp_path / "m.yaml", db)
    _seed_ages(db, datetime.now(UTC))
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "monitor",
            "--log-level",
            "ERROR",
            "prune",
            "--batch",
            "1",
            "--config",
            str(cfg),
        ],
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the other side closed
            break
        if not chunk:
            break
        out += chunk
    os.close(leader)
    assert proc.wait(timeout=60) == 0
    text = out.decode("utf-8", "replace")
    assert "pruning articles" in text and "━" in text and "5/5" in text
    assert text.rstrip().endswith(
        "pruned 5 article(s) first seen more than 90d ago in 5 batch(es); hits and alerts kept"
    )
