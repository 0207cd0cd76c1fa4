"""Source-health operations alerts: the pure decider, and a broken local source end to end (one alert
when it has failed for longer than the threshold, none on repeated checks, one on recovery)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.fetch import FetchPolicy, HttpFetcher
from monitor.match import EngineHolder
from monitor.notify import WebhookNotifier, render_console
from monitor.pipeline import InlineRunner, Pipeline, PipelineOptions
from monitor.runtime import Dispatcher
from monitor.runtime._housekeeping import HealthPolicy, check_source_health, decide_health, mean_gap_s
from monitor.runtime._ops_messages import ops_messages
from monitor.settings import ConfigError, load_settings
from monitor.store import AlertRow, SourceSpec, Store
from monitor.store._health import HealthInput
from monitor.store.models import Alert
from tests.notify._servers import RecordingServer
from tests.ops.conftest import NOW, Clock, Site, page, rss

POLICY = HealthPolicy(failing_after_s=6 * 3600, silent_factor=10, silent_min_s=86400)


def _src(**kw: object) -> HealthInput:
    base: dict[str, object] = {
        "source_id": 1,
        "name": "courier",
        "url": "https://courier.example/rss",
        "enabled": True,
        "active": True,
        "health_state": "ok",
        "health_changed_at": None,
        "created_at": NOW - timedelta(days=30),
        "last_success_at": NOW - timedelta(minutes=10),
        "last_error": None,
        "last_error_at": None,
        "error_count": 0,
        "last_new_entry_at": NOW - timedelta(hours=1),
        "recent_entry_times": tuple(NOW - timedelta(hours=h) for h in (1, 3, 5, 7)),
    }
    base.update(kw)
    return HealthInput(**base)  # type: ignore[arg-type]


def _states(src: HealthInput, now: datetime = NOW) -> list[str]:
    return [t.new_state for t in decide_health([src], policy=POLICY, now=now)]


def test_decider_failing_only_after_the_threshold() -> None:
    failing = {
        "error_count": 4,
        "last_error": "HTTP 503",
        "last_success_at": NOW - timedelta(hours=5, minutes=59),
    }
    assert _states(_src(**failing)) == []
    failing["last_success_at"] = NOW - timedelta(hours=6)
    [t] = decide_health([_src(**failing)], policy=POLICY, now=NOW)
    assert (t.seen_state, t.new_state) == ("ok", "failing")
    assert "failing for 6h" in t.detail and "HTTP 503" in t.detail
    # already failing: no second transition; never succeeded: counted from creation
    assert _states(_src(**failing, health_state="failing")) == []
    assert _states(_src(error_count=1, last_success_at=None, created_at=NOW - timedelta(hours=7))) == [
        "failing"
    ]
    assert _states(_src(error_count=1, last_success_at=None, created_at=NOW - timedelta(hours=1))) == []
    # paused and deactivated sources are left alone
    assert _states(_src(**failing, enabled=False)) == [] and _states(_src(**failing, active=False)) == []


def test_decider_recovery_and_silence() -> None:
    assert _states(_src(health_state="failing")) == ["ok"]
    # every 2 h usually: silent after max(1 day, 10 x 2 h) = 1 day without a new entry
    quiet = {"last_new_entry_at": NOW - timedelta(hours=23)}
    assert _states(_src(**quiet)) == []
    quiet["last_new_entry_at"] = NOW - timedelta(hours=24)
    assert _states(_src(**quiet)) == ["silent"]
    assert _states(_src(**quiet, health_state="silent")) == []
    assert _states(_src(health_state="silent")) == ["ok"]  # a new entry an hour ago
    # a daily source: 10 days of silence needed
    daily = tuple(NOW - timedelta(days=d) for d in (12, 13, 14, 15))
    assert _states(_src(recent_entry_times=daily, last_new_entry_at=NOW - timedelta(days=9))) == []
    assert _states(_src(recent_entry_times=daily, last_new_entry_at=NOW - timedelta(days=12))) == ["silent"]
    # no rhythm yet (fewer than three entries): never silent
    assert _states(_src(recent_entry_times=daily[:2], last_new_entry_at=NOW - timedelta(days=300))) == []
    # silence is counted from the recovery, not through the outage
    back = {"last_new_entry_at": NOW - timedelta(days=3), "health_changed_at": NOW - timedelta(hours=2)}
    assert _states(_src(**back)) == []
    assert mean_gap_s(daily) == 86400 and mean_gap_s(daily[:2]) is None


def test_ops_rows_render_as_plain_messages() -> None:
    row = AlertRow(
        id=41,
        article_id=None,
        watchlist_id=None,
        channel="ops",
        mode="immediate",
        attempts=1,
        payload={
            "kind": "ops",
            "source": "courier",
            "url": "https://user:hunter2secret@courier.example/rss",
            "state": "failing",
            "previous": "ok",
            "detail": "failing for 6h; last error: HTTP 503",
            "at": NOW.isoformat(),
        },
        created_at=NOW,
    )
    [msg] = ops_messages([row])
    assert msg.idempotency_key == "monitor-ops-41" and msg.alert_ids == (41,)
    text = render_console(msg)
    assert "Source courier is failing" in text and "failing for 6h; last error: HTTP 503" in text
    assert "hunter2secret" not in text


def test_operations_settings(tmp_path: Path) -> None:
    cfg = tmp_path / "m.yaml"
    cfg.write_text("channels: {console: {type: console}}\noperations: {channel: pager, failing_after: 2h}\n")
    with pytest.raises(ConfigError, match=r"operations\.channel 'pager' is not declared"):
        load_settings(cfg)
    cfg.write_text(
        "channels: {console: {type: console}}\noperations: {channel: console, failing_after: 2h}\n"
    )
    s = load_settings(cfg)
    assert (
        s.operations is not None and s.operations.failing_after == 7200 and s.operations.silent_factor == 10
    )
    assert s.retention is not None and s.retention.max_age == 90 * 86400 and s.retention.batch == 500
    cfg.write_text("retention: null\n")
    assert load_settings(cfg).retention is None and load_settings(cfg).operations is None


async def test_broken_source_raises_one_alert_and_one_on_recovery(db_url: str, site: Site) -> None:
    site.pages["/feed.xml"] = (
        "application/rss+xml",
        rss([("tide", "Spring tides flood the quay road", "Wed, 18 Nov 2026 06:00:00 +0000")]),
    )
    site.pages["/a/tide"] = (
        "text/html; charset=utf-8",
        page(
            "Spring tides flood the quay road",
            [
                "Spring tides pushed sea water over the quay road twice on Wednesday, and the harbour office "
                "closed it to traffic for an hour around each high water.",
                "Sandbags were placed outside the fish market, which opened late.",
            ],
        ),
    )
    receiver = RecordingServer().start()
    clock = Clock(NOW)
    store = Store(db_url)
    fetcher = HttpFetcher(policy=FetchPolicy(allow_private_networks=True))
    notifier = WebhookNotifier(name="ops", url=receiver.url("/ops-hook"))
    try:
        store.upgrade()
        store.add_source(SourceSpec(name="courier", url=site.url("/feed.xml")), now=clock())
        pipeline = Pipeline(
            store=store,
            fetcher=fetcher,
            engine=EngineHolder(),
            cpu=InlineRunner(),
            options=PipelineOptions(policy=FetchPolicy(allow_private_networks=True)),
            clock=clock,
        )
        dispatcher = Dispatcher(store=store, notifiers={"ops": notifier}, clock=clock)

        def check() -> list[str]:
            return [
                t.new_state for t in check_source_health(store, policy=POLICY, channel="ops", now=clock())
            ]

        assert (await pipeline.poll(store.get_source("courier"))).ok
        assert check() == []
        site.broken = True
        raised: list[tuple[int, list[str]]] = []
        for hour in range(1, 10):  # polled hourly while broken, checked after every poll (and twice more)
            clock.advance(hours=1)
            assert not (await pipeline.poll(store.get_source("courier"))).ok
            raised += [(hour, s) for s in (check(), check(), check()) if s]
        assert raised == [(6, ["failing"])]  # exactly once, when it had failed for 6 hours
        await dispatcher.drain()
        assert len(receiver.requests) == 1
        alert = receiver.requests[0].json()
        assert alert["title"] == "Source courier is failing" and alert["source"] == "monitor operations"
        assert "failing for 6h" in alert["watchlists"][0]["snippet"]
        assert "503" in alert["watchlists"][0]["snippet"] and alert["url"] == site.url("/feed.xml")

        site.broken = False
        clock.advance(hours=1)
        assert (await pipeline.poll(store.get_source("courier"))).ok
        # two replicas decide on the same snapshot; only one transition (and one alert) is written
        inputs = store.health_inputs()
        first = decide_health(inputs, policy=POLICY, now=clock())
        second = decide_health(inputs, policy=POLICY, now=clock() + timedelta(seconds=1))
        assert [t.new_state for t in first] == [t.new_state for t in second] == ["ok"]
        assert len(store.apply_health(first, channel="ops", now=clock())) == 1
        assert store.apply_health(second, channel="ops", now=clock() + timedelta(seconds=1)) == []
        assert check() == [] and check() == []
        await dispatcher.drain()
        assert [r.json()["title"] for r in receiver.requests] == [
            "Source courier is failing",
            "Source courier has recovered",
        ]
        with store.session() as s:
            rows = s.execute(select(Alert.kind, Alert.status, Alert.dedup_key).order_by(Alert.id)).all()
        assert [(k, st) for k, st, _ in rows] == [("ops", "sent"), ("ops", "sent")]
        assert rows[0][2].startswith("ops:") and ":failing:" in rows[0][2] and ":ok:" in rows[1][2]
    finally:
        await fetcher.aclose()
        await notifier.aclose()
        store.close()
        receiver.stop()
