"""Loading the configuration file and turning every failure into one readable ``ConfigError``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from monitor.settings._model import Settings

_CONFIG_ENV = "MONITOR_CONFIG"


class ConfigError(Exception):
    """The configuration cannot be used. ``str()`` says where (file and key), what value, and why."""


def _loc(parts: tuple[int | str, ...]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _format_validation(err: ValidationError, origin: str) -> str:
    lines = [f"invalid configuration in {origin}:"]
    for item in err.errors(include_url=False):
        loc = tuple(item["loc"])
        if len(loc) > 2 and loc[0] == "channels" and loc[2] in _UNION_TAGS:
            loc = loc[:2] + loc[3:]  # drop the discriminator tag pydantic inserts
        msg = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            lines.append(f"  {_loc(loc)}: unknown key (value {_short(item['input'])})")
            continue
        value = "" if isinstance(item["input"], dict) else f" = {_short(item['input'])}"
        lines.append(f"  {_loc(loc)}{value}: {msg}")
    return "\n".join(lines)


_UNION_TAGS = {"console", "slack", "email", "webhook"}


def _resolve_local_paths(data: dict[str, Any], base: Path) -> None:
    """Source URLs that are relative paths are taken relative to the config file, not the cwd."""
    for source in data.get("sources") or []:
        if not isinstance(source, dict) or not isinstance(source.get("url"), str):
            continue
        url: str = source["url"]
        if "://" in url:
            continue
        path = Path(url).expanduser()
        source["url"] = str(path if path.is_absolute() else (base / path).resolve())


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read ``path`` (or ``$MONITOR_CONFIG``; none at all gives the defaults) and validate it.

    Environment variables override the file. Raises ``ConfigError`` for an unreadable file, bad YAML,
    an unknown key, a wrong type or an invalid value.
    """
    raw_path = path if path is not None else os.environ.get(_CONFIG_ENV)
    data: dict[str, Any] = {}
    origin = "the environment"
    if raw_path is not None:
        file = Path(raw_path)
        origin = str(file)
        try:
            text = file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"cannot read configuration file {origin}: no such file") from None
        except IsADirectoryError:
            raise ConfigError(f"cannot read configuration file {origin}: it is a directory") from None
        except PermissionError:
            raise ConfigError(f"cannot read configuration file {origin}: permission denied") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"cannot read configuration file {origin}: not UTF-8 ({exc.reason})") from None
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise ConfigError(f"invalid YAML in {origin}{where}: {problem}") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"invalid configuration in {origin}: the top level must be a mapping of keys")
        data = loaded
        _resolve_local_paths(data, file.resolve().parent)
        data["config_dir"] = file.resolve().parent
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_format_validation(exc, origin)) from None
