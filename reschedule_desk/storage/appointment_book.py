"""The post's appointment book: interview slots supervisors publish, and the requests'
bookings of them. Plain functions over a Session; the caller owns the transaction, as in
repository.py, and every check runs before the first write.

The database decides whether a slot has room. `book` adds the request's seats with one
conditional UPDATE (`seats_booked + n <= capacity`, the slot open): on PostgreSQL two
bookers of one slot wait for each other's row lock and the second re-reads the row
before its condition is tested, so the last seat goes to one of them and the other is
told the slot is full; on SQLite writers take turns on the whole database. A CHECK
constraint refuses a count past capacity and a partial unique index a second held
booking of one request, whatever the code above does.

Whether a slot may still be booked or changed at this hour (the post's closing time, the
cancel notice) is domain/appointments.py's to say: `bookable_slots` asks it to offer only
slots still open to booking, and the workflow asks it, at its own clock, before it books
or cancels; `book` and `cancel` themselves never look at the hour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from reschedule_desk.domain.appointments import still_bookable
from reschedule_desk.domain.calendar import PostCalendar
from reschedule_desk.domain.posts import Post
from reschedule_desk.storage.tables import CaseFileRow, InterviewSlot, RequestRow, SlotBooking

MAX_CAPACITY = 50  # applicants in one slot
MAX_DAYS = 366  # days one publishing may span


class Refused(Exception):
    """The book refuses: the message says why, and nothing was written."""


class NotABusinessDay(Refused):
    """Slots asked for on a day (or a range of days) when the post does not work."""


class SlotClosed(Refused):
    """The slot was closed: it takes no new bookings."""


class SlotFull(Refused):
    """The slot has fewer seats left than the request's applicants."""

    def __init__(self, message: str, seats_left: int) -> None:
        super().__init__(message)
        self.seats_left = seats_left


@dataclass(frozen=True)
class HeldBooking:
    """A booking as plain values: still readable once the transaction that found it has
    rolled back, as it does when the refusal carrying it leaves the `with` block."""

    booking_id: int
    slot_id: int
    post: str
    day: date
    time: time
    seats: int
    booked_at: datetime

    @classmethod
    def of(cls, booking: SlotBooking) -> HeldBooking:
        slot = booking.slot
        return cls(booking.id, slot.id, slot.post, slot.day, slot.time, booking.seats, booking.booked_at)


class AlreadyBooked(Refused):
    """The request already holds a booking (`booking`): cancel it before booking another."""

    def __init__(self, message: str, booking: HeldBooking) -> None:
        super().__init__(message)
        self.booking = booking


class UnknownSlot(LookupError):
    """No slot of that id, or of that post, day and time."""


class UnknownRequest(LookupError):
    """No request of that id has a row: its first step is not recorded yet."""


class NoBooking(LookupError):
    """No booking of that id, or the request never booked."""


@dataclass(frozen=True)
class PublishReport:
    """What publishing did: the slots it added, those that were already in the book
    (left as they are: their capacity and bookings are not touched), and the days of the
    range it skipped, with the reason each is not a business day."""

    published: list[InterviewSlot] = field(default_factory=list)
    already_published: list[InterviewSlot] = field(default_factory=list)
    skipped: dict[date, str] = field(default_factory=dict)


# -- publishing and closing slots ------------------------------------------------------------


