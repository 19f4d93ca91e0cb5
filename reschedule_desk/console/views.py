"""What each console page shows, computed from the stored rows and the post calendar.

Plain data for the templates: dates already in the post's local time, deadlines in
business days, sentences that explain them. No web code here.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from reschedule_desk.domain.calendar import PostCalendar, build_post_calendar
from reschedule_desk.domain.eligibility import REASON_LABELS
from reschedule_desk.domain.lifecycle import RequestState, RuleOutcome, Transition
from reschedule_desk.domain.posts import Post, PostsConfig
from reschedule_desk.domain.request import Relationship
from reschedule_desk.storage import repository
from reschedule_desk.storage.queue import QueueRow
from reschedule_desk.storage.tables import (
    CaseFileChange,
    CaseFileChangeKind,
    CaseFileRow,
    InterviewSlot,
    OutboxMessage,
    OutboxStatus,
    RequestRow,
    SlotBooking,
)

LOCAL_TIME = "%a %-d %b %Y, %H:%M %Z"
LOCAL_DATE = "%a %-d %b %Y"


class Calendars:
    """Post calendars built once per post and span of years, shared by every page.

    Whole years, with a year to spare on each side, so a page never asks about a day
    outside its calendar.
    """

    def __init__(self, posts: PostsConfig) -> None:
        self._posts = posts
        self._built: dict[tuple[str, int, int], PostCalendar] = {}
        self._lock = threading.Lock()

    def covering(self, post_code: str, first: date, last: date) -> PostCalendar:
        key = (post_code, first.year - 1, max(first.year, last.year) + 1)
        with self._lock:
            if key not in self._built:
                post = self._posts.post(post_code)
                self._built[key] = build_post_calendar(post, date(key[1], 1, 1), date(key[2], 12, 31))
            return self._built[key]


def business_days_between(calendar: PostCalendar, start: date, end: date) -> int:
    """Business days strictly after `start`, up to and including `end`."""
    return sum(1 for day in _days_after(start, end) if calendar.is_business_day(day))


def _days_after(start: date, end: date) -> list[date]:
    return [start + timedelta(days=offset) for offset in range(1, (end - start).days + 1)]


# -- the queue ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    words: str  # "due in 2 business days", "due today", "overdue"
    urgency: str  # "overdue", "soon" (within the post's reminder lead) or ""


def due(calendar: PostCalendar, post: Post, now: datetime, ends_at: datetime) -> Due:
    """How much of the current window is left, in the post's business days."""
    if ends_at <= now:
        return Due("overdue", "overdue")
    left = business_days_between(calendar, calendar.local_date(now), calendar.local_date(ends_at))
    soon = "soon" if left <= post.windows.reminder_lead_business_days else ""
    if left == 0:
        return Due("due today", "soon")
    return Due(f"due in {left} business day{'' if left == 1 else 's'}", soon)


@dataclass(frozen=True)
class QueueItem:
    row: QueueRow
    due: Due
    window_ends: str  # local time at the post


def queue_items(rows: list[QueueRow], posts: PostsConfig, calendars: Calendars, now: datetime) -> list[QueueItem]:
    items = []
    for row in rows:
        post = posts.post(row.post)
        calendar = calendars.covering(row.post, now.date(), row.window_ends_at.date())
        items.append(
            QueueItem(
                row=row,
                due=due(calendar, post, now, row.window_ends_at),
                window_ends=row.window_ends_at.astimezone(post.zone).strftime(LOCAL_TIME),
            )
        )
    return items


# -- the request page ---------------------------------------------------------------------


@dataclass(frozen=True)
class ApplicantView:
    full_name: str
    relationship: str
    marital_status: str
    date_of_birth: date
    age: int  # on the local date of submission: the day screening judged
    on_appointment_letter: bool
    cspa_confirmed: bool


@dataclass(frozen=True)
class Deadline:
    label: str
    at: str  # local time at the post
    explanation: str  # the business-day arithmetic, in words
    skipped: list[str]  # the named days it did not count


@dataclass(frozen=True)
class EmailView:
    message_key: str
    kind: str
    recipient: str
    subject: str
    status: str
    text_body: str
    has_html: bool
    when: str  # sent, or when it may go out


@dataclass(frozen=True)
class StepView:
    step: int
    at: str
    actor: str
    action: str
    from_state: str | None
    to_state: str
    note: str | None
    rule: str | None


