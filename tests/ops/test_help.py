"""Every command's ``--help`` has an example; shell completion can be shown and installed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

from monitor.cli import app


def _commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every visible leaf command under ``group`` (Typer's groups have a ``commands`` mapping)."""
    out: list[tuple[str, ...]] = []
    for name, cmd in group.commands.items():
        if getattr(cmd, "hidden", False):
            continue
        if hasattr(cmd, "commands"):
            out += _commands(cmd, (*path, name))
        else:
            out.append((*path, name))
    return out


def test_every_command_help_has_an_example() -> None:
    commands = _commands(typer.main.get_command(app))
    for expected in (
        ("source", "check"),
        ("source", "import-opml"),
        ("source", "export-opml"),
        ("stats",),
        ("prune",),
    ):
        assert expected in commands
    assert len(commands) >= 25
    missing = []
    for path in commands:
        result = CliRunner().invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        if "Example" not in result.output:
            missing.append(" ".join(path))
    assert missing == []


def test_shell_completion_show_and_install(tmp_path: Path) -> None:
    runner = CliRunner()
    shown = runner.invoke(app, ["--show-completion", "bash"], env={"SHELL": "/bin/bash"})
    assert shown.exit_code == 0 and "_MONITOR_COMPLETE" in shown.output and "complete " in shown.output
    home = tmp_path / "home"
    home.mkdir()
    installed = runner.invoke(
        app, ["--install-completion", "bash"], env={"HOME": str(home), "SHELL": "/bin/bash"}
    )
    assert installed.exit_code == 0, installed.output
    assert "completion installed" in installed.output
    scripts = list(home.rglob("monitor*"))
    assert scripts and "_MONITOR_COMPLETE" in scripts[0].read_text()
    assert ".bash_completions/monitor.sh" in (home / ".bashrc").read_text()
