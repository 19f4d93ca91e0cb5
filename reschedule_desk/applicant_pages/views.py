"""What each applicant page shows, from the request's status, the post's rules and the
post's appointment book. No web framework here: the routes hand in what they read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from reschedule_desk.domain.appointments import (
    BOOKING_HORIZON,
    Appointment,
    change_rule_text,
    closing_rule_text,
    last_change_on,
    may_change_on,
)
from reschedule_desk.domain.calendar import PostCalendar
from reschedule_desk.domain.lifecycle import ApplicantStatus, RequestState
from reschedule_desk.domain.posts import Post
from reschedule_desk.mail.rendering import post_time
from reschedule_desk.storage import appointment_book

def day_text(day: date) -> str:
    """"Tuesday 15 December 2026", as the emails write days."""
    return f"{day:%A} {day.day} {day:%B %Y}"


@dataclass(frozen=True)
class Rules:
    """The post's rules for one appointment, beside it on every page that shows it."""

    closing: str
    change: str
    last_change_on: str  # the day, in words
    may_change_today: bool


def rules_for(post: Post, calendar: PostCalendar, day: date, at_time: time, now: datetime) -> Rules:
    starts_at = datetime.combine(day, at_time, tzinfo=post.zone)
    today = now.astimezone(post.zone).date()
    return Rules(
        closing=closing_rule_text(post),
        change=change_rule_text(post),
        last_change_on=day_text(last_change_on(post, calendar, starts_at)),
        may_change_today=may_change_on(post, calendar, starts_at, today),
    )


@dataclass(frozen=True)
class AppointmentView:
    day: date
    time: time
    day_text: str
    time_text: str  # "08:30"
    when: str  # "Tuesday 15 December 2026, 08:30 (Africa/Nairobi)"
    seats: int
    rules: Rules


def appointment_view(post: Post, calendar: PostCalendar, appointment: Appointment, now: datetime) -> AppointmentView:
    return AppointmentView(
        day=appointment.day,
        time=appointment.time,
        day_text=day_text(appointment.day),
        time_text=f"{appointment.time:%H:%M}",
        when=post_time(appointment.starts_at(post), post),
        seats=appointment.seats,
        rules=rules_for(post, calendar, appointment.day, appointment.time, now),
    )


@dataclass(frozen=True)
class OpenTime:
    text: str  # "08:30"
    link: str  # the page that confirms this choice


@dataclass(frozen=True)
class OpenDay:
    day: date
    text: str
    times: list[OpenTime]


def calendar_range(post: Post, now: datetime) -> tuple[date, date]:
    """The days the calendar shows: today at the post to the booking horizon."""
    today = now.astimezone(post.zone).date()
    return today, today + BOOKING_HORIZON


def open_days(
    session: Session,
    post: Post,
    calendar: PostCalendar,
    first: date,
    last: date,
    seats: int,
    now: datetime,
    held: Appointment | None = None,
) -> list[OpenDay]:
    """The post's slots with a seat for each of the request's applicants, still before the
    post's closing time at `now`, by day; the appointment already held is not offered."""
    days: dict[date, list[OpenTime]] = {}
    for slot in appointment_book.bookable_slots(session, post, calendar, seats, now, last):
        if slot.day < first or (held is not None and (slot.day, slot.time) == (held.day, held.time)):
            continue
        query = urlencode({"day": slot.day.isoformat(), "time": f"{slot.time:%H:%M}"}, safe=":")
        link = f"/applicant/appointments/choose?{query}"
        days.setdefault(slot.day, []).append(OpenTime(text=f"{slot.time:%H:%M}", link=link))
    return [OpenDay(day=day, text=day_text(day), times=times) for day, times in days.items()]


def no_slots_text(post: Post) -> str:
    return f"There are no appointments available. Please check again in {post.no_slots_retry_hours} hours."


# The states in which the applicant books or holds an appointment.
CAN_BOOK = frozenset({RequestState.AWAITING_BOOKING})
CAN_CHANGE = frozenset({RequestState.BOOKED})

# Each state in the applicant's words, for the request's history.
STATE_LABELS: dict[RequestState, str] = {
    RequestState.SUBMITTED: "Request received",
    RequestState.PENDING_REVIEW: "Being reviewed by our office",
    RequestState.INFO_REQUESTED: "More information needed from you",
    RequestState.APPROVED: "Approved",
    RequestState.INELIGIBLE: "Cannot be accepted",
    RequestState.DENIED: "Denied",
    RequestState.EXPIRED: "Expired",
    RequestState.WITHDRAWN: "Withdrawn by you",
    RequestState.AWAITING_BOOKING: "Approved: choose your new appointment",
    RequestState.BOOKED: "Appointment booked",
    RequestState.ATTENDED: "Appointment attended",
    RequestState.MISSED: "Appointment missed",
}


def expired_from(status: ApplicantStatus) -> RequestState | None:
    """The state an expired request was waiting in when its time ran out."""
    if status.status is not RequestState.EXPIRED or len(status.steps) < 2:
        return None
    return status.steps[-2].status
