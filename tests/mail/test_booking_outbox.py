"""A booking step queues its confirmation with the .ics in the outbox, on SQLite and
PostgreSQL, and the message built from that row carries it; the emails link to the
desk's pages at the public address they are given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest
from sqlalchemy.orm import Session, sessionmaker

from activities.transitions import TransitionActivities
from reschedule_desk.domain.lifecycle import RequestState
from reschedule_desk.domain.records import EmailKind
from reschedule_desk.mail.delivery import build_message
from reschedule_desk.storage import repository
from tests.conftest import reschedule_request
from tests.mail.conftest import APPLICANTS, CONTACT_EMAIL, REQUESTED_AT, appointment_at
from tests.storage.conftest import step_entry

PUBLIC_URL = "https://desk.example.gov/"  # a trailing slash, as a person may write it
REQUEST_ID, WORKFLOW_ID = "request-1", "reschedule-NRB2024000001"
SUBMITTED_AT = datetime(2026, 11, 16, 6, 15, tzinfo=UTC)
BOOKED_AT = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
# After a cancellation the booking window runs again.
WINDOW_ENDS_AT = datetime(2026, 12, 21, 5, 0, tzinfo=UTC)


@pytest.fixture
def desk(sessions: sessionmaker[Session], posts) -> TransitionActivities:
    """The activities, with the request's first step recorded (its rows exist)."""
    activities = TransitionActivities(sessions, posts, public_url=PUBLIC_URL)
    request = reschedule_request(
        "nairobi", now=REQUESTED_AT, case_number="NRB2024000001", applicants=APPLICANTS, contact_email=CONTACT_EMAIL
    )
    activities.record_transition(
        step_entry(REQUEST_ID, 1, RequestState.PENDING_REVIEW, request=request, at=SUBMITTED_AT, workflow_id=WORKFLOW_ID)
    )
    return activities


def record(desk: TransitionActivities, step: int, to_state: RequestState, kind: EmailKind | None, **fields):
    """Record a step as the workflow sends it; returns its email's outbox key."""
    entry = step_entry(REQUEST_ID, step, to_state, workflow_id=WORKFLOW_ID, email=kind, **fields)
    return desk.record_transition(entry).message_key


def queued(sessions: sessionmaker[Session], key: str):
    with sessions() as session:
        row = repository.outbox_message(session, key)
        session.expunge(row)
    return row


def test_a_booking_queues_its_confirmation_with_the_ics(desk, sessions, posts):
    appointment = appointment_at(posts.post("nairobi"))
    key = record(
        desk, 2, RequestState.BOOKED, EmailKind.BOOKED,
        from_state=RequestState.AWAITING_BOOKING, action="book", actor="applicant", at=BOOKED_AT,
        appointment=appointment,
    )
    row = queued(sessions, key)

    (event,) = icalendar.Calendar.from_ical(row.invitation).walk("VEVENT")
    assert event.decoded("DTSTART") == datetime(2026, 12, 7, 5, 30, tzinfo=UTC)  # 08:30 at Nairobi
    assert event.decoded("DTSTAMP") == BOOKED_AT  # the step's time: a retry queues the same file
    assert "https://desk.example.gov/applicant/confirmation" in row.text_body

    (attachment,) = build_message(row).iter_attachments()
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "PUBLISH"
    assert attachment.get_filename() == "appointment.ics"
    assert attachment.get_payload(decode=True) == row.invitation.encode("utf-8")


def test_a_cancellation_queues_a_cancel_of_the_same_event(desk, sessions, posts):
    appointment = appointment_at(posts.post("nairobi"))
    booked = record(
        desk, 2, RequestState.BOOKED, EmailKind.BOOKED,
        from_state=RequestState.AWAITING_BOOKING, action="book", at=BOOKED_AT, appointment=appointment,
    )
    cancelled = record(
        desk, 3, RequestState.AWAITING_BOOKING, EmailKind.BOOKING_CANCELLED,
        from_state=RequestState.BOOKED, action="cancel_booking", at=BOOKED_AT + timedelta(days=1),
        appointment=appointment, window_ends_at=WINDOW_ENDS_AT,
    )
    published = icalendar.Calendar.from_ical(queued(sessions, booked).invitation)
    cancel = icalendar.Calendar.from_ical(queued(sessions, cancelled).invitation)

    assert cancel["METHOD"] == "CANCEL"
    assert cancel.walk("VEVENT")[0]["UID"] == published.walk("VEVENT")[0]["UID"]
    assert "before Monday 21 December 2026, 08:00 (Africa/Nairobi)" in queued(sessions, cancelled).text_body


def test_other_emails_carry_no_invitation(desk, sessions, posts):
    key = record(
        desk, 2, RequestState.MISSED, EmailKind.MISSED,
        from_state=RequestState.BOOKED, action="record_missed", actor="officer-1",
        appointment=appointment_at(posts.post("nairobi")),
    )
    row = queued(sessions, key)
    assert row.invitation is None
    assert not list(build_message(row).iter_attachments())


def test_the_approval_links_the_desks_applicant_pages(desk, sessions):
    key = record(
        desk, 2, RequestState.APPROVED, EmailKind.APPROVED, from_state=RequestState.PENDING_REVIEW, action="approve"
    )
    assert "schedule a new appointment at https://desk.example.gov/applicant within" in queued(sessions, key).text_body


def test_an_expired_booking_window_says_so(desk, sessions):
    # The row holds the window that ran out: the booking window the previous step opened.
    record(desk, 2, RequestState.AWAITING_BOOKING, None,
           from_state=RequestState.APPROVED, action="open_booking", window_ends_at=WINDOW_ENDS_AT)
    key = record(
        desk, 3, RequestState.EXPIRED, EmailKind.EXPIRED, from_state=RequestState.AWAITING_BOOKING, action="expire"
    )
    body = queued(sessions, key).text_body
    assert "you did not book an appointment within 20 business days of the approval" in body
    assert "(by Monday 21 December 2026, 08:00 (Africa/Nairobi))" in body
