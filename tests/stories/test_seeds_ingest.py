"""Issue 7 must-show: seeds 000 and 001 (two outlets reporting one Kremlin statement), ingested as
articles seen the same day, form one story; seed 004, dated as it says (January 2022), does not join it.

Ingested through the real path: ``Store.apply_poll`` with the pipeline's story assigner, on SQLite and
on PostgreSQL (``db_url``)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from monitor.pipeline import StoryService
from monitor.store import NewArticle, PollRecord, SourceSpec, SourceUpdate, Store

ROOT = Path(__file__).resolve().parents[2]
CANDIDATES = [ROOT / "shared" / "seeds", ROOT.parent / "shared" / "seeds"]
SEEDS = next((p for p in CANDIDATES if p.is_dir()), None)
pytestmark = pytest.mark.skipif(
    SEEDS is None, reason=f"reference seeds not found (looked in {', '.join(map(str, CANDIDATES))})"
)
SEEN = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)  # "today": 000 and 001 carry no date


def _article(prefix: str, *, seen: date) -> NewArticle:
    """A seed as the pipeline would store it: reference format, its own date if it states one."""
    assert SEEDS is not None
    path = next(SEEDS.glob(f"{prefix}_*.txt"))
    lines = path.read_text(encoding="utf-8").splitlines()
    if len(lines) > 2 and lines[1].strip().isdigit():
        title, day, url, body = lines[0], lines[1].strip(), lines[2], lines[3:]
        published, source = datetime.strptime(day, "%Y%m%d").date(), "feed"
    else:
        title, body = lines[0], lines[1:]
        url, published, source = f"https://seed.example/{prefix}", seen, "first_seen"
    text = "\n".join([title, published.strftime("%Y%m%d"), url, *(b for b in body if b.strip())]) + "\n"
    return NewArticle(
        url=url,
        guid=None,
        title=title,
        published=published,
        date_source=source,
        text=text,
        content_hash=f"seed-{prefix}",
        language="en",
        extractor="seed",
    )


def test_seeds_000_001_one_story_and_004_apart(db_url: str, tmp_path: Path) -> None:
    store = Store(db_url)
    try:
        store.upgrade()
        store.sync_config(
            [
                SourceSpec(name=f"outlet-{p}", url=f"https://seed.example/{p}.xml")
                for p in ("000", "001", "004")
            ],
            [],
            now=SEEN,
        )
        ids = {s.name: s.id for s in store.list_sources(now=SEEN)}
        stories = StoryService()
        for prefix, hours in (("000", 0), ("001", 5), ("004", 7)):
            when = SEEN.replace(hour=SEEN.hour + hours)
            record = PollRecord(
                ids[f"outlet-{prefix}"],
                SourceUpdate(success=True, next_check_at=when, current_interval_s=900.0),
                (_article(prefix, seen=when.date()),),
            )
            report = store.apply_poll(record, now=when, defer_stories=True)
            assert report.articles_added == 1
            assert store.assign_stories(stories, now=when).articles == 1

        listed = {s.title: s for s in store.list_stories()}
        assert len(listed) == 2, listed
        kremlin = next(s for s in listed.values() if s.member_count == 2)
        detail = store.get_story(kremlin.id)
        assert detail is not None
        assert {m.source for m in detail.members} == {"outlet-000", "outlet-001"}
        assert not any(m.is_copy for m in detail.members)  # two write-ups, not copies
        alone = next(s for s in listed.values() if s.id != kremlin.id)
        other = store.get_story(alone.id)
        assert other is not None and [m.source for m in other.members] == ["outlet-004"]
        assert other.members[0].published == date(2022, 1, 25)
    finally:
        store.close()

    # The same through the command line.
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(f'database_url: "{db_url}"\nhttp_port: null\n', encoding="utf-8")
    runner = CliRunner()
    listed_cli = json.loads(runner.invoke(app, ["stories", "ls", "--json", "--config", str(cfg)]).stdout)
    assert sorted(r["member_count"] for r in listed_cli) == [1, 2]
    shown = runner.invoke(app, ["stories", "show", str(kremlin.id), "--json", "--config", str(cfg)])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert [m["source"] for m in data["members"]] == ["outlet-000", "outlet-001"]
    assert [m["copy"] for m in data["members"]] == [False, False]
    assert data["members"][0]["representative"] is True
    table = runner.invoke(app, ["stories", "show", str(kremlin.id), "--config", str(cfg)])
    assert "outlet-001" in table.stdout and "2 articles from 2 sources" in table.stdout
    missing = runner.invoke(app, ["stories", "show", "999999", "--config", str(cfg)])
    assert missing.exit_code == 1
