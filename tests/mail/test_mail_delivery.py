"""Delivery: one message per call over real SMTP, refusals sorted for the retry policy,
and a file sink that never writes a key twice."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser

import pytest

from reschedule_desk.domain.records import EmailKind
from reschedule_desk.mail.delivery import (
    DEFAULT_SENDER,
    DeliveryError,
    FileSink,
    PermanentRefusal,
    SmtpTransport,
    TemporaryRefusal,
    build_message,
    key_token,
    transport_from_settings,
)
from reschedule_desk.mail.rendering import recipient_address, render_email
from reschedule_desk.settings import Settings

KEY = "reschedule-NRB2024000001-0f8fad5b-d9cb-469f-a165-70867728950e-003-approved"


@dataclass
class Queued:
    """Stands in for an outbox row."""

    message_key: str
    recipient: str
    subject: str
    text_body: str
    html_body: str | None
    created_at: datetime


@pytest.fixture
def queued(posts, full_context) -> Queued:
    context = full_context(posts.post("nairobi"), EmailKind.APPROVED)
    rendered = render_email(context)
    return Queued(
        message_key=KEY,
        recipient=recipient_address(context),
        subject=rendered.subject,
        text_body=rendered.text_body,
        html_body=rendered.html_body,
        created_at=datetime(2026, 11, 23, 5, 0, tzinfo=UTC),
    )


def parts_of(message) -> dict[str, str]:
    return {part.get_content_type(): part.get_content() for part in message.iter_parts()}


def test_a_message_has_text_and_html_and_a_stable_message_id(queued):
    first, again = build_message(queued), build_message(queued)

    assert first.get_content_type() == "multipart/alternative"
    assert set(parts_of(first)) == {"text/plain", "text/html"}
    assert first["Message-ID"] == again["Message-ID"] == f"<{KEY}@reschedule-desk.example.gov>"
    assert first["Date"] == again["Date"] == "Mon, 23 Nov 2026 05:00:00 +0000"
    assert first["From"] == DEFAULT_SENDER
    assert first["To"] == "amani.wanjiru@example.com"
    assert first["Subject"] == queued.subject
    assert first["Auto-Submitted"] == "auto-generated"


def test_another_key_is_another_message_id(queued):
    other = Queued(**{**queued.__dict__, "message_key": KEY.replace("003", "004")})
    assert build_message(other)["Message-ID"] != build_message(queued)["Message-ID"]


def test_a_message_without_html_is_text_only(queued):
    message = build_message(Queued(**{**queued.__dict__, "html_body": None}))
    assert message.get_content_type() == "text/plain"


def test_a_naive_queued_time_is_utc(queued):
    naive = Queued(**{**queued.__dict__, "created_at": datetime(2026, 11, 23, 5, 0)})
    assert build_message(naive)["Date"] == "Mon, 23 Nov 2026 05:00:00 +0000"


def test_the_sender_can_be_changed(queued):
    message = build_message(queued, sender="Desk <desk@mail.example.gov>")
    assert message["From"] == "Desk <desk@mail.example.gov>"
    assert message["Message-ID"] == f"<{KEY}@mail.example.gov>"


def test_an_unsafe_key_becomes_a_safe_distinct_token():
    assert key_token(KEY) == KEY
    token = key_token("../etc/passwd x@y")
    assert token.replace("-", "").isalnum() and "/" not in token and "@" not in token
    assert key_token("a/b") != key_token("a-b") != key_token("a b")


# --- SMTP ---------------------------------------------------------------------------


def test_smtp_delivers_exactly_one_message_per_call(smtp_server, queued):
    transport = SmtpTransport(smtp_server.url, timeout=5)

    transport.deliver(KEY, build_message(queued))
    assert len(smtp_server.messages) == 1
    received = smtp_server.messages[0]
    assert received["Message-ID"] == f"<{KEY}@reschedule-desk.example.gov>"
    assert received["Subject"].strip() == queued.subject  # a long Subject is folded; see below
    assert received.get_content_type() == "multipart/alternative"
    parts = parts_of(received)
    assert "check back in 72 hours" in parts["text/plain"]
    assert "check back in 72 hours" in parts["text/html"]

    other = Queued(**{**queued.__dict__, "message_key": KEY.replace("003", "004")})
    transport.deliver(other.message_key, build_message(other))
    assert len(smtp_server.messages) == 2


def test_a_5xx_refusal_is_permanent_and_names_no_address(smtp_server, queued):
    smtp_server.handler.refuse_with = "550 5.1.1 <amani.wanjiru@example.com>: mailbox unavailable"

    with pytest.raises(PermanentRefusal) as refusal:
        SmtpTransport(smtp_server.url, timeout=5).deliver(KEY, build_message(queued))

    assert refusal.value.code == 550
    assert "mailbox unavailable" in str(refusal.value)
    assert "amani.wanjiru" not in str(refusal.value)
    assert refusal.value.__cause__ is None and refusal.value.__suppress_context__
    assert smtp_server.messages == []


def test_a_4xx_refusal_is_temporary(smtp_server, queued):
    smtp_server.handler.refuse_with = "451 4.3.0 try again later"

    with pytest.raises(TemporaryRefusal) as refusal:
        SmtpTransport(smtp_server.url, timeout=5).deliver(KEY, build_message(queued))

    assert refusal.value.code == 451
    assert not isinstance(refusal.value, PermanentRefusal)


def test_connection_refused_is_a_retryable_error(queued):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(OSError) as error:
        SmtpTransport(f"smtp://127.0.0.1:{port}", timeout=5).deliver(KEY, build_message(queued))
    assert not isinstance(error.value, DeliveryError)


def test_smtp_url_forms():
    plain = SmtpTransport("smtp://relay.example.gov")
    assert (plain.host, plain.port, plain.use_tls, plain.starttls, plain.username) == (
        "relay.example.gov", 25, False, False, None
    )
    tls = SmtpTransport("smtps://desk%40example.gov:s%3Acret@relay.example.gov")
    assert (tls.port, tls.use_tls, tls.username) == (465, True, "desk@example.gov")
    assert "s:cret" not in repr(tls) and "s%3Acret" not in repr(tls)
    assert SmtpTransport("smtp://relay.example.gov:587?starttls=true").starttls


@pytest.mark.parametrize(
    "url", ["http://relay.example.gov", "smtp://", "smtps://relay.example.gov?starttls=true"]
)
def test_a_bad_smtp_url_is_refused(url):
    with pytest.raises(ValueError):
        SmtpTransport(url)


# --- file sink ----------------------------------------------------------------------


def test_the_file_sink_writes_one_eml_per_key_even_when_called_twice(tmp_path, queued):
    sink = FileSink(tmp_path / "mail")

    sink.deliver(KEY, build_message(queued))
    first = sink.path_for(KEY).read_bytes()
    changed = Queued(**{**queued.__dict__, "subject": "changed"})
    sink.deliver(KEY, build_message(changed))

    assert [path.name for path in (tmp_path / "mail").iterdir()] == [f"{KEY}.eml"]
    assert sink.path_for(KEY).read_bytes() == first


def test_the_eml_parses_back(tmp_path, queued):
    sink = FileSink(tmp_path)
    sink.deliver(KEY, build_message(queued))

    with sink.path_for(KEY).open("rb") as handle:
        parsed = BytesParser(policy=policy.default).parse(handle)
    assert parsed["Message-ID"] == f"<{KEY}@reschedule-desk.example.gov>"
    # The header is folded onto its second line (Subject:\n Case ...): mail clients unfold it,
    # Python's parser keeps the fold's leading space.
    assert parsed["Subject"].strip() == queued.subject
    assert parsed["To"] == "amani.wanjiru@example.com"
    parts = parts_of(parsed)
    assert parts["text/plain"] == queued.text_body
    assert parts["text/html"] == queued.html_body


def test_the_file_sink_keeps_unsafe_keys_inside_its_folder(tmp_path, queued):
    sink = FileSink(tmp_path / "mail")
    sink.deliver("../outside/key", build_message(queued))
    assert [path.parent for path in tmp_path.rglob("*.eml")] == [tmp_path / "mail"]


# --- settings -----------------------------------------------------------------------


def test_transport_from_settings(tmp_path):
    local = transport_from_settings(Settings.from_env({"RESCHEDULE_VAR_DIR": str(tmp_path)}))
    assert local == FileSink(tmp_path / "mail")

    relay = transport_from_settings(
        Settings.from_env({"RESCHEDULE_VAR_DIR": str(tmp_path), "SMTP_URL": "smtp://relay.example.gov:2525"})
    )
    assert isinstance(relay, SmtpTransport)
    assert (relay.host, relay.port) == ("relay.example.gov", 2525)
