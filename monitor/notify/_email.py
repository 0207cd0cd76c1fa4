"""E-mail delivery over SMTP (smtplib in a worker thread), with certificate verification on by default.

smtplib does not verify certificates unless it is given a context that does, so every TLS connection
uses ``ssl.create_default_context(cafile=...)`` (hostname check + chain check); ``verify=False`` is an
explicit opt-out. smtplib is blocking, so a delivery runs in ``asyncio.to_thread`` with a socket
timeout on every operation and an overall deadline on top.

Outcomes: SMTP 5xx replies are permanent, 4xx transient; connection errors and timeouts transient; a
certificate that does not verify, a server without STARTTLS when STARTTLS is configured, or no usable
AUTH mechanism are configuration errors and therefore permanent (retrying cannot fix them).
A partial delivery (some recipients refused, others accepted) is reported as delivered, with the
refused addresses in ``error``: retrying would send the accepted recipients a duplicate.
"""

from __future__ import annotations

import asyncio
import re
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Literal

from monitor.core import AlertMessage, DeliveryOutcome
from monitor.log import get_logger
from monitor.notify._base import Digest, Scrubber, fail, transient
from monitor.notify._email_render import (
    DEFAULT_DOMAIN,
    render_email,
    render_email_digest,
    render_email_test,
)

__all__ = ["EmailNotifier", "Security"]

Security = Literal["starttls", "tls", "none"]
_LIST_LABEL = re.compile(r"[^a-z0-9-]+")


class _ConfigError(Exception):
    """A problem that retrying cannot fix (the server lacks a required feature)."""


def _check_header_value(what: str, value: str) -> str:
    if not value or any(c in value for c in "\r\n\0"):
        raise ValueError(f"EmailNotifier: {what} must be a non-empty single line")
    return value


