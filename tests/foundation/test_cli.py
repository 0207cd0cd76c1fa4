"""The admin CLI through Typer's runner: listings as tables and JSON, edits, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from tests.conftest import StaticServer


@pytest.fixture
def cfg(tmp_path: Path, db_url: str) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(
        f"""
database_url: "{db_url}"
sources:
  - name: declared
    url: https://declared.example/feed.xml
watchlists:
  - name: ports
    query: '"port authority" AND strike'
channels:
  console: {{type: console}}
  hook: {{type: webhook, url: "https://receiver.example/hook?token=abcdef123456"}}
""",
        encoding="utf-8",
    )
    return path


def run(cfg: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--config", str(cfg)])
    return result.exit_code, result.output


def test_db_commands(cfg: Path) -> None:
    code, out = run(cfg, "db", "current")
    assert code == 0 and out.startswith("empty")
    code, out = run(cfg, "db", "check")
    assert code == 1 and "db upgrade" in out
    code, out = run(cfg, "db", "upgrade")
    assert code == 0 and "was empty" in out
    code, out = run(cfg, "db", "check")
    assert code == 0 and "schema is current" in out


def test_source_lifecycle(cfg: Path) -> None:
    code, out = run(
        cfg,
        "source",
        "add",
        "https://news.example/rss",
        "--name",
        "news",
        "--interval",
        "600",
        "--no-discover",
    )
    assert code == 0 and "added source news" in out
    code, out = run(cfg, "source", "add", "https://news.example/rss", "--name", "news", "--no-discover")
    assert code == 1 and "already exists" in out
    code, out = run(cfg, "source", "ls", "--json")
    assert code == 0
    rows = json.loads(out)
    assert {r["name"] for r in rows} == {"news"}  # the declared source appears once the daemon synced
    assert rows[0]["health"] == "new" and rows[0]["interval_s"] == 600
    assert run(cfg, "source", "pause", "news")[0] == 0
    assert json.loads(run(cfg, "source", "show", "news", "--json")[1])["health"] == "paused"
    assert run(cfg, "source", "resume", "news")[0] == 0
    code, out = run(cfg, "source", "ls")
    assert code == 0 and "news" in out and "HEALTH" in out
    assert run(cfg, "source", "rm", "news")[0] == 0
    code, out = run(cfg, "source", "rm", "news")
    assert code == 1 and "no source named 'news'" in out


def test_source_add_usage_errors(cfg: Path) -> None:
    assert run(cfg, "source", "add", "ftp://x.example/feed")[0] == 2
    assert run(cfg, "source", "add", "https://x.example/", "--kind", "page")[0] == 2
    assert run(cfg, "source", "add", "https://x.example/", "--kind", "podcast")[0] == 2


def test_watchlist_lifecycle_and_errors(cfg: Path) -> None:
    code, out = run(cfg, "watchlist", "add", "troops", "troops NEAR/5 border", "--channel", "hook")
    assert code == 0, out
    code, out = run(cfg, "watchlist", "add", "bad", "(troops AND border")
    assert code == 2 and "^" in out
    code, out = run(cfg, "watchlist", "add", "nochan", "troops", "--channel", "pager")
    assert code == 2 and "'pager' is not declared" in out
    code, out = run(cfg, "watchlist", "edit", "troops", "--query", "troops ONEAR/3 border")
    assert code == 0
    rows = json.loads(run(cfg, "watchlist", "ls", "--json")[1])
    assert [(r["name"], r["query"], r["channels"]) for r in rows] == [
        ("troops", "troops ONEAR/3 border", ["hook"])
    ]
    assert run(cfg, "watchlist", "rm", "troops")[0] == 0
    assert run(cfg, "watchlist", "rm", "troops")[0] == 1


def test_watchlist_test_exit_codes(cfg: Path) -> None:
    code, out = run(
        cfg, "watchlist", "test", "troops NEAR/5 border", "--text", "Troops massed near the border."
    )
    assert code == 0 and "match" in out
    assert (
        run(cfg, "watchlist", "test", "troops NEAR/1 border", "--text", "Troops massed near the border.")[0]
        == 1
    )
    assert run(cfg, "watchlist", "test", '"unterminated', "--text", "x")[0] == 2


def test_hits_and_alerts_empty_listings(cfg: Path) -> None:
    code, out = run(cfg, "hits", "ls", "--json")
    assert code == 0 and json.loads(out) == []
    code, out = run(cfg, "alerts", "ls", "--failed", "--json")
    assert code == 0 and json.loads(out) == []
    assert run(cfg, "alerts", "retry")[0] == 2
    code, out = run(cfg, "hits", "ls", "--since", "yesterday-ish")
    assert code == 2


def test_help_has_examples() -> None:
    for args in (["run"], ["source", "add"], ["watchlist", "test"], ["normalize"], ["hits", "ls"]):
        result = CliRunner().invoke(app, [*args, "--help"])
        assert result.exit_code == 0 and "Example" in result.output


def test_source_add_discovers_feed_of_html_page(tmp_path: Path, static_server: StaticServer) -> None:
    (static_server.root / "index.html").write_text(
        "<html><head><title>Home</title>"
        '<link rel="alternate" type="application/rss+xml" title="Top stories" href="/rss/top.xml">'
        '<link rel="alternate" type="application/atom+xml" title="Sport" href="/atom/sport.xml">'
        "</head><body><p>Welcome</p></body></html>",
        encoding="utf-8",
    )
    cfg = tmp_path / "m.yaml"
    cfg.write_text(
        f"database_url: sqlite:///{tmp_path / 'd.db'}\nfetch: {{allow_private_networks: true}}\n",
        encoding="utf-8",
    )
    code, out = run(cfg, "source", "add", static_server.url("index.html"), "--name", "site", "--pick", "2")
    assert code == 0, out
    assert "advertises 2 feed(s)" in out and "Top stories" in out
    row = json.loads(run(cfg, "source", "show", "site", "--json")[1])
    assert row["url"] == static_server.url("atom/sport.xml")
    (static_server.root / "plain.html").write_text(
        "<html><body>No feeds here</body></html>", encoding="utf-8"
    )
    code, out = run(cfg, "source", "add", static_server.url("plain.html"), "--name", "plain")
    assert code == 1 and "advertises no feed" in out
