"""deploy/compose.yaml: two monitor replicas, PostgreSQL and a mail catcher, checked against the image,
the real CLI and the real settings loader, with compose's interpolation from deploy/.env.example."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from monitor.runtime import Daemon
from monitor.settings import EmailChannel, Settings
from tests.deploy._files import (
    DEPLOY,
    ROOT,
    dockerfile,
    env_file,
    image_env,
    interpolate,
    last,
    parse_cli,
    settings_in_container,
    stages,
    yaml_docs,
)

RAW: dict[str, Any] = yaml_docs(DEPLOY / "compose.yaml")[0]
EXAMPLE_ENV = env_file(DEPLOY / ".env.example")
COMPOSE: dict[str, Any] = interpolate(RAW, EXAMPLE_ENV)
SERVICES: dict[str, Any] = COMPOSE["services"]
MONITOR = SERVICES["monitor"]
RUNTIME = stages(dockerfile())[-1]
IMAGE_ENV = image_env(RUNTIME)
MAILPIT_SMTP_PORT = 1025  # mailpit's default SMTP listener


def _seconds(value: str) -> float:
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    for suffix in ("ms", "s", "m", "h"):
        if value.endswith(suffix):
            return float(value[: -len(suffix)]) * units[suffix]
    return float(value)


def monitor_container_env() -> dict[str, str]:
    """The monitor replicas' environment: the image's, then env_file, then environment."""
    env = dict(IMAGE_ENV)
    for name in MONITOR.get("env_file", []):
        example = DEPLOY / f"{name}.example"
        assert example.exists(), f"env_file {name} has no {example.name} for operators to copy"
        env.update(env_file(example))
    env.update({k: str(v) for k, v in MONITOR["environment"].items()})
    return env


def monitor_config_mount() -> Path:
    for spec in MONITOR["volumes"]:
        source, target, *mode = spec.split(":")
        if target == IMAGE_ENV["MONITOR_CONFIG"]:
            assert mode == ["ro"], f"{spec}: mount the configuration read-only"
            path = (DEPLOY / str(source)).resolve()
            assert path.is_file(), spec
            return path
    raise AssertionError(f"nothing is mounted at the image's MONITOR_CONFIG {IMAGE_ENV['MONITOR_CONFIG']}")


def _settings() -> Settings:
    return settings_in_container(monitor_config_mount(), monitor_container_env())


def test_monitor_runs_two_replicas_of_the_image_with_every_role() -> None:
    assert MONITOR["deploy"]["replicas"] == 2
    assert (DEPLOY / MONITOR["build"]["context"]).resolve() == ROOT
    assert (ROOT / MONITOR["build"]["dockerfile"]).resolve() == ROOT / "Dockerfile"
    name, params = parse_cli(MONITOR["command"])
    assert (name, params["role"], params["once"]) == ("run", "all", False)
    assert "container_name" not in MONITOR, "a fixed container name forbids a second replica"
    assert "ports" not in MONITOR, "two replicas cannot bind one host port"


def test_monitor_healthcheck_is_the_images_and_the_stop_is_graceful() -> None:
    check = MONITOR["healthcheck"]
    assert check["test"] == ["CMD", *last(RUNTIME, "HEALTHCHECK").exec_form()]
    assert _seconds(check["timeout"]) < _seconds(check["interval"])
    assert MONITOR["stop_signal"] == "SIGTERM"
    grace = inspect.signature(Daemon).parameters["grace_s"].default
    assert _seconds(MONITOR["stop_grace_period"]) > grace, "docker must not SIGKILL a clean shutdown"


def test_the_mounted_config_loads_and_matches_the_stack() -> None:
    settings = _settings()
    assert str(settings.http_port) in MONITOR["expose"]
    url = make_url(settings.database_url)
    postgres = SERVICES["postgres"]["environment"]
    assert url.get_backend_name() == "postgresql"
    assert url.host in SERVICES and url.host == "postgres"
    assert (url.username, url.database) == (postgres["POSTGRES_USER"], postgres["POSTGRES_DB"])
    assert url.password is None, "the password comes from PGPASSWORD, not from a URL in a file"
    assert monitor_container_env()["PGPASSWORD"] == postgres["POSTGRES_PASSWORD"]
    for wl in settings.watchlists:
        assert set(wl.channels) <= set(settings.channels)


def test_email_channels_go_to_the_mail_catcher() -> None:
    mails = [c for c in _settings().channels.values() if isinstance(c, EmailChannel)]
    assert mails, "the stack wires an e-mail channel to mailpit"
    for channel in mails:
        assert channel.host == "mailpit" and "mailpit" in SERVICES
        assert channel.port == MAILPIT_SMTP_PORT and channel.security == "none"
    assert "MP_SMTP_BIND_ADDR" not in SERVICES["mailpit"].get("environment", {})
    assert MONITOR["depends_on"]["mailpit"]["condition"] == "service_healthy"


def test_postgres_is_health_checked_and_monitor_waits_for_it() -> None:
    postgres = SERVICES["postgres"]
    test = " ".join(postgres["healthcheck"]["test"])
    env = postgres["environment"]
    assert f"pg_isready -U {env['POSTGRES_USER']} -d {env['POSTGRES_DB']}" in test
    assert MONITOR["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert all("healthcheck" in s for s in SERVICES.values()), "every service reports its health"


def test_named_volumes_are_declared_and_used() -> None:
    declared = set(COMPOSE["volumes"])
    used: set[str] = set()
    for name, service in SERVICES.items():
        for spec in service.get("volumes", []):
            source = spec.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name}: volume {source} is not declared at the top level"
                used.add(source)
    assert used == declared, f"declared but unused: {declared - used}"
    assert "pgdata:/var/lib/postgresql/data" in SERVICES["postgres"]["volumes"]


def test_secrets_come_from_the_env_file_not_the_compose_file() -> None:
    raw_pg = RAW["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"]
    assert raw_pg.startswith("${POSTGRES_PASSWORD:?"), "compose must stop when the secret is missing"
    assert RAW["services"]["monitor"]["environment"]["PGPASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert all("REPLACE-ME" in v for k, v in EXAMPLE_ENV.items() if "PASSWORD" in k)
    without = {k: v for k, v in EXAMPLE_ENV.items() if k != "POSTGRES_PASSWORD"}
    with pytest.raises(AssertionError, match=r"POSTGRES_PASSWORD.*not set"):
        interpolate(RAW, without)
