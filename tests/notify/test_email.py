"""EmailNotifier against a real SMTP server (aiosmtpd) with real TLS certificates (trustme)."""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
import structlog

from monitor.core import AlertMessage
from monitor.notify import Digest, EmailNotifier, render_email
from monitor.notify._email_render import message_id

from ._servers import LocalController, SMTPRecorder, password_authenticator
from .conftest import make_message

SENDER = "monitor@alerts.example.org"
RECIPIENTS = ("alice@example.org", "bob@example.org")
USER, PASSWORD = "monitor", "s3cret-smtp-password"


class Smtp:
    def __init__(self, controller: LocalController, recorder: SMTPRecorder) -> None:
        self.controller = controller
        self.recorder = recorder

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def parsed(self, index: int = -1) -> EmailMessage:
        raw = self.recorder.messages[index][2]
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., Smtp]]:
    started: list[LocalController] = []

    def start(**kwargs: Any) -> Smtp:
        recorder = SMTPRecorder()
        controller = LocalController(recorder, hostname="127.0.0.1", port=0, **kwargs)
        controller.start()
        started.append(controller)
        return Smtp(controller, recorder)

    yield start
    for controller in started:
        controller.stop()


def notifier(port: int, **kwargs: Any) -> EmailNotifier:
    options: dict[str, Any] = {
        "name": "Team Mail",
        "host": "127.0.0.1",
        "port": port,
        "sender": SENDER,
        "recipients": RECIPIENTS,
        "timeout_s": 5.0,
    }
    options.update(kwargs)
    return EmailNotifier(**options)


def parts(msg: EmailMessage) -> tuple[str, str]:
    plain, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert plain is not None and html is not None
    # On the wire lines end in CRLF; compare text with LF.
    return plain.get_content().replace("\r\n", "\n"), html.get_content().replace("\r\n", "\n")


async def test_starttls_with_trusted_certificate_delivers(
    smtp_server: Callable[..., Smtp], server_tls: ssl.SSLContext, cafile: str, message: AlertMessage
) -> None:
    server = smtp_server(tls_context=server_tls, require_starttls=True)
    outcome = await notifier(server.port, cafile=cafile).send(message)
    assert outcome.ok and outcome.error is None
    (mail_from, rcpts, _raw) = server.recorder.messages[0]
    assert mail_from == SENDER and rcpts == list(RECIPIENTS)
    msg = server.parsed()
    assert msg["Subject"] == "[monitor] Acme watch: Acme to buy Beta Industries"
    assert msg["From"] == SENDER and msg["To"] == ", ".join(RECIPIENTS)
    assert abs((parsedate_to_datetime(msg["Date"]) - datetime.now(UTC)).total_seconds()) < 60
    assert msg["Message-ID"] == message_id("alert-1", kind="alert", domain="alerts.example.org")
    assert outcome.external_id == msg["Message-ID"]
    assert msg["List-Id"] == "monitor team-mail <team-mail.monitor.alerts.example.org>"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg.get_content_type() == "multipart/alternative"
    plain, html = parts(msg)
    assert "Acme to buy Beta Industries" in plain
    assert "Example News · 2024-05-14" in plain
    assert "https://news.example.com/2024/05/acme-beta?src=rss&utm=1" in plain
    assert (
        "«Acme» Corp agreed on Tuesday to buy «Beta Industries» for $2 billion, its chief executive said."
        in plain
    )
    assert "Also reported by: Reuters, BBC News" in plain
    assert '<a href="https://news.example.com/2024/05/acme-beta?src=rss&amp;utm=1">Acme to buy Beta' in html
    assert "<strong>Acme</strong> Corp agreed on Tuesday to buy <strong>Beta Industries</strong>" in html


async def test_resend_keeps_the_message_id(
    smtp_server: Callable[..., Smtp], server_tls: ssl.SSLContext, cafile: str, message: AlertMessage
) -> None:
    server = smtp_server(tls_context=server_tls)
    mailer = notifier(server.port, cafile=cafile)
    assert (await mailer.send(message)).ok
    assert (await mailer.send(message)).ok
    assert (await mailer.send(make_message(key="alert-2"))).ok
    ids = [server.parsed(i)["Message-ID"] for i in range(3)]
    assert ids[0] == ids[1] != ids[2]


