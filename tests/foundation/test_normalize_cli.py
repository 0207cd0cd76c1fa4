"""``monitor normalize`` and ``monitor export`` through Typer's runner."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from pathlib import Path

from typer.testing import CliRunner

from monitor.cli import app
from monitor.store import NewArticle, PollRecord, SourceSpec, SourceUpdate, Store

SITE = Path(__file__).with_name("site") / "articles"


def test_normalize_html_file_text_and_json() -> None:
    runner = CliRunner()
    page = SITE / "ferry.html"
    result = runner.invoke(app, ["normalize", str(page), "--url", "https://observer.test/ferry?utm_source=x"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        "Ferry service halted as Mount Calder ash cloud spreads",
        "20261119",
        "https://observer.test/ferry",
    ]
    assert "" not in lines and "Schools closed" in lines
    assert result.stdout.endswith("\n")
    js = runner.invoke(app, ["normalize", str(page), "--format", "json"])
    data = json.loads(js.stdout)
    assert data["date"] == "20261119" and data["date_source"] in {"page", "feed"}
    assert set(data) >= {"title", "date", "date_source", "url", "paragraphs", "text", "language", "extractor"}


def test_normalize_jsonl_stdin_and_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    text = (
        "A short dispatch\n\nThe council met on Tuesday\u00a0to discuss the harbour budget for next year.\n"
    )
    result = runner.invoke(app, ["normalize", "-", "--format", "jsonl"], input=text)
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout.splitlines()[0])
    assert row["path"] == "-" and row["title"] == "A short dispatch"
    assert "\u00a0" not in row["text"] and row["date_source"] == "first_seen"
    missing = runner.invoke(app, ["normalize", str(tmp_path / "nope.html")])
    assert missing.exit_code == 1 and "nope.html" in missing.output
    bad = runner.invoke(app, ["normalize", "-", "--format", "xml"], input="x")
    assert bad.exit_code == 2


def test_export_writes_seed_named_files(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'd.db'}"
    store = Store(db)
    store.upgrade()
    now = datetime(2026, 11, 20, tzinfo=UTC)
    store.sync_config([SourceSpec(name="s", url="https://s.example/feed")], [], now=now)
    src = store.get_source("s")
    arts = tuple(
        NewArticle(
            url=f"https://s.example/{i}",
            guid=None,
            title=f"T{i}",
            published=date(2026, 11, 20),
            date_source="page",
            text=f"T{i}\n20261120\nhttps://s.example/{i}\nParagraph {i}.\n",
            content_hash=f"{i:064x}",
            language="en",
            extractor="test",
        )
        for i in range(3)
    )
    store.apply_poll(
        PollRecord(src.id, SourceUpdate(success=True, next_check_at=now, current_interval_s=900), arts),
        now=now,
    )
    store.close()
    cfg = tmp_path / "m.yaml"
    cfg.write_text(f"database_url: {db}\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["export", "--out", str(out), "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in out.iterdir())
    expected = [
        f"{i:03d}_{hashlib.sha256(f'https://s.example/{i}'.encode()).hexdigest()[:16]}.txt" for i in range(3)
    ]
    assert files == expected
    assert (out / expected[1]).read_text(
        encoding="utf-8"
    ) == "T1\n20261120\nhttps://s.example/1\nParagraph 1.\n"
