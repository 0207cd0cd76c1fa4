"""structlog configuration: readable in a terminal, JSON otherwise, secrets never printed.

Processors are composed once at start-up (``configure``); modules only call ``get_logger`` and bind
ids (``source``, ``article``, ``alert``).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, Literal

import structlog

LogFormat = Literal["auto", "console", "json"]

_SECRET_KEYS = re.compile(r"(pass(word)?|secret|token|api_?key|authorization|webhook_url|cookie)", re.I)
# URLs with embedded credentials or Slack-style webhook paths.
_URL_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.I)
_SLACK_HOOK = re.compile(r"https://hooks\.slack\.com/[^\s\"']+", re.I)
_REDACTED = "***"
_known_secrets: set[str] = set()


def register_secret(*values: str | None) -> None:
    """Remember a secret value so that it is masked wherever it shows up in a log event."""
    for value in values:
        if value and len(value) >= 4:
            _known_secrets.add(value)


def redact_text(text: str) -> str:
    """Mask registered secrets, URL credentials and Slack webhook paths in free text."""
    for secret in sorted(_known_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, _REDACTED)
    text = _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{_REDACTED}@", text)
    return _SLACK_HOOK.sub("https://hooks.slack.com/" + _REDACTED, text)


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: (_REDACTED if _SECRET_KEYS.search(str(k)) else _redact(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact(v) for v in value)
    return value


def redact_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: secret-looking keys are masked and secret values removed from strings."""
    for key in list(event_dict):
        if _SECRET_KEYS.search(key):
            event_dict[key] = _REDACTED
        else:
            event_dict[key] = _redact(event_dict[key])
    return event_dict


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the moment of writing.

    Binding the logger to the stream object of configuration time breaks as soon as that object is
    replaced and closed (test runners and embedding applications do this).
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def configure(*, fmt: LogFormat = "auto", level: str = "INFO", stream: Any = None) -> None:
    """Configure structlog and route the standard library's logging (httpx, alembic) through it."""
    out = stream or _CurrentStderr()
    use_json = fmt == "json" or (fmt == "auto" and not out.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_processor,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=out),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    for noisy in _quiet_loggers():
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _quiet_loggers() -> Iterable[str]:
    return ("httpx", "httpcore", "alembic", "apscheduler", "trafilatura", "htmldate", "asyncio")


def get_logger(name: str | None = None, **initial: Any) -> Any:
    """A structlog logger with ``initial`` values bound (ids such as ``source=`` or ``alert=``)."""
    return structlog.get_logger(name).bind(**initial) if initial else structlog.get_logger(name)