async def test_untrusted_certificate_is_refused_permanently(
    smtp_server: Callable[..., Smtp], server_tls: ssl.SSLContext, other_cafile: str, message: AlertMessage
) -> None:
    server = smtp_server(tls_context=server_tls, require_starttls=True)
    outcome = await notifier(server.port, cafile=other_cafile).send(message)
    assert not outcome.ok and outcome.permanent
    assert "TLS certificate verification failed" in (outcome.error or "")
    assert "cafile=" in (outcome.error or "")
    assert server.recorder.messages == []
    # The default (system CAs only) does not trust a private CA either.
    outcome = await notifier(server.port).send(message)
    assert not outcome.ok and outcome.permanent and server.recorder.messages == []


async def test_verification_can_be_turned_off_explicitly(
    smtp_server: Callable[..., Smtp], server_tls: ssl.SSLContext, message: AlertMessage
) -> None:
    server = smtp_server(tls_context=server_tls, require_starttls=True)
    assert (await notifier(server.port, verify=False).send(message)).ok
    assert len(server.recorder.messages) == 1


async def test_implicit_tls(
    smtp_server: Callable[..., Smtp],
    server_tls: ssl.SSLContext,
    cafile: str,
    other_cafile: str,
    message: AlertMessage,
) -> None:
    server = smtp_server(ssl_context=server_tls)
    assert (await notifier(server.port, security="tls", cafile=cafile).send(message)).ok
    assert server.parsed()["Subject"].startswith("[monitor] Acme watch")
    refused = await notifier(server.port, security="tls", cafile=other_cafile).send(message)
    assert not refused.ok and refused.permanent and len(server.recorder.messages) == 1
    starttls_port = smtp_server(tls_context=server_tls)
    wrong_mode = await notifier(starttls_port.port, security="tls", cafile=cafile).send(message)
    assert not wrong_mode.ok and wrong_mode.permanent and "security='starttls'" in (wrong_mode.error or "")


async def test_auth(
    smtp_server: Callable[..., Smtp], server_tls: ssl.SSLContext, cafile: str, message: AlertMessage
) -> None:
    server = smtp_server(
        tls_context=server_tls,
        require_starttls=True,
        authenticator=password_authenticator(USER, PASSWORD),
        auth_required=True,
    )
    ok = await notifier(server.port, cafile=cafile, username=USER, password=PASSWORD).send(message)
    assert ok.ok and len(server.recorder.messages) == 1
    with structlog.testing.capture_logs() as logs:
        bad = await notifier(server.port, cafile=cafile, username=USER, password="wrong-password-123").send(
            message
        )
    assert not bad.ok and bad.permanent and "535" in (bad.error or "")
    assert "wrong-password-123" not in repr(logs) and "wrong-password-123" not in (bad.error or "")
    anonymous = await notifier(server.port, cafile=cafile).send(message)
    assert not anonymous.ok and anonymous.permanent and "530" in (anonymous.error or "")
    assert len(server.recorder.messages) == 1


@pytest.mark.parametrize(
    ("where", "reply", "permanent"),
    [
        ("rcpt", "550 5.1.1 No such user", True),
        ("rcpt", "450 4.2.1 Mailbox busy", False),
        ("data", "554 5.7.1 Rejected as spam", True),
        ("data", "451 4.3.0 Try again later", False),
    ],
)
async def test_smtp_reply_codes(
    where: str,
    reply: str,
    permanent: bool,
    smtp_server: Callable[..., Smtp],
    server_tls: ssl.SSLContext,
    cafile: str,
    message: AlertMessage,
) -> None:
    server = smtp_server(tls_context=server_tls)
    setattr(server.recorder, f"{where}_reply", reply)
    outcome = await notifier(server.port, cafile=cafile).send(message)
    assert not outcome.ok and outcome.permanent is permanent
    assert reply.split()[0] in (outcome.error or "")


async def test_server_without_starttls_is_a_configuration_error(
    smtp_server: Callable[..., Smtp], message: AlertMessage
) -> None:
    server = smtp_server()
    outcome = await notifier(server.port).send(message)
    assert not outcome.ok and outcome.permanent and "STARTTLS" in (outcome.error or "")
    assert server.recorder.messages == []
    assert (await notifier(server.port, security="none").send(message)).ok


async def test_connection_refused_is_transient(message: AlertMessage) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    outcome = await notifier(port).send(message)
    assert not outcome.ok and not outcome.permanent