def publish_slots(
    session: Session,
    post: Post,
    calendar: PostCalendar,
    first_day: date,
    last_day: date,
    times: Sequence[time],
    capacity: int,
    by: str,
    at: datetime,
) -> PublishReport:
    """One slot of `capacity` applicants at each of `times` on each business day of the
    post from `first_day` to `last_day` (the post's local days and times); `by` is the
    supervisor's account name. `calendar` is the post's, covering those days.

    Days in the range that are not business days are skipped and reported with the
    reason (the holiday's name, "a weekend"); asked for alone, such a day is refused
    (NotABusinessDay, naming it), and so is a range without a single business day.
    A slot already in the book is reported, never duplicated nor changed. Bad input is a
    ValueError saying what is wrong; either way nothing is written."""
    by = _account_name(by)
    _aware(at)
    _check_capacity(capacity)
    times = _check_times(post, times)
    if first_day > last_day:
        raise ValueError(f"the first day {first_day} is after the last day {last_day}")
    if (last_day - first_day).days >= MAX_DAYS:
        raise ValueError(f"{first_day} to {last_day} is more than {MAX_DAYS} days: publish a year at most at once")
    today = at.astimezone(post.zone).date()
    if first_day < today:
        raise ValueError(f"{first_day} has passed at {post.name}, where it is {today} now")
    if calendar.post != post.code:
        raise ValueError(f"the calendar given is {calendar.post}'s, not {post.code}'s")
    if first_day < calendar.first_day or last_day > calendar.last_day:
        raise ValueError(
            f"the {post.code} calendar given covers {calendar.first_day} to {calendar.last_day}, "
            f"not {first_day} to {last_day}"
        )

    days, skipped = calendar.business_days_between(first_day, last_day)
    if not days:
        if first_day == last_day:
            raise NotABusinessDay(f"{_day(first_day)} is not a business day at {post.name}: {skipped[first_day]}")
        reasons = "; ".join(f"{_day(day)}: {reason}" for day, reason in skipped.items())
        raise NotABusinessDay(f"there is no business day at {post.name} from {first_day} to {last_day}: {reasons}")

    existing = {
        (slot.day, slot.time): slot
        for slot in session.scalars(
            select(InterviewSlot).where(
                InterviewSlot.post == post.code,
                InterviewSlot.day.between(first_day, last_day),
                InterviewSlot.time.in_(times),
            )
        )
    }
    report = PublishReport(skipped=skipped)
    for day in days:
        for moment in times:
            slot = existing.get((day, moment))
            if slot is not None:
                report.already_published.append(slot)
                continue
            slot = InterviewSlot(
                post=post.code,
                day=day,
                time=moment,
                capacity=capacity,
                seats_booked=0,
                published_at=at,
                published_by=by,
            )
            session.add(slot)
            report.published.append(slot)
    # Two supervisors publishing the same slot at the same moment: the second one's flush
    # fails on the unique (post, day, time), and its caller rolls back.
    session.flush()
    return report


def close_slot(session: Session, post: Post | str, day: date, at_time: time, by: str, at: datetime) -> InterviewSlot:
    """Close the post's slot at `day` and `at_time` to new bookings; the bookings it holds
    stay. Closing a closed slot changes nothing (it keeps who closed it first, and when).
    UnknownSlot when the book has no such slot."""
    by = _account_name(by)
    _aware(at)
    slot = slot_at(session, post, day, at_time)
    if slot is None:
        raise UnknownSlot(f"{_code(post)} has no slot on {day} at {at_time:%H:%M}")
    session.execute(
        update(InterviewSlot)
        .where(InterviewSlot.id == slot.id, InterviewSlot.closed_at.is_(None))
        .values(closed_at=at, closed_by=by)
        .execution_options(synchronize_session=False)
    )
    return _reloaded_slot(session, slot.id)


# -- reading the book --------------------------------------------------------------------------


def slot(session: Session, slot_id: int) -> InterviewSlot | None:
    return session.get(InterviewSlot, slot_id)


def slot_at(session: Session, post: Post | str, day: date, at_time: time) -> InterviewSlot | None:
    """The post's slot at that local day and time, or None."""
    return session.scalar(
        select(InterviewSlot).where(
            InterviewSlot.post == _code(post), InterviewSlot.day == day, InterviewSlot.time == at_time
        )
    )


def slots(
    session: Session, post: Post | str, from_day: date | None = None, to_day: date | None = None
) -> list[InterviewSlot]:
    """The post's slots from `from_day` to `to_day` (each included; open-ended when None),
    open and closed, full or not, in the order of the day: `seats_booked` of `capacity`."""
    query = select(InterviewSlot).where(InterviewSlot.post == _code(post))
    if from_day is not None:
        query = query.where(InterviewSlot.day >= from_day)
    if to_day is not None:
        query = query.where(InterviewSlot.day <= to_day)
    return list(session.scalars(query.order_by(InterviewSlot.day, InterviewSlot.time)))


