"""The booked appointment as an iCalendar file (RFC 5545), for the confirmation email.

Written by hand: a dozen lines of one event, where the RFC's three text rules (escaping,
folding at 75 octets, CRLF) are all there is to get right; a test reads the result back
with the icalendar library. Pure: the same appointment and stamp give the same bytes, so
a retried step queues the very same file.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from enum import StrEnum

from reschedule_desk.domain.appointments import Appointment
from reschedule_desk.domain.posts import Post
from reschedule_desk.mail.delivery import DEFAULT_SENDER
from reschedule_desk.mail.rendering import post_time

PRODUCT_ID = "-//IV Reschedule Desk//Appointment//EN"

# The book holds when an interview slot starts, not how long it lasts: applicants are
# called in from that time and the wait varies. An hour marks the morning in a calendar
# without claiming an end the post never announced.
INTERVIEW_LENGTH = timedelta(hours=1)

# RFC 5545 3.1: lines of at most 75 octets, without the line break.
LINE_OCTETS = 75


class CalendarMethod(StrEnum):
    """RFC 5546: PUBLISH adds the event to the applicant's calendar, CANCEL takes it out."""

    PUBLISH = "PUBLISH"
    CANCEL = "CANCEL"


def appointment_uid(appointment: Appointment) -> str:
    """One UID per booking: a cancellation names the event its confirmation added."""
    return f"booking-{appointment.booking_id}.{appointment.post}@reschedule-desk"


def appointment_calendar(
    appointment: Appointment,
    post: Post,
    case_number: str,
    stamp: datetime,
    method: CalendarMethod = CalendarMethod.PUBLISH,
) -> str:
    """A VCALENDAR with the appointment's one VEVENT. `stamp` is when the step that sends
    it happened (DTSTAMP); times are in UTC, so no VTIMEZONE is needed."""
    if appointment.post != post.code:
        raise ValueError(f"the appointment is at post {appointment.post!r}, not {post.code!r}")
    starts_at = appointment.starts_at(post)
    cancelled = method is CalendarMethod.CANCEL
    applicants = "1 applicant" if appointment.seats == 1 else f"{appointment.seats} applicants"
    organizer = parseaddr(DEFAULT_SENDER)[1]
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODUCT_ID}",
        "CALSCALE:GREGORIAN",
        f"METHOD:{method}",
        "BEGIN:VEVENT",
        f"UID:{appointment_uid(appointment)}",
        f"DTSTAMP:{_utc(stamp)}",
        f"DTSTART:{_utc(starts_at)}",
        f"DTEND:{_utc(starts_at + INTERVIEW_LENGTH)}",
        # A cancellation is a later version of the same event (RFC 5546 2.1.4).
        f"SEQUENCE:{1 if cancelled else 0}",
        f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
        f"SUMMARY:{escape_text(f'Immigrant visa interview, {post.name}')}",
        f"LOCATION:{escape_text(post.name)}",
        f"DESCRIPTION:{escape_text(f'Case {case_number}, {applicants}. At the post: {post_time(starts_at, post)}.')}",
        # RFC 5546 asks for an organizer; the desk's own no-reply address, since PUBLISH
        # and CANCEL expect no answer.
        f"ORGANIZER;CN={_parameter(post.name)}:mailto:{organizer}",
        "TRANSP:OPAQUE",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(fold(line) + "\r\n" for line in lines)


def escape_text(value: str) -> str:
    """A TEXT value (RFC 5545 3.3.11): backslash, semicolon and comma escaped, any line
    break as \\n."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 3.1): CRLF and a space before each
    continuation, never inside a UTF-8 character."""
    pieces: list[str] = []
    current, size = "", 0
    limit = LINE_OCTETS
    for character in line:
        octets = len(character.encode("utf-8"))
        if size + octets > limit:
            pieces.append(current)
            current, size = "", 0
            limit = LINE_OCTETS - 1  # the leading space counts
        current += character
        size += octets
    pieces.append(current)
    return "\r\n ".join(pieces)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _parameter(value: str) -> str:
    """A parameter value, quoted (it may hold a comma or a colon). It has no escapes, so
    a DQUOTE and control characters such as a line break cannot appear (RFC 5545 3.1)."""
    value = "".join(" " if ord(character) < 32 or ord(character) == 127 else character for character in value)
    return '"' + value.replace('"', "'") + '"'
