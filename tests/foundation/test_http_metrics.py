"""The daemon's HTTP endpoint: liveness, readiness and Prometheus metrics from a running daemon."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from monitor.pipeline import InlineRunner
from monitor.runtime import Daemon
from monitor.settings import load_settings
from tests.conftest import StaticServer

SITE = Path(__file__).with_name("site")


async def test_metrics_health_and_readiness(tmp_path: Path, static_server: StaticServer) -> None:
    shutil.copytree(SITE, static_server.root, dirs_exist_ok=True)
    cfg = tmp_path / "m.yaml"
    cfg.write_text(
        f"""
database_url: sqlite:///{tmp_path / "d.db"}
tick: 1s
http_port: 0
fetch: {{allow_private_networks: true}}
sources:
  - {{name: observer, url: "{static_server.url("feed.xml")}", first_poll: alert}}
watchlists:
  - {{name: volcano, query: '"Mount Calder"'}}
""",
        encoding="utf-8",
    )
    out = (tmp_path / "out.txt").open("w", encoding="utf-8")
    daemon = Daemon(load_settings(cfg), cpu=InlineRunner(), console_stream=out)
    task = asyncio.create_task(daemon.run_forever())
    try:
        for _ in range(100):
            await asyncio.sleep(0.1)
            if daemon.http is not None and daemon.store.counts()["hits"] >= 1:
                break
        assert daemon.http is not None
        base = f"http://127.0.0.1:{daemon.http.port}"
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:
            await asyncio.sleep(2.5)  # let the dispatcher deliver
            live = await client.get("/healthz")
            ready = await client.get("/readyz")
            metrics = await client.get("/metrics")
            missing = await client.get("/nope")
    finally:
        daemon.request_stop()
        await asyncio.wait_for(task, timeout=15)
        await daemon.aclose()
        out.close()
    assert live.status_code == 200 and "last tick" in live.text
    assert ready.status_code == 200 and ready.text.strip() == "ready"
    assert missing.status_code == 404
    families = {f.name: f for f in text_string_to_metric_families(metrics.text)}
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples
    }
    assert (
        samples[("monitor_fetches_total", (("result", "ok"), ("status_class", "2xx"), ("target", "source")))]
        >= 1
    )
    assert (
        samples[("monitor_fetches_total", (("result", "ok"), ("status_class", "2xx"), ("target", "article")))]
        == 2
    )
    assert samples[("monitor_articles_ingested_total", ())] == 2
    assert samples[("monitor_hits_total", (("watchlist", "volcano"),))] == 1
    assert ("monitor_outbox_pending", ()) in samples and ("monitor_sources_due", ()) in samples
    assert "monitor_fetch_duration_seconds" in families and "monitor_parse_duration_seconds" in families
    assert not any("127.0.0.1" in str(labels) for (_, labels) in samples)  # no per-URL labels