@dataclass
class RequestPage:
    row: RequestRow
    post: Post
    reason_label: str
    applicants: list[ApplicantView]
    rules: list[RuleOutcome]
    deadlines: list[Deadline]
    steps: list[StepView]
    emails: list[EmailView]
    due: Due | None
    submitted: str
    original_appointment: str | None
    workers: list[str] = field(default_factory=list)  # whom a supervisor may assign it to

    @property
    def state(self) -> RequestState:
        return self.row.status


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def request_page(session: Session, row: RequestRow, posts: PostsConfig, calendars: Calendars, now: datetime) -> RequestPage:
    post = posts.post(row.post)
    zone = post.zone
    submitted_on = row.submitted_at.astimezone(zone).date()
    trail = repository.audit_trail(session, row.request_id)
    calendar = calendars.covering(row.post, submitted_on, max(now.date(), submitted_on) + timedelta(days=400))
    return RequestPage(
        row=row,
        post=post,
        reason_label=REASON_LABELS[row.reason_category],
        applicants=[
            ApplicantView(
                full_name=applicant.full_name,
                relationship=applicant.relationship.value if applicant.relationship else "not on the letter",
                marital_status=applicant.marital_status.value if applicant.marital_status else "—",
                date_of_birth=applicant.date_of_birth,
                age=age_on(applicant.date_of_birth, submitted_on),
                on_appointment_letter=applicant.on_appointment_letter,
                cspa_confirmed=applicant.cspa_confirmed,
            )
            for applicant in row.applicants
        ],
        rules=repository.screening_outcomes(session, row.request_id),
        deadlines=deadlines(row, trail, calendar),
        steps=[_step_view(step, zone) for step in trail],
        emails=[_email_view(message, zone) for message in _emails(session, row.request_id)],
        due=due(calendar, post, now, row.window_ends_at) if row.window_ends_at else None,
        submitted=row.submitted_at.astimezone(zone).strftime(LOCAL_TIME),
        original_appointment=(
            row.original_appointment_at.strftime("%a %-d %b %Y, %H:%M") if row.original_appointment_at else None
        ),
    )


def deadlines(row: RequestRow, trail: list[Transition], calendar: PostCalendar) -> list[Deadline]:
    """The request's running deadlines, each with how it was counted."""
    local = calendar.local_date
    found = []
    if row.window_ends_at is not None:
        opened = _window_opened(row.status, trail)
        start, end = local(opened.at) if opened else local(row.submitted_at), local(row.window_ends_at)
        extensions = [step for step in trail if opened and step.step > opened.step and step.action == "extend_window"]
        extended = "".join(f", extended by {step.actor} ({step.note})" for step in extensions)
        found.append(
            _counted(
                calendar,
                "Window ends (the request expires)",
                row.window_ends_at,
                start,
                end,
                f"{{days}} after {start.strftime(LOCAL_DATE)}, the day it became {_words(row.status)}{extended}; "
                f"at the post's closing time",
            )
        )
    if row.reminder_at is not None and row.window_ends_at is not None:
        reminder_day, last_day = local(row.reminder_at), local(row.window_ends_at)
        found.append(
            _counted(
                calendar,
                "Reminder",
                row.reminder_at,
                reminder_day,
                last_day,
                "{days} before the window's last day, at the post's opening time",
            )
        )
    if row.approval_email_release_at is not None:
        start = local(row.submitted_at)
        found.append(
            _counted(
                calendar,
                "Approval email released no earlier than",
                row.approval_email_release_at,
                start,
                local(row.approval_email_release_at),
                f"{{days}} after {start.strftime(LOCAL_DATE)}, the day of submission; at the post's opening time",
            )
        )
    return found


def _counted(calendar: PostCalendar, label: str, at: datetime, start: date, end: date, sentence: str) -> Deadline:
    count = business_days_between(calendar, start, end)
    named = calendar.skipped_between(start, end)
    weekend_days = [day for day in _days_after(start, end) if day.isoweekday() in calendar.weekend and day not in named]
    skipped = [f"{day.strftime(LOCAL_DATE)}: {name}" for day, name in named.items()]
    if weekend_days:
        skipped.insert(0, f"{len(weekend_days)} weekend day{'' if len(weekend_days) == 1 else 's'}")
    days = f"{count} business day{'' if count == 1 else 's'}"
    return Deadline(
        label=label,
        at=at.astimezone(calendar.zone).strftime(LOCAL_TIME),
        explanation=sentence.format(days=days),
        skipped=skipped,
    )


def _words(state: RequestState) -> str:
    return state.value.replace("_", " ").lower()


def _window_opened(state: RequestState, trail: list[Transition]) -> Transition | None:
    """The step that entered the current waiting state, which opened its window."""
    for step in reversed(trail):
        if step.to_state is state and step.from_state is not state:
            return step
    return None


