"""``monitor alerts`` through Typer's runner: ls (redacted), retry, test CHANNEL, the hidden dispatch."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from monitor.store import Store, WatchlistSpec
from monitor.store._delivery import Outbox
from tests.notify._servers import RecordingServer, Reply

from .conftest import NOW, Clock, Env


@pytest.fixture
def token() -> str:
    """A secret never registered in this process before the command under test runs."""
    return f"tok{uuid.uuid4().hex}"


@pytest.fixture
def cfg(tmp_path: Path, db_url: str, http_server: RecordingServer, token: str) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(
        f"""
database_url: "{db_url}"
log_format: json
watchlists:
  - name: ports
    query: 'strike'
    channels: [console, hook]
channels:
  console: {{type: console}}
  hook: {{type: webhook, url: "{http_server.url("/hooks/" + token)}"}}
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def env(db_url: str, cfg: Path) -> Iterator[Env]:
    store = Store(db_url)
    store.upgrade()
    e = Env(store=store, clock=Clock(NOW))
    e.setup(WatchlistSpec(name="ports", query="strike", channels=("console", "hook")))
    try:
        yield e
    finally:
        store.close()


def run(cfg: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--config", str(cfg)])
    return result.exit_code, result.output


def test_ls_json_and_table_never_show_a_secret(
    cfg: Path, env: Env, http_server: RecordingServer, token: str
) -> None:
    env.enqueue(1, hits=("ports",))
    outbox = Outbox(env.store)
    hook_row = next(r for r in outbox.listing() if r.channel == "hook")
    leak = f"webhook hook: HTTP 404 no hook at {http_server.url('/hooks/' + token)} (/hooks/{token})"
    outbox.mark_failed([hook_row.id], token=None, error=leak)  # type: ignore[arg-type]
    code, out = run(cfg, "alerts", "ls", "--failed", "--json")
    assert code == 0, out
    (row,) = json.loads(out)
    assert (row["id"], row["status"], row["channel"], row["mode"]) == (
        hook_row.id,
        "failed",
        "hook",
        "immediate",
    )
    assert "HTTP 404" in row["last_error"] and token not in out
    code, out = run(cfg, "alerts", "ls")
    assert code == 0 and "failed" in out and "pending" in out and token not in out
    assert run(cfg, "alerts", "ls", "--failed", "--pending")[0] == 2


def test_retry_requeues_failed_alerts(cfg: Path, env: Env) -> None:
    env.enqueue(2, hits=("ports",))
    outbox = Outbox(env.store)
    ids = [r.id for r in outbox.listing() if r.channel == "hook"]
    outbox.mark_failed(ids, token=None, error="HTTP 404 channel_not_found")  # type: ignore[arg-type]
    code, out = run(cfg, "alerts", "retry", str(ids[0]))
    assert code == 0 and "re-queued 1 alert(s)" in out
    code, out = run(cfg, "alerts", "retry", "--all-failed")
    assert code == 0 and "re-queued 1 alert(s)" in out
    assert env.statuses() == {"pending": 4}
    assert run(cfg, "alerts", "retry")[0] == 2


def test_test_command_reports_the_channel_answer(cfg: Path, http_server: RecordingServer, token: str) -> None:
    code, out = run(cfg, "alerts", "test", "hook")
    assert code == 0 and "ok: test message sent to hook" in out
    assert json.loads(http_server.requests[0].body)["type"] == "test"
    http_server.queue(Reply(404, f"unknown hook /hooks/{token}"))
    code, out = run(cfg, "alerts", "test", "hook")
    assert code == 1 and "test message to hook failed: permanent failure" in out and "404" in out
    assert token not in out
    code, out = run(cfg, "alerts", "test", "console")
    assert code == 0 and "test message for channel console" in out
    code, out = run(cfg, "alerts", "test", "nope")
    assert code == 2 and "unknown channel 'nope' (declared: console, hook)" in out


def test_hidden_dispatch_command_drains_and_reports(
    cfg: Path, env: Env, http_server: RecordingServer
) -> None:
    env.enqueue(2, hits=("ports",))
    code, out = run(cfg, "alerts", "dispatch")
    assert code == 0, out
    assert out.count("Story") >= 2 and len(http_server.requests) == 2
    assert env.statuses() == {"sent": 4}
    env.enqueue(1, hits=("ports",))
    http_server.queue(Reply(503, "busy", headers={"Retry-After": "3600"}))
    code, out = run(cfg, "alerts", "dispatch", "--wait", "--timeout", "0.3")
    assert code == 1  # the webhook row waits an hour: --wait gives up at the timeout
    last = [json.loads(line) for line in out.splitlines() if line.startswith("{")][-1]
    assert (last["event"], last["waiting_retry"]) == ("dispatch.done", 1)
    assert "dispatch" not in CliRunner().invoke(app, ["alerts", "--help"]).output
