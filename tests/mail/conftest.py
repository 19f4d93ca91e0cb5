"""Email contexts for the mail tests. The shipped posts, requests (`reschedule_request`)
and the real SMTP server (`smtp_server`) come from tests/conftest.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from reschedule_desk.domain.appointments import Appointment
from reschedule_desk.domain.lifecycle import RuleOutcome
from reschedule_desk.domain.posts import Post
from reschedule_desk.domain.records import EmailKind, Recipient
from reschedule_desk.mail.rendering import EmailContext, WaitingWindow
from tests.conftest import CASE_PREFIX, reschedule_request

# The request's own clock: its missed appointment is then Monday 12 October 2026, 08:30.
REQUESTED_AT = datetime(2026, 10, 21, 9, 0)

# The family the emails are addressed to, as the letter names them (the principal applicant
# first); the tests look for these names and this address.
APPLICANTS = [
    {"full_name": "Amani Wanjiru", "date_of_birth": date(1990, 4, 2)},
    {"full_name": "Baraka Otieno", "date_of_birth": date(2015, 6, 9)},
]
CONTACT_EMAIL = "amani.wanjiru@example.com"

# 05:00 UTC is 08:00 in Nairobi (UTC+3) and 12:00 in Phnom Penh (UTC+7).
WINDOW_ENDS_AT = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)

# Where the desk's applicant pages are, as TransitionActivities passes them.
APPLICANT_PAGES_URL = "https://desk.example.gov/applicant"

# The booked interview: Monday 7 December 2026 at 08:30, the post's own clock (05:30 UTC
# at Nairobi, 01:30 UTC at Phnom Penh).
APPOINTMENT_DAY, APPOINTMENT_TIME = date(2026, 12, 7), time(8, 30)


def appointment_at(post: Post, booking_id: int = 41) -> Appointment:
    return Appointment(
        booking_id=booking_id,
        slot_id=7,
        post=post.code,
        day=APPOINTMENT_DAY,
        time=APPOINTMENT_TIME,
        seats=len(APPLICANTS),
        booked_at=datetime(2026, 11, 25, 6, 0, tzinfo=UTC),
    )


def _full_context(
    post: Post,
    kind: EmailKind,
    recipient: Recipient = Recipient.APPLICANT,
    **changes,
) -> EmailContext:
    """A context with every field a kind can use filled in."""
    fields = {
        # A fixed case number and date, so every run renders the same email.
        "request": reschedule_request(
            post.code,
            now=REQUESTED_AT,
            case_number=f"{CASE_PREFIX[post.code]}2024000001",
            applicants=APPLICANTS,
            contact_email=CONTACT_EMAIL,
        ),
        "post": post,
        "kind": kind,
        # The case's class, as its request row holds it from the case file.
        "visa_class": "IR1",
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
        "appointment": appointment_at(post),
        "applicant_pages_url": APPLICANT_PAGES_URL,
    }
    fields.update(changes)
    return EmailContext(**fields)


@pytest.fixture
def full_context():
    """full_context(post, kind, recipient=applicant, **changes) -> an EmailContext."""
    return _full_context