def open_slots(
    session: Session, post: Post | str, from_day: date, to_day: date, seats: int = 1
) -> list[InterviewSlot]:
    """The post's slots from `from_day` to `to_day` that are open and have `seats` seats
    left (all of a request's applicants go in one appointment), in the order of the day.
    None: the applicant is told to check again later (the post's no_slots_retry_hours)."""
    _check_seats(seats)
    return list(
        session.scalars(
            select(InterviewSlot)
            .where(
                InterviewSlot.post == _code(post),
                InterviewSlot.day.between(from_day, to_day),
                InterviewSlot.closed_at.is_(None),
                InterviewSlot.seats_booked + seats <= InterviewSlot.capacity,
            )
            .order_by(InterviewSlot.day, InterviewSlot.time)
        )
    )


def bookable_slots(
    session: Session, post: Post, calendar: PostCalendar, seats: int, now: datetime, last_day: date
) -> list[InterviewSlot]:
    """The open slots with `seats` seats left that may still be booked at `now` (the
    post's closing time has not come), up to `last_day`: what an applicant is offered."""
    today = now.astimezone(post.zone).date()
    return [
        slot
        for slot in open_slots(session, post, today, last_day, seats)
        if still_bookable(post, calendar, slot.day, slot.time, now)
    ]


def held_booking(session: Session, request_id: str) -> SlotBooking | None:
    """The booking the request holds now, or None."""
    return session.scalar(
        select(SlotBooking)
        .where(SlotBooking.request_id == request_id, SlotBooking.cancelled_at.is_(None))
        .execution_options(populate_existing=True)
    )


def booking_of_same_petitioner(session: Session, post: str, case_number: str, request_id: str) -> SlotBooking | None:
    """A booking held by another request whose case has the same petitioner at the post
    (the case file's petitioner, as screening reads it): one petitioner's cases share one
    appointment. The earliest such booking, or None."""
    petitioner = (
        select(CaseFileRow.petitioner_id)
        .where(CaseFileRow.case_number == case_number, CaseFileRow.post == post)
        .scalar_subquery()
    )
    return session.scalar(
        select(SlotBooking)
        .join(CaseFileRow, CaseFileRow.case_number == SlotBooking.case_number)
        .where(
            CaseFileRow.post == post,
            CaseFileRow.petitioner_id == petitioner,
            SlotBooking.cancelled_at.is_(None),
            SlotBooking.request_id != request_id,
        )
        .order_by(SlotBooking.booked_at, SlotBooking.id)
        .limit(1)
    )


def bookings(session: Session, slot_id: int, *, held_only: bool = True) -> list[SlotBooking]:
    """The slot's bookings (the held ones unless `held_only` is false), oldest first."""
    query = select(SlotBooking).where(SlotBooking.slot_id == slot_id)
    if held_only:
        query = query.where(SlotBooking.cancelled_at.is_(None))
    return list(session.scalars(query.order_by(SlotBooking.booked_at, SlotBooking.id)))


def held_bookings_on(session: Session, post: Post | str, day: date) -> list[tuple[SlotBooking, RequestRow]]:
    """The bookings held in the post's slots of `day` (its local date), each with its
    request and the request's applicants: the console's list of the day, in the order of
    the day, then of booking."""
    rows = session.execute(
        select(SlotBooking, RequestRow)
        .join(InterviewSlot, InterviewSlot.id == SlotBooking.slot_id)
        .join(RequestRow, RequestRow.request_id == SlotBooking.request_id)
        .where(InterviewSlot.post == _code(post), InterviewSlot.day == day, SlotBooking.cancelled_at.is_(None))
        .order_by(InterviewSlot.time, SlotBooking.booked_at, SlotBooking.id)
        .options(selectinload(RequestRow.applicants))
    )
    return [(booking, request) for booking, request in rows]


