"""Fixtures for the mail tests: the shipped posts, test requests, and a real SMTP server.

`smtp_server` does not depend on anything mail-specific, so it can move to
tests/conftest.py when other tests need it.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.message import Message
from email.parser import BytesParser
from email import policy

import pytest
from aiosmtpd.controller import Controller

from reschedule_desk.domain.lifecycle import RuleOutcome
from reschedule_desk.domain.posts import Post, PostsConfig, parse_posts
from reschedule_desk.domain.records import EmailKind, Recipient
from reschedule_desk.domain.request import RescheduleRequest
from reschedule_desk.mail.rendering import EmailContext, WaitingWindow
from reschedule_desk.settings import DEFAULT_POSTS_FILE

POST_CODES = ("nairobi", "phnom-penh")
CASE_PREFIX = {"nairobi": "NRB", "phnom-penh": "PNH"}


@pytest.fixture(scope="session")
def posts() -> PostsConfig:
    return parse_posts(DEFAULT_POSTS_FILE.read_text(encoding="utf-8"), source=str(DEFAULT_POSTS_FILE))


def _make_request(post: str = "nairobi", **changes) -> RescheduleRequest:
    """A valid missed-appointment request; `changes` override single fields."""
    fields = {
        "case_number": f"{CASE_PREFIX.get(post, 'NRB')}2024000001",
        "post": post,
        "reason_category": "missed_appointment",
        "reason": "My medicals were on hold.",
        "original_appointment_at": datetime(2026, 10, 12, 8, 30),  # post local time, naive
        "visa_class": "IR1",
        "last_contact_on": date(2026, 9, 1),
        "applicants": [
            {"full_name": "Amani Wanjiru", "date_of_birth": date(1990, 4, 2), "relationship": "principal"},
            {"full_name": "Baraka Otieno", "date_of_birth": date(2015, 6, 9), "relationship": "child"},
        ],
        "contact_email": "amani.wanjiru@example.com",
        "petitioner": {"full_name": "Joseph Otieno"},
    }
    fields.update(changes)
    return RescheduleRequest.model_validate(fields)


# 05:00 UTC is 08:00 in Nairobi (UTC+3) and 12:00 in Phnom Penh (UTC+7).
WINDOW_ENDS_AT = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)


def _full_context(
    post: Post,
    kind: EmailKind,
    recipient: Recipient = Recipient.APPLICANT,
    **changes,
) -> EmailContext:
    """A context with every field a kind can use filled in."""
    fields = {
        "request": _make_request(post.code),
        "post": post,
        "kind": kind,
        "recipient": recipient,
        "note": "Please send a scan of the medical clearance letter.",
        "failed_rules": [
            RuleOutcome(rule="missed_appointment", passed=True, explanation="The appointment date has passed."),
            RuleOutcome(
                rule="already_interviewed",
                passed=False,
                explanation="You have been interviewed already.",
            ),
            RuleOutcome(
                rule="contact_within_a_year",
                passed=False,
                explanation="The principal applicant has not contacted the post for more than a year.",
            ),
        ],
        "window_ends_at": WINDOW_ENDS_AT,
        "window": WaitingWindow.ANSWER if kind is EmailKind.EXPIRED else None,
        "submitted_at": datetime(2026, 11, 16, 6, 15, tzinfo=UTC),
        "approval_email_release_at": datetime(2026, 11, 23, 5, 0, tzinfo=UTC),
    }
    fields.update(changes)
    return EmailContext(**fields)


@pytest.fixture
def make_request():
    """make_request(post="nairobi", **changes) -> a valid RescheduleRequest."""
    return _make_request


@pytest.fixture
def full_context():
    """full_context(post, kind, recipient=applicant, **changes) -> an EmailContext."""
    return _full_context


@dataclass
class CollectingHandler:
    """An aiosmtpd handler that keeps every message it accepts, or refuses recipients
    with `refuse_with` (e.g. "550 5.1.1 mailbox unavailable")."""

    messages: list[Message] = field(default_factory=list)
    refuse_with: str | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_with:
            return self.refuse_with
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(BytesParser(policy=policy.default).parsebytes(envelope.content))
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    url: str
    handler: CollectingHandler

    @property
    def messages(self) -> list[Message]:
        return self.handler.messages


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1 and a free port, for the duration of one test."""
    handler = CollectingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(url=f"smtp://127.0.0.1:{port}", handler=handler)
    finally:
        controller.stop()
