"""The appointment's .ics: an RFC 5545 calendar that a calendar library reads back with
the interview's start in UTC, and that the confirmation email carries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser

import icalendar
import pytest

from reschedule_desk.domain.records import EmailKind
from reschedule_desk.mail.delivery import build_message
from reschedule_desk.mail.invitation import (
    INTERVIEW_LENGTH,
    CalendarMethod,
    appointment_calendar,
    escape_text,
    fold,
)
from reschedule_desk.mail.rendering import recipient_address, render_email
from tests.mail.conftest import appointment_at

STAMP = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)

# 08:30 on Monday 7 December 2026 at the post: UTC+3 at Nairobi, UTC+7 at Phnom Penh.
STARTS_AT_UTC = {
    "nairobi": datetime(2026, 12, 7, 5, 30, tzinfo=UTC),
    "phnom-penh": datetime(2026, 12, 7, 1, 30, tzinfo=UTC),
}


def calendar_for(post, method: CalendarMethod = CalendarMethod.PUBLISH, booking_id: int = 41) -> str:
    return appointment_calendar(appointment_at(post, booking_id), post, "NRB2024000001", STAMP, method)


def event_of(text: str) -> icalendar.Event:
    (event,) = icalendar.Calendar.from_ical(text).walk("VEVENT")
    return event


@pytest.mark.parametrize("code", ["nairobi", "phnom-penh"])
def test_the_event_starts_at_the_posts_time_given_in_utc(posts, code):
    post = posts.post(code)
    text = calendar_for(post)
    event = event_of(text)

    assert event.decoded("DTSTART") == STARTS_AT_UTC[code]
    assert event.decoded("DTEND") == STARTS_AT_UTC[code] + INTERVIEW_LENGTH
    assert f"DTSTART:{STARTS_AT_UTC[code]:%Y%m%dT%H%M%S}Z\r\n" in text  # UTC, no VTIMEZONE needed
    assert "VTIMEZONE" not in text


@pytest.mark.parametrize("code", ["nairobi", "phnom-penh"])
def test_the_event_names_the_interview_the_post_and_the_case(posts, code):
    post = posts.post(code)
    calendar = icalendar.Calendar.from_ical(calendar_for(post))
    (event,) = calendar.walk("VEVENT")

    assert calendar["METHOD"] == "PUBLISH"
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    assert str(event["SUMMARY"]) == f"Immigrant visa interview, {post.name}"
    assert str(event["LOCATION"]) == post.name
    assert "Case NRB2024000001, 2 applicants." in str(event["DESCRIPTION"])
    assert event.decoded("DTSTAMP") == STAMP
    assert str(event["UID"]) == f"booking-41.{code}@reschedule-desk"


def test_another_booking_is_another_event(posts):
    post = posts.post("nairobi")
    assert event_of(calendar_for(post, booking_id=41))["UID"] != event_of(calendar_for(post, booking_id=42))["UID"]


def test_a_cancellation_names_the_same_event_as_a_later_version(posts):
    post = posts.post("nairobi")
    published, cancelled = calendar_for(post), calendar_for(post, CalendarMethod.CANCEL)

    assert icalendar.Calendar.from_ical(cancelled)["METHOD"] == "CANCEL"
    assert event_of(cancelled)["UID"] == event_of(published)["UID"]
    assert event_of(cancelled)["STATUS"] == "CANCELLED"
    assert event_of(cancelled)["SEQUENCE"] > event_of(published)["SEQUENCE"]


def test_the_same_appointment_gives_the_same_file(posts):
    # A retried step queues the very same invitation.
    assert calendar_for(posts.post("nairobi")) == calendar_for(posts.post("nairobi"))


def test_an_appointment_at_another_post_is_refused(posts):
    with pytest.raises(ValueError, match="not 'nairobi'"):
        appointment_calendar(appointment_at(posts.post("phnom-penh")), posts.post("nairobi"), "PHP2024000001", STAMP)


def test_every_line_ends_with_crlf_and_fits_75_octets(posts):
    # A long name with letters of two and three octets, to make folding matter.
    name = "Ambassade des États-Unis à Nairobi, Section des visas ☎ " * 3
    post = posts.post("nairobi").model_copy(update={"name": name})
    text = calendar_for(post)

    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", "")
    lines = text.split("\r\n")[:-1]
    assert max(len(line.encode("utf-8")) for line in lines) <= 75
    assert any(line.startswith(" ") for line in lines)  # something was folded
    assert str(event_of(text)["LOCATION"]) == post.name  # and unfolds as it was


def test_folding_never_splits_a_character():
    line = "DESCRIPTION:" + "é" * 100
    folded = fold(line)
    pieces = folded.split("\r\n ")
    assert all(len(piece.encode("utf-8")) <= 74 for piece in pieces[1:])
    assert len(pieces[0].encode("utf-8")) <= 75
    assert "".join(pieces) == line


def test_a_short_line_is_not_folded():
    assert fold("SUMMARY:" + "x" * 67) == "SUMMARY:" + "x" * 67  # exactly 75 octets


def test_text_escapes_backslash_semicolon_comma_and_line_breaks():
    assert escape_text("a\\b;c,d\ne\r\nf") == "a\\\\b\\;c\\,d\\ne\\nf"


def test_escaped_text_reads_back_as_written(posts):
    name = "Embassy; Consular, Section \\ Visas\nGate 2"
    post = posts.post("nairobi").model_copy(update={"name": name})
    text = calendar_for(post)
    event = event_of(text)
    assert str(event["LOCATION"]) == name
    assert str(event["SUMMARY"]) == f"Immigrant visa interview, {name}"
    assert "\n" not in text.replace("\r\n", "")  # nor a line break in the organizer's name


# --- the email that carries it ----------------------------------------------------------


@dataclass
class Queued:
    """Stands in for an outbox row with an invitation."""

    message_key: str
    recipient: str
    subject: str
    text_body: str
    html_body: str | None
    created_at: datetime
    invitation: str | None


@pytest.fixture
def queued_confirmation(posts, full_context) -> Queued:
    post = posts.post("nairobi")
    context = full_context(post, EmailKind.BOOKED)
    rendered = render_email(context)
    return Queued(
        message_key="reschedule-NRB2024000001-r1-004-booked",
        recipient=recipient_address(context),
        subject=rendered.subject,
        text_body=rendered.text_body,
        html_body=rendered.html_body,
        created_at=STAMP,
        invitation=calendar_for(post),
    )


def test_the_confirmation_carries_the_invitation_as_text_calendar(queued_confirmation):
    message = build_message(queued_confirmation)
    parsed = BytesParser(policy=policy.default).parsebytes(message.as_bytes())

    assert parsed.get_content_type() == "multipart/mixed"
    body, attachment = parsed.iter_parts()
    assert body.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in body.iter_parts()] == ["text/plain", "text/html"]
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "PUBLISH"
    assert attachment.get_filename() == "appointment.ics"
    assert attachment.get_content_disposition() == "attachment"
    # Byte for byte as queued, CRLF line ends included.
    assert attachment.get_payload(decode=True) == queued_confirmation.invitation.encode("utf-8")


def test_a_cancellations_attachment_says_cancel(posts, queued_confirmation):
    cancel = calendar_for(posts.post("nairobi"), CalendarMethod.CANCEL)
    cancelled = Queued(**{**queued_confirmation.__dict__, "invitation": cancel})
    (_, attachment) = build_message(cancelled).iter_parts()
    assert attachment.get_param("method") == "CANCEL"


def test_an_email_without_an_invitation_has_no_attachment(queued_confirmation):
    message = build_message(Queued(**{**queued_confirmation.__dict__, "invitation": None}))
    assert message.get_content_type() == "multipart/alternative"
    assert not list(message.iter_attachments())

