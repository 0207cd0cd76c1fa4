"""``monitor search`` and ``watchlist add --backfill`` over articles stored by a real demo run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from monitor.cli import app
from tests.conftest import StaticServer

SITE = Path(__file__).with_name("site")


def test_search_and_backfill(tmp_path: Path, static_server: StaticServer) -> None:
    shutil.copytree(SITE, static_server.root, dirs_exist_ok=True)
    cfg = tmp_path / "m.yaml"
    cfg.write_text(
        f"""
database_url: sqlite:///{tmp_path / 'd.db'}
fetch: {{allow_private_networks: true}}
sources:
  - {{name: observer, url: "{static_server.url('feed.xml')}"}}
""",
        encoding="utf-8",
    )
    runner = CliRunner()
    assert runner.invoke(app, ["run", "--once", "--config", str(cfg)]).exit_code == 0
    result = runner.invoke(app, ["search", "harbour NEAR/3 master", "--json", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["title"] for r in rows] == ["Ferry service halted as Mount Calder ash cloud spreads"]
    assert "harbour master" in rows[0]["snippet"].lower()
    assert json.loads(runner.invoke(app, ["search", "tsunami", "--json", "--config", str(cfg)]).stdout) == []
    assert runner.invoke(app, ["search", "(broken", "--config", str(cfg)]).exit_code == 2

    result = runner.invoke(
        app, ["watchlist", "add", "festivals", "festival OR rowing", "--backfill", "30", "--config", str(cfg)]
    )
    assert result.exit_code == 0, result.output
    assert "backfill: 1 hit(s)" in result.output
    hits = json.loads(runner.invoke(app, ["hits", "ls", "--json", "--config", str(cfg)]).stdout)
    assert [(h["watchlist"], h["alerted"]) for h in hits] == [("festivals", False)]
    alerts = json.loads(runner.invoke(app, ["alerts", "ls", "--json", "--config", str(cfg)]).stdout)
    assert alerts == []  # a backfill never alerts
