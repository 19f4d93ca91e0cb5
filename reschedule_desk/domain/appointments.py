"""When an appointment stops being bookable, and until when it may be changed.

The posts' pages: "the closing time for appointments is 48 hours" (Nairobi), "11:00 a.m.
the previous working day before the interview date" (Phnom Penh); "cancel or reschedule
your appointment at least three working days prior to your appointment date. Otherwise,
you will need to wait until the appointment date has passed". Pure: used by the workflow's
booking validators, the emails, the applicant's pages and the console.
"""

from __future__ import annotations

import datetime as dt
from datetime import UTC, date, datetime, time, timedelta

from pydantic import BaseModel, ConfigDict, Field

from reschedule_desk.domain.calendar import PostCalendar
from reschedule_desk.domain.posts import HoursBeforeClosing, Post

# How far ahead an applicant is offered appointments: the book's open slots from today to
# then. The booking window limits when to book, not the appointment's day.
BOOKING_HORIZON = timedelta(days=120)


class Appointment(BaseModel):
    """A request's booked interview, as the appointment book holds it: one slot of the
    post, with a seat for each applicant of the request."""

    model_config = ConfigDict(frozen=True)

    booking_id: int = Field(description="The booking's row in the appointment book.")
    slot_id: int
    post: str
    day: dt.date = Field(description="The post's local date.")
    time: dt.time = Field(description="The post's local time.")
    seats: int = Field(description="One for each applicant of the request.")
    booked_at: datetime

    def starts_at(self, post: Post) -> datetime:
        """The interview's start, aware, in the post's time zone."""
        return datetime.combine(self.day, self.time, tzinfo=post.zone)


_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _at_post(post: Post, appointment_at: datetime) -> datetime:
    """An appointment in the post's time zone; a naive time is already the post's local time."""
    if appointment_at.tzinfo is None:
        return appointment_at.replace(tzinfo=post.zone)
    return appointment_at.astimezone(post.zone)


def booking_closes_at(post: Post, calendar: PostCalendar, appointment_at: datetime) -> datetime:
    """The last moment the appointment can be booked, in the post's time zone."""
    appointment = _at_post(post, appointment_at)
    rule = post.appointment_closing
    if isinstance(rule, HoursBeforeClosing):
        # Hours that really elapse: counted in UTC so a clock change in between is honoured.
        closes = appointment.astimezone(UTC) - timedelta(hours=rule.hours)
        return closes.astimezone(post.zone)
    previous_working_day = calendar.business_days_before(appointment.date(), 1)
    return datetime.combine(previous_working_day, rule.at, tzinfo=post.zone)


def last_change_on(post: Post, calendar: PostCalendar, appointment_at: datetime) -> date:
    """The last day to cancel or reschedule: `cancel_notice_working_days` working days before
    the appointment date. After it, the applicant waits until the appointment date has passed."""
    appointment_day = _at_post(post, appointment_at).date()
    return calendar.business_days_before(appointment_day, post.cancel_notice_working_days)


def may_change_on(post: Post, calendar: PostCalendar, appointment_at: datetime, day: date) -> bool:
    """Whether the applicant may cancel or reschedule the appointment on `day` (post's date)."""
    appointment_day = _at_post(post, appointment_at).date()
    return day <= last_change_on(post, calendar, appointment_at) or day > appointment_day


def still_bookable(post: Post, calendar: PostCalendar, day: date, at_time: time, now: datetime) -> bool:
    """Whether the post's slot at `day` and `at_time` (its local date and time) may still
    be booked at `now`: its closing time has not come."""
    return now < booking_closes_at(post, calendar, datetime.combine(day, at_time))


def closing_rule_text(post: Post) -> str:
    rule = post.appointment_closing
    if isinstance(rule, HoursBeforeClosing):
        return f"The closing time for appointments is {rule.hours} hours before the appointment."
    return (
        f"The closing time for appointments is {_clock(rule.at)} "
        "the previous working day before the interview date."
    )


def change_rule_text(post: Post) -> str:
    days = post.cancel_notice_working_days
    return (
        "If you cannot attend the rescheduled appointment, please cancel or reschedule it at least "
        f"{_number(days)} working {'day' if days == 1 else 'days'} before your appointment date. "
        "Otherwise, you will need to wait until the appointment date has passed to reschedule."
    )


def _number(count: int) -> str:
    return _NUMBER_WORDS[count] if count < len(_NUMBER_WORDS) else str(count)


def _clock(at: time) -> str:
    """11:00 -> "11:00 a.m.", 14:30 -> "2:30 p.m.", as the pages write times."""
    hour = at.hour % 12 or 12
    return f"{hour}:{at.minute:02d} {'a.m.' if at.hour < 12 else 'p.m.'}"
