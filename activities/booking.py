"""Book, move and cancel a request's appointment in the post's appointment book.

The database decides whether a slot has room (storage/appointment_book.py); the workflow
has already checked the post's rules at its own clock (the closing time, the cancel
notice) and records what the book answers. Each activity is one transaction, so a
retried attempt finds what the first one did and does nothing more.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from reschedule_desk.domain.appointments import BOOKING_HORIZON, Appointment
from reschedule_desk.domain.posts import PostsConfig
from reschedule_desk.domain.records import (
    BOOK_SLOT,
    CANCEL_BOOKING,
    BookingOrder,
    BookingOutcome,
    CancellationOrder,
)
from reschedule_desk.storage import appointment_book
from reschedule_desk.storage.appointment_book import HeldBooking, Refused
from reschedule_desk.storage.tables import SlotBooking

def appointment_of(booking: SlotBooking | HeldBooking) -> Appointment:
    if isinstance(booking, SlotBooking):
        booking = HeldBooking.of(booking)
    return Appointment(
        booking_id=booking.booking_id,
        slot_id=booking.slot_id,
        post=booking.post,
        day=booking.day,
        time=booking.time,
        seats=booking.seats,
        booked_at=booking.booked_at,
    )


class BookingActivities:
    def __init__(self, sessions: sessionmaker[Session], posts: PostsConfig) -> None:
        self._sessions = sessions
        self._posts = posts

    @activity.defn(name=BOOK_SLOT)
    def book_slot(self, order: BookingOrder) -> BookingOutcome:
        post = self._posts.post(order.post)
        try:
            with self._sessions.begin() as session:
                slot = appointment_book.slot_at(session, post, order.day, order.time)
                if slot is None:
                    return BookingOutcome(
                        refusal=f"{post.name} has no appointment on {order.day:%A} {order.day} at {order.time:%H:%M}: "
                        "choose one of the open appointments"
                    )
                shared = appointment_book.booking_of_same_petitioner(
                    session, post.code, order.case_number, order.request_id
                )
                if shared is not None and shared.slot_id != slot.id:
                    return BookingOutcome(refusal=self._one_appointment_per_petitioner(shared))
                if order.replacing is not None:
                    # A reschedule: the old seats go back in the same transaction, so a
                    # full new slot leaves the old booking as it was.
                    appointment_book.cancel(session, booking_id=order.replacing, at=order.at)
                booking = appointment_book.book(
                    session, slot.id, order.request_id, order.case_number, order.seats, order.at
                )
                return BookingOutcome(appointment=appointment_of(booking))
        except appointment_book.SlotFull as full:
            return BookingOutcome(refusal=f"{full}. {self._elsewhere(order)}")
        except Refused as refusal:
            return BookingOutcome(refusal=str(refusal))

    @activity.defn(name=CANCEL_BOOKING)
    def cancel_booking(self, order: CancellationOrder) -> Appointment:
        with self._sessions.begin() as session:
            booking = appointment_book.cancel(session, booking_id=order.booking_id, at=order.at)
            if booking.request_id != order.request_id:
                raise ApplicationError(
                    f"booking {order.booking_id} is not request {order.request_id}'s", non_retryable=True
                )
            return appointment_of(booking)

    def _one_appointment_per_petitioner(self, shared: SlotBooking) -> str:
        slot = shared.slot
        return (
            f"case {shared.case_number} of the same petitioner is booked on {slot.day:%A} {slot.day} at "
            f"{slot.time:%H:%M}: the cases of one petitioner share one appointment, so book that one "
            "for your applicants too"
        )

    def _elsewhere(self, order: BookingOrder) -> str:
        """Whether another appointment is open for the request's applicants, in the pages' words."""
        post = self._posts.post(order.post)
        with self._sessions() as session:
            today = order.at.astimezone(post.zone).date()
            others = appointment_book.open_slots(session, post, today, today + BOOKING_HORIZON, order.seats)
        if others:
            return "Please choose another appointment."
        return f"There are no appointments available. Please check again in {post.no_slots_retry_hours} hours."
