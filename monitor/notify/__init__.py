"""The notify stage: the channels the dispatcher sends alerts through, and what the messages look like.

The dispatcher (claiming outbox rows, retries, backoff) lives elsewhere; a channel here only turns an
``AlertMessage`` or a ``Digest`` into one delivery attempt and answers a ``DeliveryOutcome``: ``ok``,
or a failure that is ``permanent`` (stop retrying) or transient (retry, maybe after ``retry_after_s``).
Article text is untrusted everywhere: Slack mrkdwn is escaped, e-mail HTML is autoescaped, headers and
the console get one cleaned line, and secrets never reach an error, an outcome or a log line.
"""

from monitor.notify._base import Digest, Notifier
from monitor.notify._console import ConsoleNotifier, render_console, render_console_digest
from monitor.notify._email import EmailNotifier
from monitor.notify._email_render import render_email, render_email_digest
from monitor.notify._http import parse_retry_after
from monitor.notify._slack import SlackNotifier
from monitor.notify._slack_render import escape_slack, slack_blocks, slack_digest_blocks
from monitor.notify._webhook import WebhookNotifier, sign, webhook_digest_payload, webhook_payload

__all__ = [
    "ConsoleNotifier",
    "Digest",
    "EmailNotifier",
    "Notifier",
    "SlackNotifier",
    "WebhookNotifier",
    "escape_slack",
    "parse_retry_after",
    "render_console",
    "render_console_digest",
    "render_email",
    "render_email_digest",
    "sign",
    "slack_blocks",
    "slack_digest_blocks",
    "webhook_digest_payload",
    "webhook_payload",
]
