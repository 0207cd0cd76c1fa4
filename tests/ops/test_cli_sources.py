"""``monitor source ls|show`` with health, and ``monitor source check`` storing nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from monitor.store import NewArticle, PollRecord, SourceSpec, SourceUpdate, Store, WatchlistSpec
from monitor.store.models import Source
from tests.ops.conftest import Site, cli, cli_json, dump_tables, page, rss, write_config

PARAS = [
    "Dock workers at the Tidewater container terminal walked off the job on Tuesday morning, leaving "
    "three cargo ships waiting at anchor outside the breakwater.",
    "The port authority said talks with the union would resume on Thursday and that ferries were not "
    "affected by the strike.",
]


def _article(url: str, title: str, n: int) -> NewArticle:
    return NewArticle(
        url=url,
        guid=None,
        title=title,
        published=date(2026, 11, 19),
        date_source="feed",
        text=f"{title}\n20261119\n{url}\nParagraph {n} about the harbour.\n",
        content_hash=f"{n:064x}",
        language="en",
        extractor="test",
    )


def _ok(now: datetime, *, new: int = 0) -> SourceUpdate:
    return SourceUpdate(
        success=True, next_check_at=now + timedelta(minutes=15), current_interval_s=900.0, new_entries=new
    )


def test_source_ls_and_show_report_health(tmp_path: Path, db_url: str) -> None:
    cfg = write_config(tmp_path / "m.yaml", db_url)
    now = datetime.now(UTC)
    store = Store(db_url)
    try:
        store.upgrade()
        healthy = store.add_source(SourceSpec(name="courier", url="https://courier.example/rss"), now=now)
        broken = store.add_source(SourceSpec(name="gazette", url="https://gazette.example/rss"), now=now)
        store.add_source(SourceSpec(name="idle", url="https://idle.example/rss"), now=now)
        store.set_source_enabled("idle", False, now=now)
        arts = (_article("https://courier.example/a/1", "Ferry timetable changes", 1),)
        store.apply_poll(
            PollRecord(healthy.id, _ok(now - timedelta(hours=2), new=1), arts), now=now - timedelta(hours=2)
        )
        store.apply_poll(PollRecord(broken.id, _ok(now - timedelta(hours=5))), now=now - timedelta(hours=5))
        for hours in (3, 2):
            fail = SourceUpdate(
                success=False,
                next_check_at=now + timedelta(minutes=30),
                current_interval_s=900.0,
                error="HTTP 503 from https://gazette.example/rss",
            )
            store.apply_poll(PollRecord(broken.id, fail), now=now - timedelta(hours=hours))
        with store.session() as s:  # what the poller records for a feed that parses with errors
            s.execute(
                update(Source)
                .where(Source.id == healthy.id)
                .values(last_problem="mismatched tag at line 40", last_problem_at=now - timedelta(hours=2))
            )
    finally:
        store.close()

    rows = {r["name"]: r for r in cli_json(cfg, "source", "ls")}
    assert set(rows) == {"courier", "gazette", "idle"}
    courier, gazette, idle = rows["courier"], rows["gazette"], rows["idle"]
    assert courier["health"] == "ok" and courier["articles_24h"] == 1 and courier["error_count"] == 0
    assert courier["last_problem"] == "mismatched tag at line 40"
    assert datetime.fromisoformat(courier["last_success_at"]) == now - timedelta(hours=2)
    assert datetime.fromisoformat(courier["next_check_at"]) == now - timedelta(hours=2) + timedelta(
        minutes=15
    )
    assert gazette["health"] == "failing x2" and gazette["error_count"] == 2
    assert gazette["last_error"] == "HTTP 503 from https://gazette.example/rss"
    assert datetime.fromisoformat(gazette["last_error_at"]) == now - timedelta(hours=2)
    assert datetime.fromisoformat(gazette["last_success_at"]) == now - timedelta(hours=5)
    assert gazette["articles_24h"] == 0 and gazette["health_state"] == "ok"
    assert idle["health"] == "paused"

    code, out = cli(cfg, "source", "ls")
    assert code == 0
    header, *lines = out.splitlines()
    assert header.split() == [
        "NAME",
        "KIND",
        "HEALTH",
        "LAST",
        "OK",
        "LAST",
        "ERROR",
        "FAILS",
        "NEXT",
        "24H",
        "PROBLEM",
        "URL",
    ]
    courier_line = next(line for line in lines if line.startswith("courier"))
    assert "2h ago" in courier_line and "mismatched tag at line 40" in courier_line
    gazette_line = next(line for line in lines if line.startswith("gazette"))
    assert "failing x2" in gazette_line and "HTTP 503" in gazette_line

    shown = cli_json(cfg, "source", "show", "gazette")
    assert shown["error_count"] == 2 and shown["health"] == "failing x2" and shown["articles_24h"] == 0
    assert cli_json(cfg, "source", "show", "courier")["articles_24h"] == 1
    code, out = cli(cfg, "source", "show", "courier")
    assert code == 0 and "last_problem: mismatched tag at line 40" in out
    code, out = cli(cfg, "source", "show", "nowhere")
    assert code == 1 and "no source named 'nowhere'" in out


def _site_with_feed(site: Site) -> None:
    site.pages["/feed.xml"] = (
        "application/rss+xml",
        rss(
            [
                ("strike", "Dock workers strike at Tidewater terminal", "Tue, 17 Nov 2026 08:00:00 +0000"),
                ("ferry", "Winter ferry timetable published", "Mon, 16 Nov 2026 08:00:00 +0000"),
                ("dredge", "Dredging of the north channel ends early", "Sun, 15 Nov 2026 08:00:00 +0000"),
            ]
        ),
    )
    site.pages["/a/strike"] = (
        "text/html; charset=utf-8",
        page("Dock workers strike at Tidewater terminal", PARAS),
    )
    site.pages["/a/ferry"] = (
        "text/html; charset=utf-8",
        page(
            "Winter ferry timetable published",
            [
                "The island ferry will sail four times a day from December, the operator said, with an extra "
                "crossing on Saturdays during the holiday markets.",
                "Tickets bought for the autumn timetable remain valid until the end of the year.",
            ],
        ),
    )


def test_source_check_shows_new_and_stored_and_stores_nothing(
    tmp_path: Path, db_url: str, site: Site
) -> None:
    _site_with_feed(site)
    cfg = write_config(tmp_path / "m.yaml", db_url)
    now = datetime.now(UTC)
    store = Store(db_url)
    try:
        store.upgrade()
        src = store.add_source(SourceSpec(name="courier", url=site.url("/feed.xml")), now=now)
        store.add_watchlist(WatchlistSpec(name="ports", query='"port authority" AND strike'), now=now)
        dredge = _article(site.url("/a/dredge"), "Dredging of the north channel ends early", 7)
        store.apply_poll(PollRecord(src.id, _ok(now, new=1), (dredge,)), now=now)
    finally:
        store.close()
    before = dump_tables(db_url)

    report = cli_json(cfg, "source", "check", "courier")
    assert report["source"] == "courier" and report["http_status"] == 200 and report["entries"] == 3
    items = {i["url"].rsplit("/", 1)[1]: i for i in report["items"]}
    assert items["dredge"]["status"] == "stored"
    assert items["strike"]["status"] == "new" and items["strike"]["watchlists"] == ["ports"]
    assert "port authority" in items["strike"]["snippet"]
    assert items["ferry"]["status"] == "new" and items["ferry"]["watchlists"] == []
    assert report["new"] == 2 and report["stored"] == 1
    assert "/a/strike" in site.hits and "/a/dredge" not in site.hits  # pages fetched only for new entries

    code, out = cli(cfg, "source", "check", "courier")
    assert code == 0 and "3 entries, 2 new, 1 already stored (nothing was stored)" in out
    assert dump_tables(db_url) == before  # not a row written, not a column touched

    # any URL, even one that is not a source, can be checked
    adhoc = cli_json(cfg, "source", "check", site.url("/feed.xml"))
    assert adhoc["entries"] == 3 and adhoc["stored"] == 1
    assert dump_tables(db_url) == before


def test_source_check_errors(tmp_path: Path, db_url: str, site: Site) -> None:
    cfg = write_config(tmp_path / "m.yaml", db_url)
    code, out = cli(cfg, "source", "check", "nowhere")
    assert code == 1 and "no source named 'nowhere'" in out
    code, out = cli(cfg, "source", "check", site.url("/missing.xml"))
    assert code == 1 and "cannot fetch" in out and "404" in out
    code, out = cli(cfg, "source", "check", site.url("/feed.xml"), "--kind", "podcast")
    assert code == 2 and "--kind must be feed, page or sitemap" in out
