"""SIGKILL the dispatcher process at random points, ten times, while 200 alerts are due on three channels.

Dispatchers run as real processes (the ``monitor alerts dispatch --wait`` command, forked by
``_zygote`` so that a restart does not pay seconds of imports) against one database; a second process
is always running while the oldest one works, so two processes claim from the same outbox. Each kill
lands after the victim logged a random number of deliveries. Afterwards the local receivers must hold
every alert exactly once: the webhook receiver by idempotency key; the Slack-like and SMTP receivers by
count, where a repeat is allowed only if a kill happened between the two receipts (the first acceptance
was never recorded), at most twice per kill and channel (the dispatcher writes one acceptance
while the next message is on its way). The digest channel (``every: 1s``) must
deliver each digest row under exactly one key.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import Envelope, Session

from monitor.store import WatchlistSpec
from tests.notify._servers import LocalController, Recorded, RecordingServer, SMTPRecorder

from .conftest import Clock, Env

ARTICLES = 200
DIGEST_ARTICLES = 20
KILLS = 10
SPARES = 1  # a second process claims from the same outbox while the oldest works
TITLE = re.compile(r"Story (\d+)")


class TimedSMTP(SMTPRecorder):
    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        self.times.append(time.monotonic())
        return await super().handle_DATA(server, session, envelope)


class QuietServer(RecordingServer):
    """Killed clients reset their connections; that is the point of the test, not an error to print."""

    def handle_error(self, request: object, client_address: object) -> None:
        return None


def complete(r: Recorded) -> dict[str, Any] | None:
    """The JSON body, or None for a request torn by a kill mid-body (no receiver would accept it)."""
    if len(r.body) != int(r.headers.get("content-length", "-1")):
        return None
    try:
        value = json.loads(r.body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class Zygote:
    """``tests.alerts._zygote``: imports once, forks a fresh dispatcher process per ``spawn``."""

    def __init__(self) -> None:
        self.p = subprocess.Popen(
            [sys.executable, "-m", "tests.alerts._zygote"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        assert self._ask(None) == "ready"

    def _ask(self, line: str | None) -> str:
        assert self.p.stdin is not None and self.p.stdout is not None
        if line is not None:
            self.p.stdin.write(line + "\n")
            self.p.stdin.flush()
        return self.p.stdout.readline().strip()

    def spawn(self, log: Path, args: list[str]) -> int:
        return int(self._ask("\t".join(["spawn", str(log), *args])))

    def wait(self, pid: int) -> int:
        return int(self._ask(f"wait\t{pid}"))

    def close(self) -> None:
        if self.p.stdin is not None:
            self.p.stdin.close()
        self.p.wait(10)


class Proc:
    """One dispatcher process; ``sent`` counts the deliveries it logged (JSON lines)."""

    def __init__(self, zygote: Zygote, args: list[str], log: Path) -> None:
        self.zygote = zygote
        self.log = log
        self.pid = zygote.spawn(log, args)
        self.code: int | None = None

    def sent(self) -> int:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace").count('"alert.sent"')
        except OSError:
            return 0

    def exited(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        with open(f"/proc/{self.pid}/stat", encoding="ascii") as stat:  # a zombie has exited
            return stat.read().split(") ")[1].startswith("Z")

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        self.code = self.zygote.wait(self.pid)

    def finish(self, timeout: float) -> int:
        wait_until(self.exited, timeout)
        self.code = self.zygote.wait(self.pid)
        return self.code


def wait_until(check: Callable[[], bool], timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end and not check():
        time.sleep(0.01)


@pytest.fixture
def server() -> Iterator[QuietServer]:
    s = QuietServer().start()
    try:
        yield s  # type: ignore[misc]
    finally:
        s.stop()


@pytest.fixture
def smtp_timed() -> Iterator[tuple[TimedSMTP, int]]:
    handler = TimedSMTP()
    controller = LocalController(handler, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


def _config(tmp_path: Path, db_url: str, server: RecordingServer, smtp_port: int) -> Path:
    path = tmp_path / "crash.yaml"
    path.write_text(
        f"""
database_url: "{db_url}"
log_format: json
delivery: {{lease: 3s, batch: 10}}
channels:
  hook: {{type: webhook, url: "{server.url("/hook")}"}}
  slack: {{type: slack, webhook_url: "{server.url("/slack")}", min_interval: 10ms}}
  mail: {{type: email, host: 127.0.0.1, port: {smtp_port}, security: none,
          sender: monitor@example.org, recipients: [desk@example.org]}}
  digest: {{type: webhook, url: "{server.url("/digest")}", digest: {{every: 1s}}}}