def _emails(session: Session, request_id: str) -> list[OutboxMessage]:
    return list(
        session.scalars(
            select(OutboxMessage).where(OutboxMessage.request_id == request_id).order_by(OutboxMessage.step)
        )
    )


def _email_view(message: OutboxMessage, zone) -> EmailView:
    if message.status is OutboxStatus.REFUSED:
        # Refused for good by the mail server: the applicant did not get it, officers must know.
        refused_at = message.sent_at.astimezone(zone).strftime(LOCAL_TIME) if message.sent_at else ""
        when = f"REFUSED by the mail server {refused_at}: {message.last_error or 'no reason given'}"
    elif message.sent_at is not None:
        when = f"{message.status.value} {message.sent_at.astimezone(zone).strftime(LOCAL_TIME)}"
    elif message.not_before is not None:
        when = f"queued: goes out no earlier than {message.not_before.astimezone(zone).strftime(LOCAL_TIME)}"
    else:
        when = "queued"
    return EmailView(
        message_key=message.message_key,
        kind=message.kind.value,
        recipient=message.recipient,
        subject=message.subject,
        status=message.status.value,
        text_body=message.text_body,
        has_html=message.html_body is not None,
        when=when,
    )


def _step_view(step: Transition, zone) -> StepView:
    return StepView(
        step=step.step,
        at=step.at.astimezone(zone).strftime(LOCAL_TIME),
        actor=step.actor,
        action=step.action,
        from_state=step.from_state.value if step.from_state else None,
        to_state=step.to_state.value,
        note=step.note,
        rule=step.rule,
    )


# -- the supervisor overview --------------------------------------------------------------


@dataclass(frozen=True)
class OfficerLoad:
    officer: str | None  # None: nobody has claimed these yet
    open: int
    soon_due: int
    overdue: int


@dataclass(frozen=True)
class PostOverview:
    post: Post
    soon_due_business_days: int
    officers: list[OfficerLoad]
    due: list[QueueItem]  # overdue and soon-due requests, most urgent first

    @property
    def overdue(self) -> int:
        return sum(1 for item in self.due if item.due.urgency == "overdue")

    @property
    def soon_due(self) -> int:
        return len(self.due) - self.overdue


def soon_due_until(calendar: PostCalendar, post: Post, now: datetime) -> datetime:
    """The end of "soon": closing time on the last day of the post's reminder lead."""
    today = calendar.local_date(now)
    return calendar.closing_on(calendar.business_days_after(today, post.windows.reminder_lead_business_days))


def post_overview(post: Post, items: list[QueueItem], open_counts: dict[str | None, int]) -> PostOverview:
    """`items`: the post's overdue and soon-due requests; `open_counts`: open requests per officer."""
    officers = sorted(
        set(open_counts) | {item.row.assigned_officer for item in items}, key=lambda name: (name is None, name or "")
    )

    def counted(officer: str | None, overdue: bool) -> int:
        return sum(1 for i in items if i.row.assigned_officer == officer and (i.due.urgency == "overdue") == overdue)

    return PostOverview(
        post=post,
        soon_due_business_days=post.windows.reminder_lead_business_days,
        officers=[
            OfficerLoad(
                officer=officer,
                open=open_counts.get(officer, 0),
                soon_due=counted(officer, overdue=False),
                overdue=counted(officer, overdue=True),
            )
            for officer in officers
        ],
        due=items,
    )


# -- the case file ------------------------------------------------------------------------


@dataclass(frozen=True)
class RosterView:
    position: int  # as stored, what the CSPA form sends
    number: int  # as the page shows it: the principal is no. 1
    full_name: str
    relationship: str
    date_of_birth: date
    marital_status: str
    age: int  # today, at the post
    cspa_confirmed_on: date | None
    is_child: bool


@dataclass(frozen=True)
class CaseFileChangeView:
    at: str  # local time at the post
    actor: str
    what: str
    before: str
    after: str
    note: str | None


@dataclass(frozen=True)
class CaseFilePage:
    row: CaseFileRow
    post: Post
    columns: list[tuple[str, str]]  # every case column, as label and value
    roster: list[RosterView]
    changes: list[CaseFileChangeView]
    today: date  # at the post: no form takes a later date

    @property
    def children(self) -> list[RosterView]:
        return [applicant for applicant in self.roster if applicant.is_child]


