"""`audit verify` checks the appointment book's bookings against the history: each booking
the book made for the request is there, in its slot, with its seats, for this request; each
the history cancelled (or a reschedule gave back) is cancelled, each it holds is held; and
the request holds no booking the history does not know. A booking whose activity is still
running is not yet owed. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import delete, update
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import WorkflowHistory

from reschedule_desk.audit.render import verification_text
from reschedule_desk.audit.replay import replay
from reschedule_desk.audit.timeline import read_timeline
from reschedule_desk.audit.verify import Verification, verify
from reschedule_desk.domain.records import BOOK_SLOT, CANCEL_BOOKING, CancellationOrder
from reschedule_desk.storage.tables import InterviewSlot, RequestRow, SlotBooking
from tests.audit.booking_history import (
    FIRST_WINDOW_ENDS,
    BookingHistory,
    booked,
    booked_cancelled_rebooked_moved_missed,
    booked_then_cancelled,
)
from tests.audit.conftest import recorded, write_rows_of
from tests.conftest import TEST_DATA_CONVERTER

CANCELLED_AT = datetime(2026, 12, 1, 7, 0, 0, 5000, tzinfo=UTC)


async def rows_of(sessions: sessionmaker[Session], history: WorkflowHistory) -> str:
    return await write_rows_of(sessions, history)


async def verified(sessions: sessionmaker[Session], request_id: str, history: WorkflowHistory) -> Verification:
    timeline = await read_timeline(history, TEST_DATA_CONVERTER)
    with sessions() as session:
        return verify(session, session.get(RequestRow, request_id), timeline, None, "the built history")


def problems(verification: Verification) -> list[tuple[str, str]]:
    return [(finding.subject, finding.problem) for finding in verification.findings]


def tamper(sessions: sessionmaker[Session], statement) -> None:
    with sessions.begin() as session:
        session.execute(statement)


@pytest.fixture
async def missed() -> WorkflowHistory:
    """Bookings 7 (cancelled), 8 (given back by the move) and 9 (held, missed)."""
    return await (await booked_cancelled_rebooked_moved_missed()).complete()


@pytest.fixture
async def cancelled() -> WorkflowHistory:
    """Booking 7, cancelled; the request waits to book again."""
    return (await booked_then_cancelled()).running()


async def test_bookings_written_as_the_history_says_are_verified(sessions, missed) -> None:
    request_id = await rows_of(sessions, missed)
    verification = await verified(sessions, request_id, missed)
    assert verification.ok, verification.findings
    assert verification.booking_rows == 3
    assert "9 audit rows, 8 outbox rows and 3 booking rows against the built history" in verification_text(verification)


async def test_a_booking_the_history_made_that_is_missing_is_found(sessions, missed) -> None:
    request_id = await rows_of(sessions, missed)
    tamper(sessions, delete(SlotBooking).where(SlotBooking.id == 9))
    assert problems(await verified(sessions, request_id, missed)) == [
        ("booking 9", "missing: the history booked it, slot 5, nairobi 2027-01-05 08:30")
    ]


async def test_a_booking_moved_to_another_slot_is_found(sessions, missed) -> None:
    request_id = await rows_of(sessions, missed)
    tamper(sessions, update(SlotBooking).where(SlotBooking.id == 9).values(slot_id=4))
    assert problems(await verified(sessions, request_id, missed)) == [
        ("booking 9", "is in slot 4 here; the history booked slot 5")
    ]


async def test_a_slot_whose_day_was_changed_under_its_booking_is_found(sessions, missed) -> None:
    request_id = await rows_of(sessions, missed)
    tamper(sessions, update(InterviewSlot).where(InterviewSlot.id == 5).values(day=date(2027, 1, 6)))
    assert problems(await verified(sessions, request_id, missed)) == [
        ("booking 9", "its slot is nairobi 2027-01-06 08:30 here; the history booked slot 5, nairobi 2027-01-05 08:30")
    ]


async def test_a_booking_with_other_seats_is_found(sessions, missed) -> None:
    request_id = await rows_of(sessions, missed)
    tamper(sessions, update(SlotBooking).where(SlotBooking.id == 9).values(seats=3))
    assert problems(await verified(sessions, request_id, missed)) == [
        ("booking 9", "holds 3 seats here; the history booked 1")
    ]


async def test_a_booking_the_history_holds_but_cancelled_here_is_found(sessions, missed) -> None:
    request_id = await rows_of(sessions, missed)
    tamper(sessions, update(SlotBooking).where(SlotBooking.id == 9).values(cancelled_at=CANCELLED_AT))
    assert problems(await verified(sessions, request_id, missed)) == [
        ("booking 9", f"cancelled here ({CANCELLED_AT.isoformat()}); the history holds it")
    ]


async def test_a_booking_the_history_cancelled_but_held_here_is_found(sessions, cancelled) -> None:
    request_id = await rows_of(sessions, cancelled)
    tamper(sessions, update(SlotBooking).where(SlotBooking.id == 7).values(cancelled_at=None))
    assert problems(await verified(sessions, request_id, cancelled)) == [
        ("booking 7", "held here; the history cancelled it")
    ]


async def test_the_booking_a_reschedule_gave_back_must_be_cancelled(sessions, missed) -> None:
    request_id = await rows_of(sessions, missed)
    # Booking 9 cancelled and 8 held again: the seats moved back by hand.
    tamper(sessions, update(SlotBooking).where(SlotBooking.id == 9).values(cancelled_at=CANCELLED_AT))
    tamper(sessions, update(SlotBooking).where(SlotBooking.id == 8).values(cancelled_at=None))
    assert problems(await verified(sessions, request_id, missed)) == [
        ("booking 8", "held here; the history cancelled it"),
        ("booking 9", f"cancelled here ({CANCELLED_AT.isoformat()}); the history holds it"),
    ]


async def test_a_held_booking_the_history_does_not_know_is_found(sessions, cancelled) -> None:
    request_id = await rows_of(sessions, cancelled)
    with sessions.begin() as session:
        session.add(
            SlotBooking(
                id=40, slot_id=3, request_id=request_id, case_number="NRB4824500001", seats=1, booked_at=CANCELLED_AT
            )
        )
    assert problems(await verified(sessions, request_id, cancelled)) == [
        ("booking 40", "held here, not in the history: added by hand?")
    ]


async def test_a_booking_still_being_made_is_not_blamed_for_being_in_the_book(sessions) -> None:
    path = await booked_then_cancelled()
    request_id = await rows_of(sessions, path.running())
    # The book made booking 8; the activity's answer is not in the history yet.
    await path.update_accepted("book", {"day": "2026-12-08", "time": "09:00:00"})
    await path.activity(BOOK_SLOT, path.order(date(2026, 12, 8), time(9)), answered=False)
    with sessions.begin() as session:
        session.add(
            SlotBooking(
                id=8, slot_id=3, request_id=request_id, case_number=path.case_number, seats=1, booked_at=CANCELLED_AT
            )
        )
    assert (await verified(sessions, request_id, path.running())).ok


async def test_a_booking_still_being_cancelled_is_not_blamed_for_being_cancelled(sessions) -> None:
    path = await BookingHistory.after_approval()
    await path.open_booking(FIRST_WINDOW_ENDS)
    await path.book("book", date(2026, 12, 8), time(8, 30), booked(path, 7, 3, date(2026, 12, 8), time(8, 30)))
    request_id = await rows_of(sessions, path.running())
    await path.update_accepted("cancel_booking", {})
    order = CancellationOrder(request_id=request_id, booking_id=7, at=CANCELLED_AT)
    await path.activity(CANCEL_BOOKING, order, answered=False)
    tamper(sessions, update(SlotBooking).where(SlotBooking.id == 7).values(cancelled_at=CANCELLED_AT))
    assert (await verified(sessions, request_id, path.running())).ok


async def test_without_a_history_the_bookings_are_counted_not_checked(sessions, missed) -> None:
    request_id = await rows_of(sessions, missed)
    tamper(sessions, update(SlotBooking).where(SlotBooking.id == 9).values(seats=3))
    with sessions() as session:
        verification = verify(session, session.get(RequestRow, request_id), None, None, None)
    assert verification.ok and verification.booking_rows == 3


# The recorded booking paths (tests/histories/booking_*.json), replayed against today's code.
RECORDED = {"booking_attended": 2, "booking_rescheduled_missed": 2, "booking_expired": 0}


@pytest.mark.parametrize(("name", "bookings"), RECORDED.items())
async def test_the_rows_of_a_recorded_booking_path_verify_against_its_history(
    sessions, name: str, bookings: int
) -> None:
    history = recorded(name)
    request_id = await rows_of(sessions, history)
    timeline = await read_timeline(history, TEST_DATA_CONVERTER)
    (outcome,) = await replay([history], TEST_DATA_CONVERTER)
    with sessions() as session:
        verification = verify(session, session.get(RequestRow, request_id), timeline, outcome, name)
    assert verification.ok, verification.findings
    assert verification.booking_rows == bookings


async def test_a_recorded_rescheduled_booking_whose_old_seats_were_kept_is_found(sessions) -> None:
    history = recorded("booking_rescheduled_missed")
    request_id = await rows_of(sessions, history)
    # The reschedule gave booking 1 back; held again by hand once 2 is cancelled.
    tamper(sessions, update(SlotBooking).where(SlotBooking.id == 2).values(cancelled_at=CANCELLED_AT))
    tamper(sessions, update(SlotBooking).where(SlotBooking.id == 1).values(cancelled_at=None))
    assert problems(await verified(sessions, request_id, history)) == [
        ("booking 1", "held here; the history cancelled it"),
        ("booking 2", f"cancelled here ({CANCELLED_AT.isoformat()}); the history holds it"),
    ]