# -- booking and cancelling --------------------------------------------------------------------


def book(
    session: Session, slot_id: int, request_id: str, case_number: str, seats: int, at: datetime
) -> SlotBooking:
    """Book `seats` seats (the request's applicants) in the slot for the request.

    Refused, writing nothing: SlotClosed, SlotFull (with the seats left), AlreadyBooked
    when the request holds another booking (with it); UnknownSlot, UnknownRequest; a
    ValueError for bad input (seats, a case that is not the request's, a slot of another
    post). The same booking asked for again (an activity retried) returns the booking
    already made and books nothing more, even when the slot has filled or closed since."""
    _check_seats(seats)
    _aware(at)
    # The request's row, locked on PostgreSQL (FOR NO KEY UPDATE: the foreign keys of its
    # audit rows may still point at it meanwhile): the same request booking twice at once
    # goes in turn, and the second finds the first's booking.
    request = session.scalar(
        select(RequestRow)
        .where(RequestRow.request_id == request_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    if request is None:
        raise UnknownRequest(f"request {request_id} has no row: its first step is not recorded yet")
    if case_number.strip().upper() != request.case_number:
        raise ValueError(f"request {request_id} is for case {request.case_number}, not {case_number}")
    held = held_booking(session, request_id)
    if held is not None:
        if held.slot_id == slot_id and held.seats == seats:
            return held  # asked again: the booking made the first time
        raise AlreadyBooked(
            f"the request for case {request.case_number} already holds a booking on {_slot_text(held.slot)}: "
            "cancel it first to book another",
            HeldBooking.of(held),
        )
    target = session.get(InterviewSlot, slot_id)
    if target is None:
        raise UnknownSlot(f"there is no slot {slot_id}")
    if target.post != request.post:
        raise ValueError(
            f"slot {slot_id} is at {target.post}; the request for case {request.case_number} is at {request.post}"
        )

    # The database decides: one statement adds the seats if, once this booker holds the
    # row, the slot is still open and has room.
    added = session.execute(
        update(InterviewSlot)
        .where(
            InterviewSlot.id == slot_id,
            InterviewSlot.closed_at.is_(None),
            InterviewSlot.seats_booked + seats <= InterviewSlot.capacity,
        )
        .values(seats_booked=InterviewSlot.seats_booked + seats)
        .execution_options(synchronize_session=False)
    ).rowcount
    target = _reloaded_slot(session, slot_id)
    if added != 1:
        if target.closed_at is not None:
            raise SlotClosed(f"the slot on {_slot_text(target)} is closed to new bookings")
        applicants = f"{seats} applicant{'s' if seats != 1 else ''}"
        raise SlotFull(
            f"the slot on {_slot_text(target)} has {target.seats_left} of {target.capacity} seats left, "
            f"not enough for {applicants}",
            target.seats_left,
        )
    booking = SlotBooking(
        slot_id=slot_id,
        request_id=request_id,
        case_number=request.case_number,
        seats=seats,
        booked_at=at,
        cancelled_at=None,
        slot=target,
    )
    session.add(booking)
    session.flush()
    return booking


def cancel(
    session: Session, *, booking_id: int | None = None, request_id: str | None = None, at: datetime
) -> SlotBooking:
    """Cancel a booking, by its id or as the one the request holds; its seats go back to
    the slot at once, in the same transaction.

    Idempotent: a cancelled booking stays as it was cancelled (`cancelled_at` the first
    time's), and by request id, a request that holds none gets its latest cancelled
    booking back. NoBooking when there is no such booking, or the request never booked.
    By id is exact; by request id cancels whatever the request holds now."""
    if (booking_id is None) == (request_id is None):
        raise ValueError("cancel a booking by its id or by its request's id, one of the two")
    _aware(at)
    if booking_id is not None:
        booking = session.get(SlotBooking, booking_id)
        if booking is None:
            raise NoBooking(f"there is no booking {booking_id}")
    else:
        # Locked as `book` locks it: a cancel and a booking of one request go in turn.
        locked = session.scalar(
            select(RequestRow.request_id).where(RequestRow.request_id == request_id).with_for_update(key_share=True)
        )
        if locked is None:
            raise UnknownRequest(f"request {request_id} has no row: its first step is not recorded yet")
        booking = held_booking(session, request_id) or session.scalar(
            select(SlotBooking)
            .where(SlotBooking.request_id == request_id)
            .order_by(SlotBooking.cancelled_at.desc(), SlotBooking.id.desc())
            .limit(1)
        )
        if booking is None:
            raise NoBooking(f"request {request_id} has never booked a slot")

    # Only the cancel that changes the row frees its seats: the same cancel run twice at
    # once frees them once (the second waits for the first's row lock, then finds it done).
    cancelled = session.execute(
        update(SlotBooking)
        .where(SlotBooking.id == booking.id, SlotBooking.cancelled_at.is_(None))
        .values(cancelled_at=at)
        .execution_options(synchronize_session=False)
    ).rowcount
    if cancelled == 1:
        session.execute(
            update(InterviewSlot)
            .where(InterviewSlot.id == booking.slot_id)
            .values(seats_booked=InterviewSlot.seats_booked - booking.seats)
            .execution_options(synchronize_session=False)
        )
    _reloaded_slot(session, booking.slot_id)
    return session.scalar(
        select(SlotBooking).where(SlotBooking.id == booking.id).execution_options(populate_existing=True)
    )


# -- helpers ----------------------------------------------------------------------------------


def _check_times(post: Post, times: Sequence[time]) -> list[time]:
    times = list(times)
    if not times:
        raise ValueError("give at least one time for the slots, e.g. 08:00")
    for moment in times:
        if not isinstance(moment, time):
            raise ValueError(f"{moment!r} is not a time of day such as 08:00")
        if moment.tzinfo is not None:
            raise ValueError(f"{moment} has a time zone: slots are in the post's local time ({post.time_zone})")
        if moment.second or moment.microsecond:
            raise ValueError(f"{moment} is not a whole minute: slots start at times such as 08:00 or 08:30")
        if not post.opening_time <= moment < post.closing_time:
            raise ValueError(
                f"{moment:%H:%M} is outside {post.name}'s opening hours, "
                f"{post.opening_time:%H:%M} to {post.closing_time:%H:%M}"
            )
    twice = sorted({moment for moment in times if times.count(moment) > 1})
    if twice:
        raise ValueError(f"{twice[0]:%H:%M} is given more than once")
    return sorted(times)


def _check_capacity(capacity: int) -> None:
    if isinstance(capacity, bool) or not isinstance(capacity, int):
        raise ValueError(f"the capacity {capacity!r} is not a whole number of applicants")
    if not 1 <= capacity <= MAX_CAPACITY:
        raise ValueError(f"the capacity must be 1 to {MAX_CAPACITY} applicants, not {capacity}")


def _check_seats(seats: int) -> None:
    if isinstance(seats, bool) or not isinstance(seats, int) or seats < 1:
        raise ValueError(f"a booking is for 1 applicant or more, not {seats!r}")


def _account_name(by: str) -> str:
    name = (by or "").strip()
    if not name or len(name) > 64:
        raise ValueError("name the supervisor's account (1 to 64 characters)")
    return name


def _aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at!r} has no time zone: give an aware datetime")


def _code(post: Post | str) -> str:
    return post.code if isinstance(post, Post) else post


def _reloaded_slot(session: Session, slot_id: int) -> InterviewSlot:
    """The slot as the database holds it now, after an UPDATE the session did not see."""
    return session.scalar(
        select(InterviewSlot).where(InterviewSlot.id == slot_id).execution_options(populate_existing=True)
    )


def _day(day: date) -> str:
    return f"{day:%A} {day.isoformat()}"


def _slot_text(slot: InterviewSlot) -> str:
    return f"{_day(slot.day)} at {slot.time:%H:%M} ({slot.post})"