def case_file_page(row: CaseFileRow, changes: list[CaseFileChange], posts: PostsConfig, now: datetime) -> CaseFilePage:
    post = posts.post(row.post)
    zone = post.zone
    today = now.astimezone(zone).date()

    def day(value: date | None) -> str:
        return value.isoformat() if value else "—"

    columns = [
        ("Case number", row.case_number),
        ("Post", post.name),
        ("Visa class", row.visa_class),
        ("Visa class on the letter", row.visa_class_on_letter or "the same"),
        ("Priority date", day(row.priority_date)),
        ("Preference category", row.preference_category),
        ("Chargeability", row.chargeability),
        ("Petitioner", row.petitioner_id),
        ("Original appointment", f"{row.original_appointment_at:%a %-d %b %Y, %H:%M} (post's time)"),
        ("Interviewed on", row.interviewed_on.isoformat() if row.interviewed_on else "not yet"),
        ("Last contact", day(row.last_contact_on)),
        ("First imported", row.imported_at.astimezone(zone).strftime(LOCAL_TIME)),
        ("Last changed", row.updated_at.astimezone(zone).strftime(LOCAL_TIME)),
    ]
    roster = [
        RosterView(
            position=applicant.position,
            number=applicant.position + 1,
            full_name=applicant.full_name,
            relationship=applicant.relationship.value,
            date_of_birth=applicant.date_of_birth,
            marital_status=applicant.marital_status.value,
            age=age_on(applicant.date_of_birth, today),
            cspa_confirmed_on=applicant.cspa_confirmed_on,
            is_child=applicant.relationship is Relationship.CHILD,
        )
        for applicant in row.applicants
    ]
    return CaseFilePage(
        row=row,
        post=post,
        columns=columns,
        roster=roster,
        changes=[_case_file_change_view(change, zone) for change in changes],
        today=today,
    )


def _case_file_change_view(change: CaseFileChange, zone) -> CaseFileChangeView:
    # By roster number, not name: a later import may have replaced the roster.
    if change.kind is CaseFileChangeKind.CSPA_CONFIRMATION:
        what = f"CSPA confirmation of applicant no. {change.position + 1}"
    else:
        what = "Last contact"
    return CaseFileChangeView(
        at=change.at.astimezone(zone).strftime(LOCAL_TIME),
        actor=change.actor,
        what=what,
        before=change.value_before or "none",
        after=change.value_after,
        note=change.note,
    )


# -- the appointment book -----------------------------------------------------------------

BOOK_BUSINESS_DAYS = 10  # the page shows the post's next 10 business days unless asked otherwise


@dataclass(frozen=True)
class SlotView:
    time: str  # "08:30", the post's local time: also what the close form sends
    booked: int  # seats, one per applicant
    capacity: int
    state: str  # "open", "full" or "closed"
    closed: str | None  # by whom and when, when closed


@dataclass(frozen=True)
class BookDay:
    day: date
    label: str  # "Tue 24 Nov 2026"
    not_working: str | None  # why it is not a business day: the holiday's name, "a weekend"
    slots: list[SlotView]
    past: bool  # before today at the post


@dataclass(frozen=True)
class AppointmentBookPage:
    post: Post
    first_day: date
    last_day: date
    today: date  # at the post: nothing is published before it
    days: list[BookDay]  # every day from first_day to last_day

    @property
    def skipped(self) -> list[BookDay]:
        return [day for day in self.days if day.not_working]

    def slot(self, day: date, at: str) -> SlotView | None:
        return next((slot for shown in self.days if shown.day == day for slot in shown.slots if slot.time == at), None)


def book_last_day(calendar: PostCalendar, first_day: date) -> date:
    """The last day the page shows from `first_day` unless asked: the BOOK_BUSINESS_DAYS-th
    business day of the post, `first_day` counted if it is one."""
    return calendar.business_days_after(first_day - timedelta(days=1), BOOK_BUSINESS_DAYS)


def appointment_book_page(
    post: Post, calendar: PostCalendar, slots: list[InterviewSlot], first_day: date, last_day: date, now: datetime
) -> AppointmentBookPage:
    """`slots`: the post's slots from `first_day` to `last_day`, in the order of the day;
    `calendar` covers those days. The days the post does not work carry the same reason
    publishing gives for skipping them."""
    today = calendar.local_date(now)
    _, skipped = calendar.business_days_between(first_day, last_day)
    by_day: dict[date, list[SlotView]] = {}
    for slot in slots:
        by_day.setdefault(slot.day, []).append(_slot_view(slot, post))
    days = []
    day = first_day
    while day <= last_day:
        days.append(BookDay(day, day.strftime(LOCAL_DATE), skipped.get(day), by_day.get(day, []), day < today))
        day += timedelta(days=1)
    return AppointmentBookPage(post=post, first_day=first_day, last_day=last_day, today=today, days=days)