class EmailNotifier:
    """Sends one e-mail per alert (or per digest) to ``recipients`` through one SMTP server.

    ``security``: ``starttls`` (default; upgrade on a plain port, refuse to go on without it), ``tls``
    (implicit TLS, usually port 465) or ``none`` (plain, for a local relay only). ``cafile`` adds a CA
    to trust (private or self-signed certificates); ``verify=False`` turns verification off.
    """

    kind = "email"

    def __init__(
        self,
        *,
        name: str,
        host: str,
        port: int,
        security: Security = "starttls",
        username: str | None = None,
        password: str | None = None,
        sender: str,
        recipients: Sequence[str],
        verify: bool = True,
        cafile: str | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        if security not in ("starttls", "tls", "none"):
            raise ValueError(f"EmailNotifier: unknown security {security!r}")
        if not recipients:
            raise ValueError("EmailNotifier needs at least one recipient")
        self.name = name
        self._host = host
        self._port = port
        self._security: Security = security
        self._username = username
        self._password = password
        self._sender = _check_header_value("sender", sender)
        self._recipients = tuple(_check_header_value("recipient", r) for r in recipients)
        self._verify = verify
        self._cafile = cafile
        self._timeout_s = timeout_s
        self._scrub = Scrubber(password)
        address = parseaddr(sender)[1]
        self._domain = address.rpartition("@")[2] or DEFAULT_DOMAIN
        label = _LIST_LABEL.sub("-", name.lower()).strip("-") or "alerts"
        self._list_id = f"monitor {label} <{label}.monitor.{self._domain}>"
        self._log = get_logger(__name__, channel=name, kind=self.kind)
        if username and security == "none":
            self._log.warning("notify.email.plaintext_auth", host=host, port=port)

    async def send(self, message: AlertMessage) -> DeliveryOutcome:
        return await self._send(render_email(message, domain=self._domain), alert=message.idempotency_key)

    async def send_digest(self, digest: Digest) -> DeliveryOutcome:
        msg = render_email_digest(digest, domain=self._domain)
        return await self._send(msg, alert=digest.idempotency_key)

    async def send_test(self) -> DeliveryOutcome:
        return await self._send(render_email_test(self.name, domain=self._domain), alert="test")

    async def aclose(self) -> None:
        return None

    def _ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self._cafile)
        if not self._verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _deliver(self, msg: EmailMessage) -> dict[str, tuple[int, bytes]]:
        """The blocking SMTP conversation (runs in a worker thread)."""
        context = self._ssl_context() if self._security != "none" else None
        smtp: smtplib.SMTP
        if self._security == "tls":
            smtp = smtplib.SMTP_SSL(self._host, self._port, timeout=self._timeout_s, context=context)
        else:
            smtp = smtplib.SMTP(self._host, self._port, timeout=self._timeout_s)
        with smtp:
            smtp.ehlo()
            if self._security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise _ConfigError("server does not offer STARTTLS (set security='tls' or 'none')")
                smtp.starttls(context=context)
                smtp.ehlo()
            if self._username:
                try:
                    smtp.login(self._username, self._password or "")
                except smtplib.SMTPNotSupportedError as exc:
                    raise _ConfigError("server does not offer AUTH") from exc
                except smtplib.SMTPResponseException:
                    raise
                except smtplib.SMTPException as exc:  # "No suitable authentication method found."
                    raise _ConfigError(str(exc)) from exc
            return smtp.send_message(msg, from_addr=self._sender, to_addrs=list(self._recipients))

    async def _send(self, msg: EmailMessage, *, alert: str) -> DeliveryOutcome:
        msg["From"] = self._sender
        msg["To"] = ", ".join(self._recipients)
        msg["List-Id"] = self._list_id
        try:
            # The socket timeout bounds each step; the outer deadline bounds the whole conversation.
            # A timed-out thread ends by itself at its next socket timeout.
            refused = await asyncio.wait_for(asyncio.to_thread(self._deliver, msg), self._timeout_s * 3)
        except Exception as exc:  # classified below; nothing may escape to the dispatcher
            outcome = self._classify(exc)
        else:
            outcome = DeliveryOutcome(
                ok=True,
                external_id=str(msg["Message-ID"]),
                error=self._scrub(f"refused recipients: {', '.join(sorted(refused))}") if refused else None,
            )
        if outcome.ok:
            self._log.info("notify.sent", alert=alert, message_id=outcome.external_id, partial=outcome.error)
        else:
            self._log.warning("notify.failed", alert=alert, error=outcome.error, permanent=outcome.permanent)
        return outcome

    def _classify(self, exc: Exception) -> DeliveryOutcome:
        where = f"smtp {self._host}:{self._port}"
        if isinstance(exc, _ConfigError):
            return fail(self._scrub(f"{where}: {exc}"))
        if isinstance(exc, ssl.SSLCertVerificationError):
            reason = exc.verify_message or str(exc)
            return fail(
                self._scrub(
                    f"{where}: TLS certificate verification failed ({reason}); "
                    "trust the server's CA with cafile= or fix the certificate"
                )
            )
        if isinstance(exc, ssl.SSLError) and exc.reason == "WRONG_VERSION_NUMBER":
            return fail(
                f"{where}: the server does not speak TLS on connect; "
                "for a STARTTLS port (usually 587) set security='starttls'"
            )
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            codes = [code for code, _ in exc.recipients.values()]
            detail = "; ".join(
                f"{rcpt}: {code} {_text(resp)}" for rcpt, (code, resp) in exc.recipients.items()
            )
            error = self._scrub(f"{where}: all recipients refused ({detail})")
            return fail(error) if codes and all(c >= 500 for c in codes) else transient(error)
        if isinstance(exc, smtplib.SMTPResponseException):
            error = self._scrub(f"{where}: {type(exc).__name__} {exc.smtp_code} {_text(exc.smtp_error)}")
            return fail(error) if 500 <= exc.smtp_code < 600 else transient(error)
        if isinstance(exc, TimeoutError):
            return transient(self._scrub(f"{where}: no answer within {self._timeout_s:g}s"))
        if isinstance(exc, smtplib.SMTPException | OSError):
            return transient(self._scrub(f"{where}: {type(exc).__name__}: {exc}"))
        return transient(self._scrub(f"{where}: unexpected {type(exc).__name__}: {exc}"))


def _text(value: bytes | str) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return " ".join(value.split())
