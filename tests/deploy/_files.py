"""Readers for the deployment files, written for the tests: the Dockerfile's instructions, .dockerignore
matching, compose's ``${VAR}`` interpolation, the real CLI's argument parser and the real settings
loader run under a container's environment.

They are deliberately small and strict: a construct they do not understand fails the test that uses
it instead of being skipped, so a deployment file cannot drift into something nobody checks.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
import yaml
from typer.core import TyperGroup
from typer.main import get_command

from monitor.cli import app
from monitor.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
# The paths the daemon serves (monitor.runtime._http); the probes must use these and nothing else.
SERVED_PATHS = ("/healthz", "/readyz", "/metrics")


# --- Dockerfile ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, COPY, ...
    args: str  # the text after the keyword, continuation lines joined
    line: int  # 1-based line of the keyword, for messages

    def exec_form(self) -> list[str]:
        """The JSON (exec) form of CMD/ENTRYPOINT/HEALTHCHECK CMD; a shell form is an error."""
        text = self.args
        if self.keyword == "HEALTHCHECK":
            text = re.sub(r"^(--\S+\s+)*CMD\s+", "", text)
        value = json.loads(text)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value), (
            f"Dockerfile line {self.line}: {self.keyword} must use the JSON exec form"
        )
        return value

    def flags(self) -> dict[str, str]:
        """``--name=value`` options before the arguments (HEALTHCHECK, COPY)."""
        return dict(re.findall(r"--([\w-]+)=(\S+)", self.args.split(" CMD ", 1)[0]))


def dockerfile(path: Path = ROOT / "Dockerfile") -> list[Instruction]:
    out: list[Instruction] = []
    pending = ""
    start = 0
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        text = (pending + line).strip()
        pending = ""
        keyword, _, args = text.partition(" ")
        out.append(Instruction(keyword.upper(), args.strip(), start))
    assert not pending, f"{path}: the last instruction ends with a line continuation"
    return out


def stages(instructions: Sequence[Instruction]) -> list[list[Instruction]]:
    """The instructions of each build stage, in order (each starts with its FROM)."""
    result: list[list[Instruction]] = []
    for ins in instructions:
        if ins.keyword == "FROM":
            result.append([])
        assert result, f"Dockerfile line {ins.line}: {ins.keyword} before the first FROM"
        result[-1].append(ins)
    return result


def image_env(stage: Sequence[Instruction]) -> dict[str, str]:
    """The ENV of one stage (``KEY=value`` pairs; ``$PATH``-style references are kept as written)."""
    env: dict[str, str] = {}
    for ins in stage:
        if ins.keyword == "ENV":
            for token in shlex.split(ins.args):
                key, sep, value = token.partition("=")
                assert sep, f"Dockerfile line {ins.line}: use ENV KEY=value"
                env[key] = value
    return env


def last(stage: Sequence[Instruction], keyword: str) -> Instruction:
    found = [i for i in stage if i.keyword == keyword]
    assert found, f"the runtime stage has no {keyword}"
    return found[-1]


# --- .dockerignore ---------------------------------------------------------------------------------------
def _pattern(glob: str) -> re.Pattern[str]:
    glob = glob.strip().strip("/")
    out = ""
    i = 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif glob.startswith("**", i):
            out += ".*"
            i += 2
        elif glob[i] == "*":
            out += "[^/]*"
            i += 1
        elif glob[i] == "?":
            out += "[^/]"
            i += 1
        elif glob[i] == "[":
            end = glob.index("]", i)
            out += glob[i : end + 1]
            i = end + 1
        else:
            out += re.escape(glob[i])
            i += 1
    return re.compile(out + r"\Z")


def dockerignored(relpath: str, ignore_file: Path = ROOT / ".dockerignore") -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent directories decides;
    ``!`` re-includes."""
    parts = relpath.strip("/").split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for raw in ignore_file.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = _pattern(line[1:] if negate else line)
        if any(pattern.match(c) for c in candidates):
            excluded = not negate
    return excluded


# --- YAML and compose interpolation ----------------------------------------------------------------------
def yaml_docs(path: Path) -> list[Any]:
    with path.open(encoding="utf-8") as fh:
        return [d for d in yaml.safe_load_all(fh) if d is not None]


def env_file(path: Path) -> dict[str, str]:
    """A compose env file: ``KEY=value`` lines, ``#`` comments."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key), f"{path}:{number}: not KEY=value"
        values[key] = value
    return values


_VAR = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|\$\$")


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """Compose's ``${VAR}``, ``${VAR:-default}``, ``${VAR:?message}`` (and ``$$``) over a parsed file."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg")
        current = env.get(name)
        if op == ":-":
            return current or arg
        if op == "-":
            return arg if current is None else current
        if op in (":?", "?"):
            if current is None or (op == ":?" and current == ""):
                raise AssertionError(f"compose would stop: ${{{name}}} is not set ({arg})")
            return current
        return current or ""

    return _VAR.sub(one, value)


# --- the real CLI and the real settings loader -----------------------------------------------------------
_UsageError = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")


def parse_cli(argv: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """Parse ``monitor ARGV`` with the real Typer app, without running it: the command name and its
    parameters. Raises the CLI's own usage error for an unknown command or option."""
    group = get_command(app)
    assert isinstance(group, TyperGroup), "the monitor CLI is expected to be a group of commands"
    ctx = group.make_context("monitor", list(argv))
    rest = [*getattr(ctx, "_protected_args", []), *ctx.args]
    name, command, remaining = group.resolve_command(ctx, rest)
    assert command is not None and name is not None, f"no command in {list(argv)}"
    sub = command.make_context(name, remaining, parent=ctx)
    return str(name), dict(sub.params)


def usage_error() -> type[Exception]:
    return _UsageError


@contextmanager
def container_env(env: Mapping[str, str]) -> Iterator[None]:
    """Run the block with exactly the container's MONITOR_* variables (and its other variables added),
    as the process in the container would see them; the test process's own MONITOR_* are hidden."""
    saved = dict(os.environ)
    try:
        for key in [k for k in os.environ if k.startswith("MONITOR_")]:
            del os.environ[key]
        os.environ.update(env)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def settings_in_container(config: Path, env: Mapping[str, str]) -> Settings:
    """What ``monitor run`` inside the container would load: ``config`` mounted at $MONITOR_CONFIG,
    the environment ``env`` overriding it."""
    with container_env({k: v for k, v in env.items() if k != "MONITOR_CONFIG"}):
        return load_settings(config)
