"""Configuration: one YAML file plus environment overrides, validated once at start-up.

Settings are built once (``load_settings``) by the CLI and the runtime, then handed down as plain values;
no stage reads the environment or the file itself. A bad file raises ``ConfigError`` whose message names
the key, the value and the reason, so the CLI can print it and exit 2.
"""

from monitor.settings._channels import (
    ChannelConfig,
    ConsoleChannel,
    EmailChannel,
    SlackChannel,
    WebhookChannel,
)
from monitor.settings._load import ConfigError, load_settings
from monitor.settings._model import FetchConfig, Settings, SourceConfig, WatchlistConfig

__all__ = [
    "ChannelConfig",
    "ConfigError",
    "ConsoleChannel",
    "EmailChannel",
    "FetchConfig",
    "Settings",
    "SlackChannel",
    "SourceConfig",
    "WatchlistConfig",
    "WebhookChannel",
    "load_settings",
]
