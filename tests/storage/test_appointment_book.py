"""The post's appointment book on SQLite and PostgreSQL: slots published on business days
only (a holiday or a weekend named), booked until full and never past it, even by many
applicants booking the last seats at once; one booking per request, a retried booking
booked once, a cancelled booking's seats back in the book at once."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from reschedule_desk.domain.calendar import PostCalendar, build_post_calendar
from reschedule_desk.domain.lifecycle import RequestState
from reschedule_desk.domain.posts import Closure, Post, PostsConfig
from reschedule_desk.storage import appointment_book, repository
from reschedule_desk.storage.appointment_book import (
    AlreadyBooked,
    NoBooking,
    NotABusinessDay,
    SlotClosed,
    SlotFull,
    UnknownRequest,
    UnknownSlot,
)
from reschedule_desk.storage.database import make_engine, make_sessionmaker
from reschedule_desk.storage.tables import InterviewSlot, SlotBooking
from tests.conftest import reschedule_request
from tests.storage.conftest import REQUESTED_AT, step_entry

# The supervisor publishes on the Monday of Thanksgiving week, Nairobi's morning.
PUBLISHED_AT = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
BOOKED_AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
SUPERVISOR = "supervisor.otieno"
EIGHT, HALF_PAST_EIGHT, NINE = time(8, 0), time(8, 30), time(9, 0)
# Monday 14 December 2026, a business day at both posts.
MONDAY = date(2026, 12, 14)


@pytest.fixture
def nairobi(posts: PostsConfig) -> Post:
    return posts.post("nairobi")


@pytest.fixture
def phnom_penh(posts: PostsConfig) -> Post:
    return posts.post("phnom-penh")


def calendar_of(post: Post) -> PostCalendar:
    return build_post_calendar(post, date(2026, 11, 1), date(2027, 1, 31))


def publish(
    sessions: sessionmaker[Session],
    post: Post,
    first_day: date = MONDAY,
    last_day: date | None = None,
    times: tuple[time, ...] = (EIGHT,),
    capacity: int = 10,
    **changes,
) -> appointment_book.PublishReport:
    with sessions.begin() as session:
        return appointment_book.publish_slots(
            session,
            post,
            changes.pop("calendar", None) or calendar_of(post),
            first_day,
            last_day or first_day,
            times,
            capacity,
            changes.pop("by", SUPERVISOR),
            changes.pop("at", PUBLISHED_AT),
        )


def a_slot(sessions: sessionmaker[Session], post: Post, capacity: int = 10, at_time: time = EIGHT) -> int:
    """A slot of `capacity` on MONDAY at `at_time`: its id."""
    return publish(sessions, post, times=(at_time,), capacity=capacity).published[0].id


def requests_at(sessions: sessionmaker[Session], post: str = "nairobi", count: int = 1) -> list[tuple[str, str]]:
    """`count` requests of `post` with their first step recorded: (request id, case number)."""
    made = []
    with sessions.begin() as session:
        for number in range(count):
            request = reschedule_request(post, now=REQUESTED_AT)
            request_id = f"run-{request.case_number}-{number}"
            entry = step_entry(
                request_id, 1, RequestState.PENDING_REVIEW, from_state=RequestState.SUBMITTED, request=request
            )
            repository.record_transition(session, entry, None)
            made.append((request_id, request.case_number))
    return made


def book(sessions: sessionmaker[Session], slot_id: int, request: tuple[str, str], seats: int = 1, **changes):
    with sessions.begin() as session:
        return appointment_book.book(
            session, slot_id, request[0], changes.pop("case_number", request[1]), seats, changes.pop("at", BOOKED_AT)
        )


def state_of(sessions: sessionmaker[Session], slot_id: int) -> tuple[int, int, int]:
    """The slot's booked seats, its held bookings' seats added up, and its booking rows."""
    with sessions() as session:
        booked = session.scalar(select(InterviewSlot.seats_booked).where(InterviewSlot.id == slot_id))
        held = session.scalar(
            select(func.coalesce(func.sum(SlotBooking.seats), 0)).where(
                SlotBooking.slot_id == slot_id, SlotBooking.cancelled_at.is_(None)
            )
        )
        rows = session.scalar(select(func.count()).select_from(SlotBooking).where(SlotBooking.slot_id == slot_id))
        return booked, held, rows


def slot_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(InterviewSlot))


# -- publishing ------------------------------------------------------------------------------


def test_publishing_a_range_skips_the_weekend_and_jamhuri_day_naming_them(sessions, nairobi) -> None:
    report = publish(sessions, nairobi, date(2026, 12, 10), date(2026, 12, 15), times=(EIGHT, HALF_PAST_EIGHT))
    assert [(slot.day, slot.time) for slot in report.published] == [
        (day, moment)
        for day in (date(2026, 12, 10), date(2026, 12, 11), date(2026, 12, 14), date(2026, 12, 15))
        for moment in (EIGHT, HALF_PAST_EIGHT)
    ]
    assert report.skipped == {date(2026, 12, 12): "Jamhuri Day (KE); a weekend", date(2026, 12, 13): "a weekend"}
    assert report.already_published == []
    assert slot_count(sessions) == 8


def test_publishing_a_range_skips_a_us_holiday_the_host_country_works_on(sessions, nairobi) -> None:
    nairobi_week = publish(sessions, nairobi, date(2026, 11, 24), date(2026, 11, 27))
    assert nairobi_week.skipped == {date(2026, 11, 26): "Thanksgiving Day (US)"}
    assert [slot.day for slot in nairobi_week.published] == [date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 27)]


def test_publishing_a_range_skips_host_country_holidays(sessions, phnom_penh) -> None:
    report = publish(sessions, phnom_penh, date(2026, 11, 23), date(2026, 11, 30))
    assert report.skipped == {
        date(2026, 11, 23): "Water Festival (KH)",
        date(2026, 11, 24): "Water Festival (KH)",
        date(2026, 11, 25): "Water Festival (KH)",
        date(2026, 11, 26): "Thanksgiving Day (US)",
        date(2026, 11, 28): "a weekend",
        date(2026, 11, 29): "a weekend",
    }
    assert [slot.day for slot in report.published] == [date(2026, 11, 27), date(2026, 11, 30)]
    assert {slot.post for slot in report.published} == {"phnom-penh"}


@pytest.mark.parametrize(
    ("post_code", "day", "reason"),
    [
        ("nairobi", date(2026, 12, 25), "Christmas Day (KE); Christmas Day (US)"),
        ("phnom-penh", date(2026, 12, 25), "Christmas Day (US)"),
        ("phnom-penh", date(2026, 12, 29), "Peace Day in Cambodia (KH)"),
        ("nairobi", date(2026, 12, 12), "Jamhuri Day (KE); a weekend"),
        ("nairobi", date(2026, 12, 19), "a weekend"),
    ],
)
def test_a_single_day_that_is_not_a_business_day_is_refused_with_the_holidays_name(
    sessions, posts, post_code, day, reason
) -> None:
    post = posts.post(post_code)
    with pytest.raises(NotABusinessDay) as refused:
        publish(sessions, post, day)
    assert str(refused.value) == f"{day:%A} {day} is not a business day at {post.name}: {reason}"
    assert slot_count(sessions) == 0


def test_a_range_without_a_business_day_is_refused_naming_each_day(sessions, nairobi) -> None:
    with pytest.raises(NotABusinessDay) as refused:
        publish(sessions, nairobi, date(2026, 12, 25), date(2026, 12, 27))
    assert str(refused.value) == (
        "there is no business day at U.S. Embassy Nairobi from 2026-12-25 to 2026-12-27: "
        "Friday 2026-12-25: Christmas Day (KE); Christmas Day (US); "
        "Saturday 2026-12-26: Boxing Day (KE); a weekend; Sunday 2026-12-27: a weekend"
    )
    assert slot_count(sessions) == 0


def test_a_configured_closure_is_skipped_with_its_reason(sessions, nairobi) -> None:
    closed = nairobi.model_copy(update={"closures": [Closure(date=date(2026, 12, 15), reason="Staff training")]})
    report = publish(sessions, closed, date(2026, 12, 14), date(2026, 12, 16), calendar=calendar_of(closed))
    assert report.skipped == {date(2026, 12, 15): "Post closed: Staff training"}


def test_republishing_reports_the_slots_already_in_the_book_and_adds_only_the_new_ones(sessions, nairobi) -> None:
    first = publish(sessions, nairobi, times=(EIGHT,), capacity=10)
    again = publish(sessions, nairobi, times=(EIGHT, NINE), capacity=4)
    assert [slot.time for slot in again.published] == [NINE]
    assert [slot.id for slot in again.already_published] == [first.published[0].id]
    with sessions() as session:
        kept = appointment_book.slot_at(session, nairobi, MONDAY, EIGHT)
        assert kept.capacity == 10  # left as it was published
    assert slot_count(sessions) == 2


def test_published_slots_say_who_published_them_and_when(sessions, nairobi) -> None:
    slot_id = a_slot(sessions, nairobi)
    with sessions() as session:
        slot = appointment_book.slot(session, slot_id)
        assert (slot.post, slot.day, slot.time, slot.capacity, slot.seats_booked) == ("nairobi", MONDAY, EIGHT, 10, 0)
        assert (slot.published_by, slot.published_at, slot.closed_at) == (SUPERVISOR, PUBLISHED_AT, None)
        assert slot.appointment_at == datetime(2026, 12, 14, 8, 0)


@pytest.mark.parametrize("capacity", [0, -1, 51, 10.0, True])
def test_capacity_is_one_to_fifty_applicants(sessions, nairobi, capacity) -> None:
    with pytest.raises(ValueError, match="capacity"):
        publish(sessions, nairobi, capacity=capacity)
    assert slot_count(sessions) == 0


def test_capacity_of_fifty_is_accepted(sessions, nairobi) -> None:
    assert publish(sessions, nairobi, capacity=50).published[0].capacity == 50


@pytest.mark.parametrize(
    ("times", "message"),
    [
        ((time(7, 30),), "07:30 is outside U.S. Embassy Nairobi's opening hours, 08:00 to 16:30"),
        ((time(16, 30),), "16:30 is outside U.S. Embassy Nairobi's opening hours, 08:00 to 16:30"),
        ((EIGHT, time(23, 0)), "23:00 is outside"),
        ((), "at least one time"),
        ((EIGHT, EIGHT), "08:00 is given more than once"),
        ((time(8, 0, 30),), "not a whole minute"),
        ((time(8, 0, tzinfo=UTC),), "has a time zone"),
    ],
)
def test_times_are_whole_minutes_within_the_posts_opening_hours(sessions, nairobi, times, message) -> None:
    with pytest.raises(ValueError, match=message):
        publish(sessions, nairobi, times=times)
    assert slot_count(sessions) == 0


def test_the_last_minute_before_closing_time_is_a_slot(sessions, nairobi) -> None:
    assert publish(sessions, nairobi, times=(time(16, 29),)).published[0].time == time(16, 29)


@pytest.mark.parametrize(
    ("first_day", "last_day", "changes", "message"),
    [
        (date(2026, 12, 15), date(2026, 12, 14), {}, "the first day 2026-12-15 is after the last day 2026-12-14"),
        (date(2026, 11, 20), date(2026, 11, 27), {}, "2026-11-20 has passed at U.S. Embassy Nairobi"),
        (MONDAY, MONDAY, {"at": datetime(2026, 11, 23, 7, 0)}, "no time zone"),
        (MONDAY, MONDAY, {"by": "  "}, "name the supervisor's account"),
        (date(2026, 12, 1), date(2027, 12, 2), {}, "more than 366 days"),
        (date(2027, 2, 1), date(2027, 2, 5), {}, "covers 2026-11-01 to 2027-01-31"),
    ],
)
def test_bad_days_and_callers_are_refused_and_nothing_is_written(
    sessions, nairobi, first_day, last_day, changes, message
) -> None:
    with pytest.raises(ValueError, match=message):
        publish(sessions, nairobi, first_day, last_day, **changes)
    assert slot_count(sessions) == 0


def test_another_posts_calendar_is_refused(sessions, nairobi, phnom_penh) -> None:
    with pytest.raises(ValueError, match="the calendar given is phnom-penh's, not nairobi's"):
        publish(sessions, nairobi, calendar=calendar_of(phnom_penh))


def test_the_unique_post_day_and_time_is_the_databases_rule_too(sessions, nairobi) -> None:
    a_slot(sessions, nairobi)
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(InterviewSlot(post="nairobi", day=MONDAY, time=EIGHT, capacity=5, seats_booked=0,
                                  published_at=PUBLISHED_AT, published_by="someone.else"))
    assert slot_count(sessions) == 1


# -- listing and closing ---------------------------------------------------------------------


def test_slots_lists_a_posts_slots_in_order_with_booked_and_capacity(sessions, nairobi, phnom_penh) -> None:
    publish(sessions, nairobi, date(2026, 12, 14), date(2026, 12, 16), times=(NINE, EIGHT), capacity=3)
    publish(sessions, phnom_penh, capacity=7)
    with sessions() as session:
        listed = appointment_book.slots(session, nairobi, date(2026, 12, 15), date(2026, 12, 16))
        assert [(slot.day, slot.time, slot.seats_booked, slot.capacity) for slot in listed] == [
            (date(2026, 12, 15), EIGHT, 0, 3), (date(2026, 12, 15), NINE, 0, 3),
            (date(2026, 12, 16), EIGHT, 0, 3), (date(2026, 12, 16), NINE, 0, 3),
        ]
        assert len(appointment_book.slots(session, "nairobi")) == 6
        assert [slot.capacity for slot in appointment_book.slots(session, "phnom-penh")] == [7]


def test_open_slots_leave_out_closed_ones_and_those_without_room_for_the_applicants(sessions, nairobi) -> None:
    publish(sessions, nairobi, times=(EIGHT, HALF_PAST_EIGHT, NINE), capacity=2)
    (request,) = requests_at(sessions)
    with sessions.begin() as session:
        half_past = appointment_book.slot_at(session, nairobi, MONDAY, HALF_PAST_EIGHT)
        appointment_book.close_slot(session, nairobi, MONDAY, NINE, SUPERVISOR, BOOKED_AT)
    book(sessions, half_past.id, request, seats=1)
    with sessions() as session:
        assert [slot.time for slot in appointment_book.open_slots(session, nairobi, MONDAY, MONDAY)] == [
            EIGHT, HALF_PAST_EIGHT
        ]
        assert [slot.time for slot in appointment_book.open_slots(session, nairobi, MONDAY, MONDAY, seats=2)] == [EIGHT]
        assert appointment_book.open_slots(session, nairobi, MONDAY, MONDAY, seats=3) == []


def test_a_closed_slot_takes_no_booking_and_keeps_those_it_holds(sessions, nairobi) -> None:
    slot_id = a_slot(sessions, nairobi)
    first, second = requests_at(sessions, count=2)
    held = book(sessions, slot_id, first, seats=2)
    with sessions.begin() as session:
        closed = appointment_book.close_slot(session, nairobi, MONDAY, EIGHT, SUPERVISOR, BOOKED_AT)
        assert (closed.closed_at, closed.closed_by, closed.seats_booked) == (BOOKED_AT, SUPERVISOR, 2)
    with pytest.raises(SlotClosed, match="the slot on Monday 2026-12-14 at 08:00 .nairobi. is closed"):
        book(sessions, slot_id, second)
    assert state_of(sessions, slot_id) == (2, 2, 1)
    assert book(sessions, slot_id, first, seats=2).id == held.id  # a retry still finds its booking


def test_closing_a_closed_slot_keeps_who_closed_it_first(sessions, nairobi) -> None:
    a_slot(sessions, nairobi)
    later = BOOKED_AT + timedelta(hours=1)
    with sessions.begin() as session:
        appointment_book.close_slot(session, nairobi, MONDAY, EIGHT, SUPERVISOR, BOOKED_AT)
    with sessions.begin() as session:
        again = appointment_book.close_slot(session, nairobi, MONDAY, EIGHT, "supervisor.njeri", later)
        assert (again.closed_at, again.closed_by) == (BOOKED_AT, SUPERVISOR)


def test_closing_a_slot_not_in_the_book_is_unknown(sessions, nairobi) -> None:
    with pytest.raises(UnknownSlot, match="nairobi has no slot on 2026-12-14 at 08:00"), sessions.begin() as session:
        appointment_book.close_slot(session, nairobi, MONDAY, EIGHT, SUPERVISOR, BOOKED_AT)


# -- booking ---------------------------------------------------------------------------------


def test_booking_until_full_then_the_slot_is_full(sessions, nairobi) -> None:
    slot_id = a_slot(sessions, nairobi, capacity=5)
    requests = requests_at(sessions, count=4)
    for request, seats in zip(requests[:3], (2, 1, 2)):
        booking = book(sessions, slot_id, request, seats=seats)
        assert (booking.slot_id, booking.request_id, booking.case_number, booking.seats) == (
            slot_id, request[0], request[1], seats
        )
        assert (booking.booked_at, booking.cancelled_at) == (BOOKED_AT, None)
    with pytest.raises(SlotFull, match="has 0 of 5 seats left, not enough for 1 applicant$") as full:
        book(sessions, slot_id, requests[3])
    assert full.value.seats_left == 0
    assert state_of(sessions, slot_id) == (5, 5, 3)


def test_all_the_applicants_of_a_request_fit_in_the_slot_or_none_is_booked(sessions, nairobi) -> None:
    slot_id = a_slot(sessions, nairobi, capacity=3)
    first, second = requests_at(sessions, count=2)
    book(sessions, slot_id, first, seats=2)
    with pytest.raises(SlotFull, match="has 1 of 3 seats left, not enough for 2 applicants") as full:
        book(sessions, slot_id, second, seats=2)
    assert full.value.seats_left == 1
    assert state_of(sessions, slot_id) == (2, 2, 1)
    assert book(sessions, slot_id, second, seats=1).seats == 1


def test_a_request_holding_a_booking_cannot_book_a_second_one(sessions, nairobi) -> None:
    eight = a_slot(sessions, nairobi, at_time=EIGHT)
    nine = a_slot(sessions, nairobi, at_time=NINE)
    (request,) = requests_at(sessions)
    held = book(sessions, eight, request)
    with pytest.raises(AlreadyBooked, match="already holds a booking on Monday 2026-12-14 at 08:00") as refused:
        book(sessions, nine, request)
    assert refused.value.booking == appointment_book.HeldBooking(held.id, eight, "nairobi", MONDAY, EIGHT, 1, BOOKED_AT)
    with pytest.raises(AlreadyBooked):  # the same slot, other seats: not a retry
        book(sessions, eight, request, seats=2)
    assert state_of(sessions, eight) == (1, 1, 1)
    assert state_of(sessions, nine) == (0, 0, 0)


def test_a_retried_booking_returns_the_same_booking_and_books_nothing_more(sessions, nairobi) -> None:
    slot_id = a_slot(sessions, nairobi, capacity=2)
    first, second = requests_at(sessions, count=2)
    booking = book(sessions, slot_id, first, seats=1)
    book(sessions, slot_id, second, seats=1)  # the slot is full now
    again = book(sessions, slot_id, first, seats=1, at=BOOKED_AT + timedelta(minutes=5))
    assert (again.id, again.booked_at) == (booking.id, BOOKED_AT)
    assert state_of(sessions, slot_id) == (2, 2, 2)


def test_the_database_refuses_a_second_held_booking_of_a_request(sessions, nairobi) -> None:
    eight = a_slot(sessions, nairobi, at_time=EIGHT)
    nine = a_slot(sessions, nairobi, at_time=NINE)
    (request,) = requests_at(sessions)
    book(sessions, eight, request)
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.execute(insert(SlotBooking).values(slot_id=nine, request_id=request[0], case_number=request[1],
                                                   seats=1, booked_at=BOOKED_AT))


def test_the_database_refuses_seats_past_capacity(sessions, nairobi) -> None:
    slot_id = a_slot(sessions, nairobi, capacity=2)
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.get(InterviewSlot, slot_id).seats_booked = 3


@pytest.mark.parametrize("seats", [0, -2, True])
def test_a_booking_is_for_one_applicant_or_more(sessions, nairobi, seats) -> None:
    slot_id = a_slot(sessions, nairobi)
    (request,) = requests_at(sessions)
    with pytest.raises(ValueError, match="1 applicant or more"):
        book(sessions, slot_id, request, seats=seats)
    assert state_of(sessions, slot_id) == (0, 0, 0)


def test_a_booking_of_a_slot_at_another_post_or_for_another_case_is_refused(sessions, nairobi, phnom_penh) -> None:
    phnom_penh_slot = a_slot(sessions, phnom_penh)
    nairobi_slot = a_slot(sessions, nairobi)
    (request,) = requests_at(sessions, "nairobi")
    with pytest.raises(ValueError, match=f"slot {phnom_penh_slot} is at phnom-penh; the request .* is at nairobi"):
        book(sessions, phnom_penh_slot, request)
    with pytest.raises(ValueError, match=f"is for case {request[1]}, not NRB0000000000"):
        book(sessions, nairobi_slot, request, case_number="NRB0000000000")
    assert book(sessions, nairobi_slot, request, case_number=request[1].lower()).case_number == request[1]
    assert state_of(sessions, phnom_penh_slot) == (0, 0, 0)


def test_booking_an_unknown_slot_or_for_an_unknown_request_is_refused(sessions, nairobi) -> None:
    slot_id = a_slot(sessions, nairobi)
    (request,) = requests_at(sessions)
    with pytest.raises(UnknownSlot):
        book(sessions, slot_id + 1000, request)
    with pytest.raises(UnknownRequest):
        book(sessions, slot_id, ("no-such-run", request[1]))
    assert state_of(sessions, slot_id) == (0, 0, 0)


# -- cancelling ------------------------------------------------------------------------------


def test_a_cancelled_booking_frees_its_seats_at_once(sessions, nairobi) -> None:
    slot_id = a_slot(sessions, nairobi, capacity=3)
    first, second = requests_at(sessions, count=2)
    booking = book(sessions, slot_id, first, seats=3)
    with pytest.raises(SlotFull):
        book(sessions, slot_id, second, seats=2)
    cancelled_at = BOOKED_AT + timedelta(hours=2)
    with sessions.begin() as session:
        cancelled = appointment_book.cancel(session, booking_id=booking.id, at=cancelled_at)
        assert (cancelled.id, cancelled.cancelled_at, cancelled.slot.seats_booked) == (booking.id, cancelled_at, 0)
    assert book(sessions, slot_id, second, seats=2).seats == 2
    assert state_of(sessions, slot_id) == (2, 2, 2)


def test_cancelling_twice_frees_the_seats_once(sessions, nairobi) -> None:
    slot_id = a_slot(sessions, nairobi, capacity=4)
    first, second = requests_at(sessions, count=2)
    booking = book(sessions, slot_id, first, seats=2)
    book(sessions, slot_id, second, seats=2)
    for minutes in (0, 5):
        with sessions.begin() as session:
            again = appointment_book.cancel(session, booking_id=booking.id, at=BOOKED_AT + timedelta(minutes=minutes))
            assert again.cancelled_at == BOOKED_AT
    with sessions.begin() as session:
        assert appointment_book.cancel(session, request_id=first[0], at=BOOKED_AT).id == booking.id
    assert state_of(sessions, slot_id) == (2, 2, 2)


def test_cancelling_by_request_cancels_what_it_holds_and_it_may_book_again(sessions, nairobi) -> None:
    eight = a_slot(sessions, nairobi, at_time=EIGHT)
    nine = a_slot(sessions, nairobi, at_time=NINE)
    (request,) = requests_at(sessions)
    first = book(sessions, eight, request, seats=2)
    with sessions.begin() as session:
        assert appointment_book.cancel(session, request_id=request[0], at=BOOKED_AT).id == first.id
    second = book(sessions, nine, request, seats=2)
    with sessions() as session:
        assert appointment_book.held_booking(session, request[0]).id == second.id
    assert (state_of(sessions, eight), state_of(sessions, nine)) == ((0, 0, 1), (2, 2, 1))
    third = book(sessions, nine, request, seats=2)  # asked again: the same
    assert third.id == second.id


def test_cancelling_what_was_never_booked_is_no_booking(sessions, nairobi) -> None:
    (request,) = requests_at(sessions)
    with pytest.raises(NoBooking, match="has never booked"), sessions.begin() as session:
        appointment_book.cancel(session, request_id=request[0], at=BOOKED_AT)
    with pytest.raises(NoBooking), sessions.begin() as session:
        appointment_book.cancel(session, booking_id=12345, at=BOOKED_AT)
    with pytest.raises(ValueError, match="one of the two"), sessions.begin() as session:
        appointment_book.cancel(session, booking_id=1, request_id=request[0], at=BOOKED_AT)


def test_a_booking_of_a_closed_slot_may_still_be_cancelled(sessions, nairobi) -> None:
    slot_id = a_slot(sessions, nairobi)
    (request,) = requests_at(sessions)
    booking = book(sessions, slot_id, request, seats=2)
    with sessions.begin() as session:
        appointment_book.close_slot(session, nairobi, MONDAY, EIGHT, SUPERVISOR, BOOKED_AT)
        appointment_book.cancel(session, booking_id=booking.id, at=BOOKED_AT)
    with sessions() as session:
        slot = appointment_book.slot(session, slot_id)
        assert (slot.seats_booked, slot.closed_by) == (0, SUPERVISOR)


# -- many bookers at once --------------------------------------------------------------------


def at_once(sessions: sessionmaker[Session], calls: list) -> list[object]:
    """Run each call(session) in a thread of its own, each on its own connection, all let
    go together; each commits. The outcome of each: its return value or its exception."""
    outcomes: list[object] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(index: int) -> None:
        try:
            with sessions.begin() as session:
                session.connection()  # checked out before the start
                start.wait(timeout=30)
                outcomes[index] = calls[index](session)
        except Exception as error:  # the outcome under test
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


@pytest.fixture
def crowd(database_url: str, engine) -> Iterator[sessionmaker[Session]]:
    """Sessions on an engine with a connection for each of 50 bookers, as the worker
    sizes its own to its threads."""
    crowded = make_engine(database_url, connections=55)
    yield make_sessionmaker(crowded)
    crowded.dispose()


def booking_of(slot_id: int, request: tuple[str, str], seats: int = 1):
    return lambda session: appointment_book.book(session, slot_id, request[0], request[1], seats, BOOKED_AT)


def test_fifty_bookers_for_ten_seats_book_exactly_ten(sessions, crowd, nairobi) -> None:
    slot_id = a_slot(sessions, nairobi, capacity=10)
    requests = requests_at(sessions, count=50)
    outcomes = at_once(crowd, [booking_of(slot_id, request) for request in requests])
    kinds = Counter(type(outcome).__name__ for outcome in outcomes)
    assert kinds == {"SlotBooking": 10, "SlotFull": 40}, kinds
    assert state_of(sessions, slot_id) == (10, 10, 10)
    booked = {outcome.request_id for outcome in outcomes if isinstance(outcome, SlotBooking)}
    with sessions() as session:
        rows = session.scalars(select(SlotBooking).where(SlotBooking.slot_id == slot_id)).all()
        assert {row.request_id for row in rows} == booked  # each winner's row, no other, none twice
        assert all((row.seats, row.cancelled_at) == (1, None) for row in rows)


def test_fifty_bookers_of_one_to_three_applicants_never_overfill_ten_seats(sessions, crowd, nairobi) -> None:
    slot_id = a_slot(sessions, nairobi, capacity=10)
    requests = requests_at(sessions, count=50)
    chance = random.Random(18)
    seats = [chance.randint(1, 3) for _ in requests]
    outcomes = at_once(crowd, [booking_of(slot_id, request, n) for request, n in zip(requests, seats)])
    won = [n for outcome, n in zip(outcomes, seats) if isinstance(outcome, SlotBooking)]
    lost = [n for outcome, n in zip(outcomes, seats) if isinstance(outcome, SlotFull)]
    assert len(won) + len(lost) == 50, [o for o in outcomes if not isinstance(o, SlotBooking | SlotFull)]
    booked, held, rows = state_of(sessions, slot_id)
    assert booked == held == sum(won) <= 10
    assert rows == len(won)
    # Seats are only ever added here: whoever was told it is full still would not fit.
    assert all(n > 10 - booked for n in lost)


def test_one_request_booking_from_many_workers_at_once_is_booked_once(sessions, crowd, nairobi) -> None:
    slot_id = a_slot(sessions, nairobi, capacity=10)
    (request,) = requests_at(sessions)
    outcomes = at_once(crowd, [booking_of(slot_id, request, 2) for _ in range(8)])
    # An attempt that lost the race to the database's unique index is retried as the
    # activity would be: it finds the booking.
    retried = [book(sessions, slot_id, request, seats=2) if isinstance(outcome, IntegrityError) else outcome
               for outcome in outcomes]
    assert all(isinstance(outcome, SlotBooking) for outcome in retried), retried
    assert len({outcome.id for outcome in retried}) == 1
    assert state_of(sessions, slot_id) == (2, 2, 1)


def test_one_booking_cancelled_from_many_workers_at_once_frees_its_seats_once(sessions, crowd, nairobi) -> None:
    slot_id = a_slot(sessions, nairobi, capacity=10)
    first, second = requests_at(sessions, count=2)
    booking = book(sessions, slot_id, first, seats=3)
    book(sessions, slot_id, second, seats=3)
    outcomes = at_once(
        crowd, [lambda session: appointment_book.cancel(session, booking_id=booking.id, at=BOOKED_AT)] * 8
    )
    assert all(isinstance(outcome, SlotBooking) for outcome in outcomes), outcomes
    assert state_of(sessions, slot_id) == (3, 3, 2)
