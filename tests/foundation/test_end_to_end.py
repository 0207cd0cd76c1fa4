"""The whole pipeline against a real local HTTP server: feed, pages, normalise, match, store, alert."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from monitor.cli import app
from monitor.store import Store
from tests.conftest import StaticServer

SITE = Path(__file__).with_name("site")


def _config(tmp_path: Path, server: StaticServer, db: str) -> Path:
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(
        f"""
database_url: {db}
log_format: json
fetch:
  allow_private_networks: true   # the test server is on 127.0.0.1
sources:
  - name: observer
    url: {server.url("feed.xml")}
    first_poll: alert
watchlists:
  - name: volcano
    query: '"Mount Calder" AND ferr*'
  - name: schools
    query: 'title:(ferry) AND schools NEAR/3 closed'
  - name: nothing
    query: 'earthquake OR tsunami'
""",
        encoding="utf-8",
    )
    return cfg


def test_run_once_twice(tmp_path: Path, static_server: StaticServer) -> None:
    shutil.copytree(SITE, static_server.root, dirs_exist_ok=True)
    db = f"sqlite:///{tmp_path / 'e2e.db'}"
    cfg = _config(tmp_path, static_server, db)
    runner = CliRunner()

    first = runner.invoke(app, ["run", "--once", "--config", str(cfg)])
    assert first.exit_code == 0, first.output
    out = first.stdout
    assert "Ferry service halted as Mount Calder ash cloud spreads" in out
    assert "volcano" in out and "schools" in out  # one message naming both watchlists
    assert "Harvest festival" not in out
    assert out.count("Ferry service halted") == 1

    store = Store(db)
    try:
        counts = store.counts()
        assert counts["articles"] == 2 and counts["hits"] == 2
        urls = {u for u, _ in store.export_articles()}
        assert static_server.url("articles/festival.html") in urls  # tracking parameters removed
        text = dict(store.export_articles())[static_server.url("articles/ferry.html")]
        lines = text.splitlines()
        assert lines[0] == "Ferry service halted as Mount Calder ash cloud spreads"
        assert lines[1] == "20261119"
        assert not any(
            x in text for x in ("Accept all cookies", "Share on X", "All rights reserved", "dataLayer")
        )
        assert "Schools closed" in lines
    finally:
        store.close()

    second = runner.invoke(app, ["run", "--once", "--config", str(cfg)])
    assert second.exit_code == 0, second.output
    assert "Ferry service halted" not in second.stdout
    store = Store(db)
    try:
        assert store.counts()["articles"] == 2
        assert {a.status for a in store.list_alerts()} == {"sent"}
    finally:
        store.close()


def test_bad_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("sources:\n  - name: x\n    url: http://e.example/f\n    colour: blue\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["run", "--once", "--config", str(cfg)])
    assert result.exit_code == 2
    assert "sources[0].colour" in result.output and "unknown key" in result.output


def test_unreadable_config_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["source", "ls", "--config", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2
    assert "missing.yaml" in result.output


def test_wrong_type_exits_2(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("workers: many\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["source", "ls", "--config", str(cfg)])
    assert result.exit_code == 2
    assert "workers = 'many'" in result.output