def published_notice(page: AppointmentBookPage, published: int, already: int) -> str:
    """What publishing over the page's days did, with the days it skipped and why."""
    first, last = page.first_day.strftime(LOCAL_DATE), page.last_day.strftime(LOCAL_DATE)
    span = f"on {first}" if page.first_day == page.last_day else f"from {first} to {last}"
    words = [f"Published {published} slot{'' if published == 1 else 's'} at {page.post.name} {span}."]
    if already:
        left = "was" if already == 1 else "were"
        kept = "it was" if already == 1 else "they were"
        words.append(f"{already} {left} already in the book, left as {kept}.")
    if page.skipped:
        days = "; ".join(f"{day.label} — {day.not_working}" for day in page.skipped)
        words.append(f"Skipped, as the post does not work then: {days}.")
    return " ".join(words)


def closed_notice(day: BookDay, slot: SlotView) -> str:
    return (
        f"The {slot.time} slot of {day.label} is closed to new bookings; "
        f"the {slot.booked} of {slot.capacity} seats booked in it stay booked."
    )


def _slot_view(slot: InterviewSlot, post: Post) -> SlotView:
    if slot.closed_at is not None:
        state = "closed"
        closed = f"by {slot.closed_by}, {slot.closed_at.astimezone(post.zone).strftime(LOCAL_TIME)}"
    else:
        state, closed = ("full" if slot.seats_left <= 0 else "open"), None
    return SlotView(
        time=slot.time.strftime("%H:%M"), booked=slot.seats_booked, capacity=slot.capacity, state=state, closed=closed
    )


# -- the day's appointments -----------------------------------------------------------------


@dataclass(frozen=True)
class DayBookingView:
    case_number: str
    applicants: list[str]  # full names, in the request's order
    seats: int  # one per applicant
    status: RequestState
    # Booked and its day has come at the post: the workflow takes attendance from then on.
    recordable: bool

    @property
    def status_words(self) -> str:
        return _words(self.status)


@dataclass(frozen=True)
class DaySlotView:
    slot: SlotView
    bookings: list[DayBookingView]


@dataclass(frozen=True)
class AppointmentDayPage:
    post: Post
    day: date
    label: str  # "Tue 24 Nov 2026"
    today: date  # at the post
    not_working: str | None  # why it is not a business day: the holiday's name, "a weekend"
    previous_day: date  # the post's business days either side
    next_day: date
    slots: list[DaySlotView]

    @property
    def before_the_day(self) -> bool:
        """Attendance is taken on the appointment's day or after, never before."""
        return self.day > self.today

    @property
    def applicants(self) -> int:
        return sum(booking.seats for slot in self.slots for booking in slot.bookings)

    def booking(self, case_number: str) -> DayBookingView | None:
        return next(
            (booking for slot in self.slots for booking in slot.bookings if booking.case_number == case_number), None
        )


def appointment_day_page(
    post: Post,
    calendar: PostCalendar,
    slots: list[InterviewSlot],
    held: list[tuple[SlotBooking, RequestRow]],
    day: date,
    now: datetime,
) -> AppointmentDayPage:
    """`slots`: the post's slots of `day`, in the order of the day; `held`: the bookings
    they hold, with their requests (appointment_book.held_bookings_on); `calendar` covers
    the business days either side of `day`."""
    today = calendar.local_date(now)
    by_slot: dict[int, list[DayBookingView]] = {}
    for booking, request in held:
        by_slot.setdefault(booking.slot_id, []).append(
            DayBookingView(
                case_number=request.case_number,
                applicants=[applicant.full_name for applicant in request.applicants],
                seats=booking.seats,
                status=request.status,
                recordable=request.status is RequestState.BOOKED and day <= today,
            )
        )
    _, skipped = calendar.business_days_between(day, day)
    return AppointmentDayPage(
        post=post,
        day=day,
        label=day.strftime(LOCAL_DATE),
        today=today,
        not_working=skipped.get(day),
        previous_day=calendar.business_days_before(day, 1),
        next_day=calendar.business_days_after(day, 1),
        slots=[DaySlotView(_slot_view(slot, post), by_slot.get(slot.id, [])) for slot in slots],
    )


def attendance_notice(page: AppointmentDayPage, case_number: str, outcome: str) -> str | None:
    """What the page says after recording, for a case it lists: None for anything else."""
    booking = page.booking(case_number)
    if booking is None or outcome not in ("attended", "missed"):
        return None
    return f"Recorded: the applicants of case {booking.case_number} {outcome} their appointment."
