"""The containers' command, run for real: the image's `monitor run` and compose's two replicas, each a
process with the container's environment and mounted config (database and port pointed at this
machine), must become ready, answer every probe path the manifests use, pass the image's own
HEALTHCHECK command, and exit 0 on SIGTERM within the grace period the manifests give them."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from tests.deploy._files import DEPLOY, K8S, SERVED_PATHS, dockerfile, image_env, last, stages, yaml_docs
from tests.deploy.test_compose import MONITOR, monitor_config_mount, monitor_container_env

RUNTIME = stages(dockerfile())[-1]
HEALTHCHECK = last(RUNTIME, "HEALTHCHECK").exec_form()
MONITOR_EXE = Path(sys.executable).with_name("monitor")
STARTUP_LIMIT_S = 120.0  # a guard against a hang on a loaded machine, not a speed requirement


def _probe_paths() -> set[str]:
    """Every HTTP path a manifest sends a probe or a scraper to."""
    paths = set(re.findall(r"'(/\w+)'", HEALTHCHECK[-1]))
    paths |= set(re.findall(r"'(/\w+)'", MONITOR["healthcheck"]["test"][-1]))
    for doc in yaml_docs(K8S / "deployment.yaml") + yaml_docs(K8S / "service.yaml"):
        text = json.dumps(doc)
        paths |= set(re.findall(r'"path": "(/\w+)"', text))
        paths |= set(re.findall(r'"prometheus.io/path": "(/\w+)"', text))
    return paths


class Replica:
    """One container's process: ENTRYPOINT `monitor` (tini aside) with the given CMD and environment."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> None:
        self.lines: list[str] = []
        self._port: int | None = None
        self._listening = threading.Event()
        self.proc = subprocess.Popen(
            [str(MONITOR_EXE), *argv],
            env=dict(env),
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if '"http.listening"' in line:
                self._port = int(json.loads(line)["port"])
                self._listening.set()

    @property
    def output(self) -> str:
        return "".join(self.lines)[-4000:]

    def port(self) -> int:
        deadline = time.monotonic() + STARTUP_LIMIT_S
        while not self._listening.wait(0.5):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self._reader.join(timeout=10)
                raise AssertionError(f"the daemon never listened (exit {self.proc.poll()}):\n{self.output}")
        assert self._port is not None
        return self._port

    def get(self, path: str) -> tuple[int, str]:
        url = f"http://127.0.0.1:{self.port()}{path}"
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_LIMIT_S
        status, body = self.get("/readyz")
        while status != 200 and time.monotonic() < deadline and self.proc.poll() is None:
            time.sleep(0.5)
            status, body = self.get("/readyz")
        assert status == 200, f"/readyz stayed {status} ({body.strip()}):\n{self.output}"

    def healthcheck(self, port: int) -> int:
        """The image's HEALTHCHECK command, run with this venv's python, as docker would run it."""
        argv = [sys.executable if HEALTHCHECK[0] == "python" else HEALTHCHECK[0], *HEALTHCHECK[1:]]
        env = {"PATH": os.environ.get("PATH", ""), "MONITOR_HTTP_PORT": str(port)}
        return subprocess.run(argv, env=env, capture_output=True, timeout=30, check=False).returncode

    def sigterm(self, grace_s: float) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running {grace_s:.0f}s after SIGTERM:\n{self.output}") from None
        self._reader.join(timeout=10)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)


def _container(extra: Mapping[str, str], home: Path) -> dict[str, str]:
    """A process environment holding only what the container would have, plus loopback overrides."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "LANG": "C.UTF-8"}
    env.update({k: v for k, v in extra.items() if k != "PATH"})
    # Bound to loopback on a free port here; in the container 0.0.0.0:9187 (checked statically).
    env.update(MONITOR_HTTP_HOST="127.0.0.1", MONITOR_HTTP_PORT="0")
    return env


@pytest.fixture
def replicas() -> Iterator[list[Replica]]:
    started: list[Replica] = []
    yield started
    for replica in started:
        replica.kill()


def _check_replica(replica: Replica, paths: set[str], grace_s: float) -> None:
    replica.wait_ready()
    port = replica.port()
    for path in sorted(paths):
        status, body = replica.get(path)
        assert status == 200, f"{path} answered {status}: {body.strip()}"
    assert "# TYPE" in replica.get("/metrics")[1], "Prometheus text format"
    assert replica.healthcheck(port) == 0, "the image's HEALTHCHECK fails against a healthy daemon"
    code = replica.sigterm(grace_s)
    assert code == 0, f"exit {code} after SIGTERM:\n{replica.output}"
    assert "daemon.stopped" in replica.output
    assert replica.healthcheck(port) != 0, "the HEALTHCHECK must fail when nothing answers"


def test_probe_paths_are_the_served_ones() -> None:
    paths = _probe_paths()
    assert {"/healthz", "/readyz", "/metrics"} <= paths <= set(SERVED_PATHS), paths


def test_compose_replicas_serve_probes_and_stop_on_sigterm(
    db_url: str, tmp_path: Path, replicas: list[Replica]
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("compose's replicas share PostgreSQL; the image's own command covers SQLite")
    env = monitor_container_env()
    env["MONITOR_CONFIG"] = str(monitor_config_mount())  # the file compose mounts there
    env["MONITOR_DATABASE_URL"] = db_url  # this machine's database instead of the postgres service
    grace = float(MONITOR["stop_grace_period"].rstrip("s"))
    count = MONITOR["deploy"]["replicas"]
    for n in range(count):
        home = tmp_path / f"replica-{n}"
        home.mkdir()
        replicas.append(Replica(MONITOR["command"], _container(env, home), home))
    paths = _probe_paths()
    for replica in replicas:
        replica.wait_ready()  # both up together: the schema was migrated once, the other waited
    for replica in replicas:
        _check_replica(replica, paths, grace)


def test_the_images_own_command_and_config(tmp_path: Path, replicas: list[Replica]) -> None:
    env = image_env(RUNTIME)
    config = DEPLOY / "monitor.image.yaml"
    assert env["MONITOR_CONFIG"] == "/etc/monitor/monitor.yaml"
    env["MONITOR_CONFIG"] = str(config)
    # The image's database is in its VOLUME (/var/lib/monitor); here, a file of this test.
    env["MONITOR_DATABASE_URL"] = f"sqlite:///{tmp_path / 'monitor.db'}"
    grace = float(yaml_docs(K8S / "deployment.yaml")[0]["spec"]["template"]["spec"][
        "terminationGracePeriodSeconds"
    ])
    replicas.append(Replica(last(RUNTIME, "CMD").exec_form(), _container(env, tmp_path), tmp_path))
    _check_replica(replicas[0], _probe_paths(), grace)
    assert (tmp_path / "monitor.db").exists()