async def test_silent_server_times_out_as_transient(message: AlertMessage) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)  # accepts the TCP connection but never says hello
        outcome = await notifier(sock.getsockname()[1], timeout_s=0.3).send(message)
    assert not outcome.ok and not outcome.permanent


async def test_hostile_article_arrives_as_literal_text(
    smtp_server: Callable[..., Smtp], server_tls: ssl.SSLContext, cafile: str
) -> None:
    title = (
        "Alert <!channel> <https://evil.example|bank> <script>alert(1)</script> <b>x</b> {{ 7*7 }} {% if %}"
    )
    snippet = "Acme said <script>alert(1)</script> & <b>more</b> {{ 7*7 }} {% if x %}yes{% endif %}."
    server = smtp_server(tls_context=server_tls)
    msg_in = make_message(title=title + "\r\nBcc: victim@example.net", snippet=snippet, words=("Acme",))
    assert (await notifier(server.port, cafile=cafile).send(msg_in)).ok
    msg = server.parsed()
    assert msg["Bcc"] is None
    assert msg["Subject"] == f"[monitor] Acme watch: {title} Bcc: victim@example.net"
    plain, html = parts(msg)
    assert f"{title} Bcc: victim@example.net\n" in plain
    assert "«Acme» said <script>alert(1)</script> & <b>more</b> {{ 7*7 }} {% if x %}yes{% endif %}." in plain
    assert "49" not in plain and "49" not in html
    assert (
        "Alert &lt;!channel&gt; &lt;https://evil.example|bank&gt; &lt;script&gt;alert(1)&lt;/script&gt; "
        "&lt;b&gt;x&lt;/b&gt; {{ 7*7 }} {% if %}" in html
    )
    assert (
        "<strong>Acme</strong> said &lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;more&lt;/b&gt; "
        "{{ 7*7 }} {% if x %}yes{% endif %}." in html
    )
    assert "<script>" not in html and "<b>" not in html


def test_unsafe_link_is_not_made_clickable() -> None:
    msg = render_email(make_message(url="javascript:alert(document.cookie)"))
    _plain, html = parts(msg)
    assert "href" not in html.split("<body", 1)[1].split("Sent by", 1)[0]
    assert 'href="javascript' not in html


async def test_digest_is_one_email_grouped_by_story(
    smtp_server: Callable[..., Smtp], server_tls: ssl.SSLContext, cafile: str
) -> None:
    items = (
        make_message(key="a", story_id=5, title="Acme to buy Beta"),
        make_message(key="b", story_id=None, title="Gamma recalls cars"),
        make_message(key="c", story_id=5, title="Beta accepts Acme offer"),
    )
    digest = Digest(
        "team", "digest-1", datetime(2024, 5, 14, 8, tzinfo=UTC), datetime(2024, 5, 15, 8, tzinfo=UTC), items
    )
    server = smtp_server(tls_context=server_tls)
    assert (await notifier(server.port, cafile=cafile).send_digest(digest)).ok
    (msg,) = (server.parsed(i) for i in range(len(server.recorder.messages)))
    assert msg["Subject"] == (
        "[monitor] monitor digest: 3 alerts in 2 stories (2024-05-14 08:00 UTC – 2024-05-15 08:00 UTC)"
    )
    assert msg["Message-ID"] == message_id("digest-1", kind="digest", domain="alerts.example.org")
    plain, html = parts(msg)
    story_a, story_b = plain.index("* Acme to buy Beta"), plain.index("* Gamma recalls cars")
    assert story_a < plain.index("Beta accepts Acme offer") < story_b
    assert html.count("<h3") == 2


async def test_send_test(smtp_server: Callable[..., Smtp], server_tls: ssl.SSLContext, cafile: str) -> None:
    server = smtp_server(tls_context=server_tls)
    assert (await notifier(server.port, cafile=cafile).send_test()).ok
    msg = server.parsed()
    assert msg["Subject"] == "[monitor] test message for channel Team Mail"
    assert "test message from monitor for channel Team Mail" in parts(msg)[0]


def test_header_injection_in_configuration_is_rejected() -> None:
    with pytest.raises(ValueError, match="sender"):
        notifier(25, sender="a@example.org\r\nBcc: x@example.net")
    with pytest.raises(ValueError, match="recipient"):
        notifier(25, recipients=["a@example.org\nBcc: x@example.net"])
    with pytest.raises(ValueError, match="recipient"):
        notifier(25, recipients=[])