""",
        encoding="utf-8",
    )
    return path


def _repeats(times_by_item: dict[str, list[float]], kills: list[float]) -> int:
    """Repeated receipts; each must have a kill between it and the previous receipt of the same item."""
    repeats = 0
    for item, times in times_by_item.items():
        times.sort()
        for first, again in itertools.pairwise(times):
            assert any(first <= k <= again for k in kills), f"{item} repeated without a crash in between"
            repeats += 1
    return repeats


@pytest.mark.slow
def test_sigkill_ten_times_delivers_every_alert_exactly_once(
    env: Env,
    db_url: str,
    tmp_path: Path,
    server: QuietServer,
    smtp_timed: tuple[TimedSMTP, int],
    capsys: pytest.CaptureFixture[str],
) -> None:
    smtp, smtp_port = smtp_timed
    env.setup(
        WatchlistSpec(name="now", query="strike", channels=("hook", "slack", "mail")),
        WatchlistSpec(name="later", query="strike", channels=("digest",), mode="digest"),
    )
    env.clock = Clock(datetime.now(UTC))
    env.enqueue(ARTICLES, hits=("now",))
    env.enqueue(DIGEST_ARTICLES, hits=("later",), title="Digest")
    cfg = _config(tmp_path, db_url, server, smtp_port)
    args = ["alerts", "dispatch", "--wait", "--timeout", "60", "--config", str(cfg)]
    zygote = Zygote()
    rng = random.Random()
    procs: list[Proc] = []
    kills: list[float] = []
    started = time.monotonic()

    def spawn() -> None:
        procs.append(Proc(zygote, args, tmp_path / f"dispatcher-{len(kills)}-{len(procs)}.log"))

    try:
        for _ in range(SPARES + 1):
            spawn()
        while len(kills) < KILLS:
            victim = procs.pop(0)
            target = rng.randint(1, 30)
            wait_until(lambda v=victim, n=target: v.sent() >= n or v.exited(), 15)  # type: ignore[misc]
            time.sleep(rng.uniform(0, 0.02))
            victim.kill()
            kills.append(time.monotonic())
            spawn()
        codes = [p.finish(60) for p in procs]
    finally:
        for p in procs:
            if p.code is None:
                os.kill(p.pid, signal.SIGKILL)
                p.code = zygote.wait(p.pid)
        zygote.close()
    elapsed = time.monotonic() - started
    assert codes == [0] * len(procs), [p.log.read_text()[-2000:] for p in procs]

    # webhook: exactly once by idempotency key
    hook_ids: dict[str, tuple[int, ...]] = {}
    hook_times: dict[str, list[float]] = defaultdict(list)
    for r in server.requests:
        payload = complete(r)
        if r.path != "/hook" or payload is None:
            continue
        key = payload["idempotency_key"]
        assert hook_ids.setdefault(key, tuple(payload["alert_ids"])) == tuple(payload["alert_ids"])
        hook_times[key].append(r.at)
    delivered = [i for ids in hook_ids.values() for i in ids]
    assert len(delivered) == ARTICLES == len(set(delivered))

    # Slack-like and SMTP: by count
    slack_times: dict[str, list[float]] = defaultdict(list)
    for r in server.requests:
        payload = complete(r)
        if r.path == "/slack" and payload is not None:
            match = TITLE.search(payload["text"])
            assert match is not None
            slack_times[match.group(1)].append(r.at)
    mail_times: dict[str, list[float]] = defaultdict(list)
    for (_f, _t, raw), at in zip(smtp.messages, smtp.times, strict=True):
        match = TITLE.search(raw.decode("utf-8", "replace"))
        assert match is not None
        mail_times[match.group(1)].append(at)
    assert len(slack_times) == ARTICLES and len(mail_times) == ARTICLES

    # digests: every digest row under exactly one key
    digest_ids: dict[str, list[int]] = {}
    digest_times: dict[str, list[float]] = defaultdict(list)
    for r in server.requests:
        payload = complete(r)
        if r.path == "/digest" and payload is not None:
            ids = sorted(i for s in payload["stories"] for a in s["alerts"] for i in a["alert_ids"])
            assert digest_ids.setdefault(payload["idempotency_key"], ids) == ids
            digest_times[payload["idempotency_key"]].append(r.at)
    in_digests = [i for ids in digest_ids.values() for i in ids]
    assert len(in_digests) == DIGEST_ARTICLES == len(set(in_digests))

    repeats = {
        "webhook (dropped by key)": _repeats(hook_times, kills),
        "slack": _repeats(slack_times, kills),
        "smtp": _repeats(mail_times, kills),
        "digest (dropped by key)": _repeats(digest_times, kills),
    }
    assert all(n <= 2 * KILLS for n in repeats.values()), repeats
    assert env.statuses() == {"sent": 3 * ARTICLES + DIGEST_ARTICLES}
    with capsys.disabled():
        print(
            f"\n[crash test] {len(kills)} SIGKILLs in {elapsed:.1f}s; repeated deliveries of a message "
            f"whose acceptance was never recorded: {repeats}"
        )
