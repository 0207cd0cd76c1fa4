"""Alert delivery throughput and hit-to-delivery delay: the outbox dispatcher versus a naive loop, one run.

Not a test (pytest does not collect it). Run from the repository root:

    .venv/bin/python bench/alerts.py [--quick] [-n N] [--db URL] [--latency-ms MS]

Alerts are written the way the pipeline writes them (``Store.apply_poll``: articles, hits and outbox
rows in one transaction, 500 articles per poll), spread evenly over three channel types: a webhook,
Slack-like webhooks (four channels with ``min_interval`` 10 ms instead of Slack's ~1 s, otherwise Slack
throughput is just one message per second per channel) and SMTP (aiosmtpd; one SMTP connection per
e-mail, as ``EmailNotifier`` does). The receivers run in a separate process on 127.0.0.1 and timestamp
every message they accept.

* ours: ``Dispatcher.drain()`` with the real notifiers (one task per channel, channels in parallel,
  batch claims with leases, one transaction per outcome).
* naive baseline (same receivers, same notifiers): one row at a time, ``SELECT ... ORDER BY id
  LIMIT 1`` -> send -> ``UPDATE status='sent'``; no batching, no leases, no grouping, one channel after
  the other. It gets N/5 alerts to keep the run short (rates are compared, not totals).

Two phases: (1) N alerts (default 10,000; ``--quick`` 1,500) to receivers that answer at once, i.e. raw
local throughput, bounded here by CPU; (2) 900 alerts (``--quick`` 300) to receivers that answer after
``--latency-ms`` (default 20 ms), a stand-in for the network round trip of a real Slack, webhook or SMTP
relay. Per channel type: alerts/s (alerts of that type / seconds from the start of the drain to its last
delivery) and the delay from hit (the row's ``created_at``) to acceptance, p50 and p99. All hits are
enqueued before the drain starts, so the delay includes the wait behind the backlog: it says how fast a
burst clears, not the daemon's idle latency (that is its 2 s dispatch interval). Prints figures, then
one JSON line (``results`` is phase 1, ``with_latency`` phase 2).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, date, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from monitor.core import Span, WatchlistHit
from monitor.log import configure
from monitor.notify import EmailNotifier, Notifier, SlackNotifier, WebhookNotifier
from monitor.runtime import Dispatcher, build_messages
from monitor.store import AlertRow, NewArticle, PollRecord, SourceSpec, SourceUpdate, Store, WatchlistSpec

KINDS = ("webhook", "slack", "smtp")
SLACK_CHANNELS = 4
NUMBER = re.compile(rb"Bench (\d+)\b")
Figures = dict[str, dict[str, float]]
Contender = Callable[[Store, dict[str, Notifier]], Coroutine[Any, Any, float]]


# --- receivers (separate process) -------------------------------------------------------------------------
def _receivers(conn: Connection) -> None:
    from aiosmtpd.controller import Controller

    latency = [0.0]  # seconds before each answer (a stand-in for a network round trip)
    seen: list[tuple[str, int, float]] = []
    lock = threading.Lock()

    def record(kind: str, body: bytes) -> None:
        now = time.time()
        match = NUMBER.search(body)
        if match:
            with lock:
                seen.append((kind, int(match.group(1)), now))

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            if latency[0]:
                await asyncio.sleep(latency[0])
            record("smtp", envelope.original_content or b"")
            return "250 OK"

    class Smtp(Controller):
        def _trigger_server(self) -> None:
            self.port = self.server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            super()._trigger_server()  # type: ignore[no-untyped-call]

    async def http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                found = re.search(rb"(?i)content-length:\s*(\d+)", head)
                body = await reader.readexactly(int(found.group(1)) if found else 0)
                if latency[0]:
                    await asyncio.sleep(latency[0])
                record("slack" if b" /slack" in head[:40] else "webhook", body)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            writer.close()

    async def serve() -> None:
        smtp = Smtp(Handler(), hostname="127.0.0.1", port=0)
        smtp.start()
        server = await asyncio.start_server(http, "127.0.0.1", 0)
        conn.send((server.sockets[0].getsockname()[1], smtp.port))
        loop = asyncio.get_running_loop()
        while True:
            cmd = await loop.run_in_executor(None, conn.recv)
            if cmd == "dump":
                with lock:
                    conn.send(list(seen))
                    seen.clear()
            elif isinstance(cmd, float):
                latency[0] = cmd
            else:
                break
        smtp.stop()
        server.close()

    asyncio.run(serve())


# --- alerts -----------------------------------------------------------------------------------------------
def channels_of(kind: str) -> list[str]:
    return [f"slack{i}" for i in range(SLACK_CHANNELS)] if kind == "slack" else [kind]


def kind_of(channel: str) -> str:
    return "slack" if channel.startswith("slack") else channel


def enqueue(store: Store, first: int, n: int) -> dict[int, str]:
    """``n`` alerts numbered from ``first``, round-robin over the channels; answers number -> channel."""
    now = datetime.now(UTC)
    channels = [c for k in KINDS for c in channels_of(k)]
    store.sync_config(
        [SourceSpec(name="bench", url="https://bench.example/feed")],
        [WatchlistSpec(name=f"w-{c}", query="strike", channels=(c,)) for c in channels],
        now=now,
    )
    source = store.list_sources(now=now)[0].id
    ids = {w.name: w.id for w in store.list_watchlists()}
    where: dict[int, str] = {}
    for start in range(first, first + n, 500):
        arts = []
        for k in range(start, min(first + n, start + 500)):
            group = channels_of(KINDS[k % len(KINDS)])
            channel = group[(k // len(KINDS)) % len(group)]
            where[k] = channel
            text = f"Bench {k}: dockworkers strike at the northern terminal for a third day."
            span = Span(text.index("strike"), text.index("strike") + 6)
            arts.append(
                NewArticle(
                    url=f"https://bench.example/{k}",
                    guid=None,
                    title=f"Bench {k} strike",
                    published=date(2026, 11, 20),
                    date_source="feed",
                    text=text,
                    content_hash=uuid.uuid4().hex * 2,
                    language="en",
                    extractor="bench",
                    hits=(WatchlistHit(ids[f"w-{channel}"], text, (span,)),),
                )
            )
        update = SourceUpdate(success=True, next_check_at=now + timedelta(hours=1), current_interval_s=900)
        store.apply_poll(PollRecord(source, update, tuple(arts)), now=datetime.now(UTC))
    return where


def created_at(store: Store) -> dict[int, datetime]:
    out: dict[int, datetime] = {}
    for row in store.list_alerts(limit=10**7):
        match = NUMBER.search(row.title.encode())
        if match:
            out[int(match.group(1))] = row.created_at
    return out


def notifiers(http_port: int, smtp_port: int) -> dict[str, Notifier]:
    made: dict[str, Notifier] = {
        "webhook": WebhookNotifier(name="webhook", url=f"http://127.0.0.1:{http_port}/hook", timeout_s=10),
        "smtp": EmailNotifier(
            name="smtp",
            host="127.0.0.1",
            port=smtp_port,
            security="none",
            sender="bench@example.org",
            recipients=["desk@example.org"],
        ),
    }
    for c in channels_of("slack"):
        made[c] = SlackNotifier(
            name=c, webhook_url=f"http://127.0.0.1:{http_port}/slack", min_interval_s=0.01
        )
    return made


# --- the two contenders -----------------------------------------------------------------------------------
async def ours(store: Store, sinks: dict[str, Notifier]) -> float:
    started = time.time()
    report = await Dispatcher(store=store, notifiers=sinks, batch=100, lease_s=120).drain()
    assert report.failed == 0 and report.retried == 0, report
    return started


async def naive(store: Store, sinks: dict[str, Notifier]) -> float:
    """One row at a time, no batch, no lease: SELECT the oldest pending row, send it, mark it sent."""
    from sqlalchemy import select

    from monitor.store.models import Alert

    started = time.time()
    while True:
        with store.session() as s:
            a = s.scalars(select(Alert).where(Alert.status == "pending").order_by(Alert.id).limit(1)).first()
            row = None
            if a is not None:
                row = AlertRow(
                    a.id, a.article_id, a.watchlist_id, a.channel, a.mode, 1, dict(a.payload), a.created_at
                )
        if row is None:
            return started
        (message,) = build_messages([row])
        outcome = await sinks[row.channel].send(message)
        assert outcome.ok, outcome
        store.mark_sent([row.id], now=datetime.now(UTC))


def figures(
    seen: Sequence[tuple[str, int, float]],
    where: dict[int, str],
    created: dict[int, datetime],
    started: float,
) -> Figures:
    by_kind: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for kind, k, t in seen:
        if k in where:
            by_kind[kind].append((k, t))
    out = {}
    for kind in KINDS:
        got = by_kind[kind]
        expected = sum(1 for c in where.values() if kind_of(c) == kind)
        assert len({k for k, _ in got}) == expected == len(got), (kind, len(got), expected)
        delays = sorted(1000 * (t - created[k].timestamp()) for k, t in got)
        out[kind] = {
            "alerts": float(len(got)),
            "alerts_per_s": len(got) / (max(t for _, t in got) - started),
            "p50_ms": statistics.median(delays),
            "p99_ms": delays[min(len(delays) - 1, int(0.99 * len(delays)))],
        }
    return out


def fresh_db(base: str | None, tmp: Path, name: str) -> tuple[str, Callable[[], None] | None]:
    if base is None:
        return f"sqlite:///{tmp / name}.db", None
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    plain = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as c:
        c.execute(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        with psycopg.connect(plain, autocommit=True) as c:
            c.execute(f'DROP SCHEMA "{schema}" CASCADE')

    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", drop


def run(
    label: str, url: str, n: int, first: int, contender: Contender, conn: Connection, ports: tuple[int, int]
) -> tuple[Figures, float]:
    store = Store(url)
    store.upgrade()
    try:
        t0 = time.time()
        where = enqueue(store, first, n)
        enqueue_s = time.time() - t0
        created = created_at(store)

        async def go() -> float:
            sinks = notifiers(*ports)
            try:
                return await contender(store, sinks)
            finally:
                for sink in sinks.values():
                    await sink.aclose()

        started = asyncio.run(go())
        wall = time.time() - started
        conn.send("dump")
        seen = conn.recv()
        print(
            f"{label}: {n} alerts enqueued in {enqueue_s:.1f} s, delivered in {wall:.1f} s ({n / wall:.0f}/s)"
        )
        return figures(seen, where, created, started), n / wall
    finally:
        store.close()


def table(title: str, mine: Figures, base: Figures) -> list[dict[str, Any]]:
    print(f"\n{title}")
    head = f"{'channel':8} {'alerts':>7} {'alerts/s':>9} {'p50 ms':>9} {'p99 ms':>9}"
    print(f"{head} | naive {'alerts/s':>9} {'p50 ms':>9} {'p99 ms':>9}  ratio")
    rows = []
    for kind in KINDS:
        a, b = mine[kind], base[kind]
        ratio = a["alerts_per_s"] / b["alerts_per_s"]
        print(
            f"{kind:8} {a['alerts']:7.0f} {a['alerts_per_s']:9.0f} {a['p50_ms']:9.0f} {a['p99_ms']:9.0f} |"
            f"       {b['alerts_per_s']:9.0f} {b['p50_ms']:9.0f} {b['p99_ms']:9.0f}  {ratio:5.1f}x"
        )
        rows.append(
            {
                "channel": kind,
                "alerts": int(a["alerts"]),
                "alerts_per_s": round(a["alerts_per_s"], 1),
                "p50_ms": round(a["p50_ms"], 1),
                "p99_ms": round(a["p99_ms"], 1),
                "baseline_alerts_per_s": round(b["alerts_per_s"], 1),
                "baseline_p50_ms": round(b["p50_ms"], 1),
                "baseline_p99_ms": round(b["p99_ms"], 1),
                "ratio": round(ratio, 2),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("-n", type=int, default=None, help="alerts of phase 1 (default 10000, --quick 1500)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--db", default=None, help="PostgreSQL URL (default: SQLite in a temp dir)")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="receiver latency in phase 2")
    args = parser.parse_args()
    n = args.n or (1500 if args.quick else 10_000)
    n_naive = max(300, n // 5)
    n_slow = 300 if args.quick else 900
    configure(fmt="json", level="WARNING", stream=sys.stderr)
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    receivers = ctx.Process(target=_receivers, args=(child,), daemon=True)
    receivers.start()
    results: dict[str, tuple[Figures, float]] = {}
    plan: list[tuple[str, int, int, Contender, float]] = [
        ("ours", n, 0, ours, 0.0),
        ("naive", n_naive, 10_000_000, naive, 0.0),
        ("ours+latency", n_slow, 20_000_000, ours, args.latency_ms / 1000),
        ("naive+latency", n_slow, 30_000_000, naive, args.latency_ms / 1000),
    ]
    try:
        ports = parent.recv()
        with tempfile.TemporaryDirectory() as tmp:
            for label, count, first, contender, latency in plan:
                parent.send(latency)
                url, drop = fresh_db(args.db, Path(tmp), label.replace("+", "_"))
                try:
                    results[label] = run(label, url, count, first, contender, parent, ports)
                finally:
                    if drop is not None:
                        drop()
        parent.send("stop")
    finally:
        receivers.join(5)
        if receivers.is_alive():
            receivers.terminate()
    backend = "postgresql" if args.db else "sqlite"
    print(f"\nbackend {backend}; Slack-like: {SLACK_CHANNELS} channels, min_interval 10 ms (Slack: ~1/s)")
    (mine, rate), (base, base_rate) = results["ours"], results["naive"]
    rows = table(f"1. receivers answer at once ({n} alerts; naive {n_naive})", mine, base)
    print(f"all channels: {rate:.0f} alerts/s vs naive {base_rate:.0f} alerts/s = {rate / base_rate:.1f}x")
    (mine2, rate2), (base2, base_rate2) = results["ours+latency"], results["naive+latency"]
    title2 = f"2. receivers answer after {args.latency_ms:g} ms, like a network round trip ({n_slow} alerts)"
    slow_rows = table(title2, mine2, base2)
    print(
        f"all channels: {rate2:.0f} alerts/s vs naive {base_rate2:.0f} alerts/s = {rate2 / base_rate2:.1f}x"
    )
    print(
        json.dumps(
            {
                "bench": "alerts",
                "backend": backend,
                "alerts": n,
                "baseline_alerts": n_naive,
                "results": rows,
                "alerts_per_s": round(rate, 1),
                "baseline_alerts_per_s": round(base_rate, 1),
                "ratio": round(rate / base_rate, 2),
                "with_latency": {
                    "latency_ms": args.latency_ms,
                    "alerts": n_slow,
                    "results": slow_rows,
                    "alerts_per_s": round(rate2, 1),
                    "baseline_alerts_per_s": round(base_rate2, 1),
                    "ratio": round(rate2 / base_rate2, 2),
                },
            }
        )
    )


if __name__ == "__main__":
    main()
