"""A local cluster for the scale-out test and bench: the feed site process, a PostgreSQL schema of its
own, a configuration file, and ``monitor run`` worker processes started and killed like in production.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import yaml

ROOT = Path(__file__).resolve().parents[2]


def plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@contextmanager
def pg_schema(base: str) -> Iterator[str]:
    """A fresh schema; yields the database URL whose ``search_path`` points into it (dropped after)."""
    schema = f"s_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(plain(base), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain(base), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


class SiteProcess:
    """``tests.scale._site`` in its own process (its threads never compete with the test's GIL)."""

    def __init__(self, *, feeds: int, every: float, delay: float, freeze: float | None = None) -> None:
        args = [sys.executable, "-m", "tests.scale._site", "--feeds", str(feeds)]
        args += ["--every", str(every), "--delay", str(delay)]
        if freeze is not None:
            args += ["--freeze", str(freeze)]
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())
        self.feeds = feeds

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url(path), timeout=30) as resp:
            return json.loads(resp.read())

    def freeze(self) -> float:
        req = urllib.request.Request(self.url("/_freeze"), data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=30) as resp:
            return float(json.loads(resp.read())["freeze_at"])

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@dataclass
class ClusterConfig:
    database_url: str
    site: SiteProcess
    interval: float = 15.0
    max_interval: float = 30.0
    tick: float = 5.0
    workers: int = 8
    channels: Sequence[str] = ("hook_a", "hook_b")
    stories: bool = True
    jobs: dict[str, float] = field(
        default_factory=lambda: {"heartbeat": 3, "stalled_after": 15, "recover_every": 5, "dispatch_every": 2}
    )

    def write(self, path: Path) -> Path:
        queries = ["harbour", "cranes"]
        doc: dict[str, Any] = {
            "database_url": self.database_url,
            "log_format": "json",
            "tick": self.tick,
            "workers": self.workers,
            "http_port": None,
            "retention": None,
            "fetch": {"allow_private_networks": True, "per_host": 16, "concurrency": 64},
            # A send that fails (the site is a busy local process) is retried within seconds, not after
            # the default 30 s back-off, which would outlast the test's settle time.
            "delivery": {"lease": 20, "batch": 50, "retry_base": 2, "retry_max": 8},
            "jobs": self.jobs,
            # the story index's state file defaults to ./data/ for PostgreSQL: keep it to this cluster
            "stories": {"enabled": self.stories, "state_file": str(path.parent / "stories-index.npz")},
            "channels": {c: {"type": "webhook", "url": self.site.url(f"/hook/{c}")} for c in self.channels},
            "watchlists": [
                {"name": f"w_{c}", "query": queries[i % len(queries)], "channels": [c]}
                for i, c in enumerate(self.channels)
            ],
            "sources": [
                {
                    "name": f"feed{n}",
                    "url": self.site.url(f"/feed/{n}.xml"),
                    "interval": self.interval,
                    "min_interval": self.interval,
                    "max_interval": self.max_interval,
                    "first_poll": "alert",
                    "trust_feed_content": True,
                }
                for n in range(self.site.feeds)
            ],
        }
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        return path


class Worker:
    """One ``monitor run`` process; its JSON log goes to a file."""

    def __init__(
        self, config: Path, log_dir: Path, n: int, *, role: str = "all", env: dict[str, str]
    ) -> None:
        self.log_path = log_dir / f"worker{n}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "--config", str(config), "--role", role],
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def events(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return out

    def worker_id(self, timeout: float = 60.0) -> int:
        """The procrastinate worker id this process registered (from its ``jobs.started`` line)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for e in self.events():
                if e.get("event") == "jobs.started" and e.get("worker_id") is not None:
                    return int(e["worker_id"])
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited with {self.proc.returncode}: {self.tail()}")
            time.sleep(0.2)
        raise TimeoutError(f"worker {self.pid} did not start: {self.tail()}")

    def tail(self, n: int = 30) -> str:
        return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-n:])

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._log.close()

    def stop(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()
        return int(self.proc.returncode)


def worker_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def query(url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Run ``sql`` in the cluster's schema (the URL's search_path)."""
    schema = url.split("search_path%3D", 1)[1].split("&", 1)[0]
    with psycopg.connect(plain(url.split("?", 1)[0])) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        return list(conn.execute(sql, args).fetchall())


def pg_client_ports(pid: int, server_port: int = 5432) -> set[int]:
    """Local ports of the TCP connections process ``pid`` holds to ``server_port`` (from /proc): what
    ``pg_stat_activity.client_port`` shows for its backends."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text(encoding="ascii").splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if inode in inodes and int(remote.rsplit(":", 1)[1], 16) == server_port:
                ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user + system CPU seconds) of a live process, from /proc."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks


def tree_cpu_s(pids: Sequence[int]) -> float:
    """CPU seconds used so far by ``pids`` and all their live descendants (process pools included)."""
    stats = {
        int(p.name): s for p in Path("/proc").iterdir() if p.name.isdigit() and (s := _stat(int(p.name)))
    }
    children: dict[int, list[int]] = {}
    for pid, (ppid, _cpu) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0.0, list(pids)
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += stats[pid][1]
            todo.extend(children.get(pid, []))
    return total
