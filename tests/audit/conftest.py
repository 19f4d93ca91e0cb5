"""The recorded histories (tests/histories/), read as the auditors' tools read them, and the
app's rows as the workflow of such a history wrote them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

from reschedule_desk.domain.appointments import Appointment
from reschedule_desk.domain.records import (
    ACTIVITY_INPUT,
    ACTIVITY_RESULT,
    BOOK_SLOT,
    CANCEL_BOOKING,
    RECORD_TRANSITION,
    SEND_EMAIL,
    BookingOrder,
    BookingOutcome,
    CancellationOrder,
    DeliveryResult,
    TransitionEntry,
)
from reschedule_desk.storage import repository
from reschedule_desk.storage.repository import OutboxDraft
from reschedule_desk.storage.tables import InterviewSlot, SlotBooking
from tests.conftest import HISTORIES_DIR, TEST_DATA_CONVERTER


def recorded(name: str) -> WorkflowHistory:
    """A lifecycle path's recorded history, by its file name."""
    path = HISTORIES_DIR / f"{name}.json"
    return WorkflowHistory.from_json(f"recorded-{name}", path.read_text(encoding="utf-8"))


async def write_rows_of(sessions: sessionmaker[Session], history: WorkflowHistory) -> str:
    """Write the app's rows as the history's activities did: every step the workflow
    handed to record_transition through the real repository, every email its
    send_email delivered marked sent, and every booking the book answered with, under
    the slot and booking ids the history names. Returns the request id."""
    converter = TEST_DATA_CONVERTER
    entries: dict[int, TransitionEntry] = {}
    keys: dict[int, str] = {}
    orders: dict[int, BookingOrder | CancellationOrder] = {}
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attributes = event.activity_task_scheduled_event_attributes
            if attributes.activity_type.name == RECORD_TRANSITION:
                (entries[event.event_id],) = await converter.decode_wrapper(attributes.input, [TransitionEntry])
            elif attributes.activity_type.name == SEND_EMAIL:
                (keys[event.event_id],) = await converter.decode_wrapper(attributes.input, [str])
            elif (name := attributes.activity_type.name) in (BOOK_SLOT, CANCEL_BOOKING):
                (orders[event.event_id],) = await converter.decode_wrapper(attributes.input, [ACTIVITY_INPUT[name]])
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            attributes = event.activity_task_completed_event_attributes
            scheduled = attributes.scheduled_event_id
            with sessions.begin() as session:
                if scheduled in entries:
                    entry = entries[scheduled]
                    repository.record_transition(session, entry, _draft(entry))
                elif scheduled in keys:
                    (result,) = await converter.decode_wrapper(attributes.result, [DeliveryResult])
                    if result is DeliveryResult.SENT:
                        repository.mark_sent(session, keys[scheduled], event.event_time.ToDatetime(tzinfo=UTC))
                elif scheduled in orders:
                    order = orders[scheduled]
                    kind = CANCEL_BOOKING if isinstance(order, CancellationOrder) else BOOK_SLOT
                    (answer,) = await converter.decode_wrapper(attributes.result, [ACTIVITY_RESULT[kind]])
                    _write_booking(session, order, answer)
    return next(iter(entries.values())).request_id


def _write_booking(
    session: Session, order: BookingOrder | CancellationOrder, answer: BookingOutcome | Appointment
) -> None:
    """What the book did for one book_slot or cancel_booking, as its answer says."""
    if isinstance(order, CancellationOrder):
        _give_back(session, order.booking_id, order.at)
        return
    booked = answer.appointment
    if booked is None:
        return  # refused: the book wrote nothing
    if order.replacing is not None:
        _give_back(session, order.replacing, order.at)
    slot = session.get(InterviewSlot, booked.slot_id) or InterviewSlot(
        id=booked.slot_id, post=booked.post, day=booked.day, time=booked.time, capacity=10, seats_booked=0,
        published_at=booked.booked_at, published_by="supervisor.otieno",
    )
    slot.seats_booked += booked.seats
    session.add(slot)
    session.add(
        SlotBooking(
            id=booked.booking_id, slot_id=booked.slot_id, request_id=order.request_id, case_number=order.case_number,
            seats=booked.seats, booked_at=booked.booked_at,
        )
    )
    session.flush()


def _give_back(session: Session, booking_id: int, at: datetime) -> None:
    booking = session.get(SlotBooking, booking_id)
    booking.cancelled_at = at
    booking.slot.seats_booked -= booking.seats
    session.flush()  # before a reschedule's new booking: one held booking per request


def _draft(entry: TransitionEntry) -> OutboxDraft | None:
    if entry.email is None:
        return None
    return OutboxDraft(
        kind=entry.email.kind,
        recipient="wanjiru.kamau@example.com",
        subject=f"Your reschedule request: {entry.email.kind}",
        text_body="...",
        not_before=entry.email.not_before,
    )
