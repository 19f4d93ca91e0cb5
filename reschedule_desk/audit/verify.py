"""Do the app's audit rows and email outbox say what the workflow history says?

Three checks, each finding named by the row it concerns:
- the audit rows' hash chain (storage/audit_chain.py), which needs no history: an edited
  row, a deleted one, a gap, a last step missing against the request row;
- the audit rows against the steps the history handed to record_transition: a row
  missing, edited, or added by hand;
- the outbox against the emails the history queued and sent: an email the history does
  not know, one missing, a delivery the history does not show;
- the appointment book's bookings against what the history's book_slot and cancel_booking
  answered and its steps' appointments: a booking missing, in another slot, with other
  seats or of another request; one the history cancelled still held, or one it holds
  cancelled; a booking of the request the history does not know.
A step, email or booking whose activity is still running is not yet owed by the app.
"""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from reschedule_desk.audit.replay import ReplayOutcome
from reschedule_desk.audit.timeline import Timeline
from reschedule_desk.domain.appointments import Appointment
from reschedule_desk.domain.lifecycle import Transition
from reschedule_desk.domain.records import BOOK_SLOT, DeliveryResult
from reschedule_desk.storage import audit_chain
from reschedule_desk.storage.tables import AuditEvent, OutboxMessage, OutboxStatus, RequestRow, SlotBooking

# What the outbox must say once the history has a send_email result.
DELIVERED_AS = {
    DeliveryResult.SENT: OutboxStatus.SENT,
    DeliveryResult.ALREADY_SENT: OutboxStatus.SENT,
    DeliveryResult.REFUSED: OutboxStatus.REFUSED,
}

# The audit row's columns that repeat the step as the workflow decided it.
COMPARED = ("at", "actor", "action", "from_state", "to_state", "note", "rule")


class Finding(BaseModel):
    subject: str  # "audit step 2", "outbox <message key>", "booking 7", "history"
    problem: str


class Verification(BaseModel):
    request_id: str
    case_number: str
    history_source: str | None  # None: no history left, the hash chain alone was checked
    replay: ReplayOutcome | None
    audit_rows: int
    outbox_rows: int
    findings: list[Finding]
    booking_rows: int = 0  # the request's bookings in the appointment book, held and cancelled

    @property
    def ok(self) -> bool:
        return not self.findings


def verify(
    session: Session, request: RequestRow, timeline: Timeline | None, replay: ReplayOutcome | None, source: str | None
) -> Verification:
    rows = list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.request_id == request.request_id).order_by(AuditEvent.step)
        )
    )
    outbox = list(
        session.scalars(
            select(OutboxMessage).where(OutboxMessage.request_id == request.request_id).order_by(OutboxMessage.step)
        )
    )
    # The request's bookings, and any other the history says it made (to find one moved
    # to another request).
    made = booked_in_history(timeline) if timeline is not None else {}
    bookings = list(
        session.scalars(
            select(SlotBooking)
            .where(or_(SlotBooking.request_id == request.request_id, SlotBooking.id.in_(list(made))))
            .order_by(SlotBooking.id)
        )
    )
    findings = chain_findings(rows, request.last_step)
    if replay is not None and not replay.deterministic:
        problem = f"does not replay against today's workflow code: {replay.error}"
        if event := replay.diverging_event:
            problem += f" (first diverging event {event.event_id}, {event.event_type})"
        findings.append(Finding(subject="history", problem=problem))
    if timeline is not None:
        findings += audit_findings(rows, timeline) + outbox_findings(outbox, timeline)
        findings += booking_findings(bookings, timeline)
    return Verification(
        request_id=request.request_id,
        case_number=request.case_number,
        history_source=source,
        replay=replay,
        audit_rows=len(rows),
        outbox_rows=len(outbox),
        booking_rows=sum(1 for booking in bookings if booking.request_id == request.request_id),
        findings=findings,
    )


def chain_findings(rows: list[AuditEvent], last_step: int) -> list[Finding]:
    findings = []

    def found(step: int, problem: str) -> None:
        findings.append(Finding(subject=f"audit step {step}", problem=problem))

    previous: AuditEvent | None = None
    expected_step = 1
    for row in rows:
        for missing in range(expected_step, row.step):
            found(missing, "missing: the steps after it are there")
        if row.row_hash is None:
            found(row.step, "not sealed: written before the hash chain, or its hash removed")
        else:
            if row.row_hash != audit_chain.row_hash(row, row.previous_hash):
                found(row.step, "edited after it was recorded: its content no longer matches its hash")
            if row.previous_hash != (previous.row_hash if previous else None):
                found(row.step, "its link to the step before is broken: a row before it was removed, replaced or re-sealed")
        previous, expected_step = row, row.step + 1
    for missing in range(expected_step, last_step + 1):
        found(missing, f"missing: the request row's last step is {last_step}")
    return findings


def audit_findings(rows: list[AuditEvent], timeline: Timeline) -> list[Finding]:
    findings = []
    in_app = {row.step: row for row in rows}
    in_history = {step.transition.step: step for step in timeline.steps}
    for number, step in in_history.items():
        row = in_app.get(number)
        if row is None:
            if step.recorded:
                findings.append(Finding(subject=f"audit step {number}", problem="missing: the history recorded it"))
            continue
        for difference in _differences(row, step.transition):
            findings.append(Finding(subject=f"audit step {number}", problem=difference))
    for number in sorted(in_app.keys() - in_history.keys()):
        findings.append(Finding(subject=f"audit step {number}", problem="not in the history: added by hand?"))
    return findings


def outbox_findings(outbox: list[OutboxMessage], timeline: Timeline) -> list[Finding]:
    findings = []
    queued = {step.message_key: step for step in timeline.steps if step.message_key}
    # An email of a step still being recorded: the history has its order but not yet its key.
    in_flight = {(step.transition.step, step.email.kind) for step in timeline.steps if step.email and not step.recorded}
    deliveries = {email.message_key: email.outcome for email in timeline.emails}
    in_app = {message.message_key: message for message in outbox}

    for key, step in queued.items():
        message = in_app.get(key)
        if message is None:
            findings.append(Finding(subject=f"outbox {key}", problem="missing: the history queued it"))
        elif (message.step, message.kind) != (step.transition.step, step.email.kind):
            findings.append(
                Finding(
                    subject=f"outbox {key}",
                    problem=f"is a {message.kind} email of step {message.step} here; the history queued a "
                    f"{step.email.kind} email with step {step.transition.step}",
                )
            )
    for key, message in in_app.items():
        subject = f"outbox {key}"
        if key not in queued:
            if (message.step, message.kind) not in in_flight:
                findings.append(Finding(subject=subject, problem="not in the history: added by hand?"))
            continue
        outcome = deliveries.get(key)
        if outcome is not None and message.status is not DELIVERED_AS[outcome]:
            problem = f"{message.status} here; the history's send_email says {outcome}"
            findings.append(Finding(subject=subject, problem=problem))
        elif key not in deliveries and message.status is not OutboxStatus.QUEUED:
            findings.append(Finding(subject=subject, problem=f"{message.status} here; the history never sent it"))
    return findings


def booked_in_history(timeline: Timeline) -> dict[int, Appointment]:
    """Every booking the history says the request made, by its id: the book's own answers
    first, then the appointments its steps carry."""
    made: dict[int, Appointment] = {}
    answered = [booking.booked for booking in timeline.bookings if booking.booked is not None]
    for appointment in answered + [step.appointment for step in timeline.steps if step.appointment is not None]:
        made.setdefault(appointment.booking_id, appointment)
    return made


def booking_findings(rows: list[SlotBooking], timeline: Timeline) -> list[Finding]:
    """`rows`: the request's bookings, and any other of the ids the history booked."""
    findings = []
    made = booked_in_history(timeline)
    cancelled = {booking.gave_back for booking in timeline.bookings if booking.gave_back is not None}
    # What the book may have done already while its activity still runs: book (a booking
    # the history cannot name yet), or give back the booking the order names.
    booking_now = any(booking.activity == BOOK_SLOT and not booking.answered for booking in timeline.bookings)
    giving_back = {booking.gives_back for booking in timeline.bookings if not booking.answered and booking.gives_back}
    in_app = {row.id: row for row in rows}

    def found(booking_id: int, problem: str) -> None:
        findings.append(Finding(subject=f"booking {booking_id}", problem=problem))

    for booking_id in sorted(made.keys() | in_app.keys()):
        row, appointment = in_app.get(booking_id), made.get(booking_id)
        if appointment is None:
            if row.cancelled_at is None and booking_now:
                continue
            held = "held" if row.cancelled_at is None else "cancelled"
            found(booking_id, f"{held} here, not in the history: added by hand?")
            continue
        if row is None:
            found(booking_id, f"missing: the history booked it, {_appointment_text(appointment)}")
            continue
        for difference in _booking_differences(row, appointment, timeline.request_id):
            found(booking_id, difference)
        if booking_id in giving_back:
            continue
        if booking_id in cancelled and row.cancelled_at is None:
            found(booking_id, "held here; the history cancelled it")
        elif booking_id not in cancelled and row.cancelled_at is not None:
            found(booking_id, f"cancelled here ({row.cancelled_at.isoformat()}); the history holds it")
    return findings


def _booking_differences(row: SlotBooking, booked: Appointment, request_id: str) -> list[str]:
    differences = []
    if row.request_id != request_id:
        differences.append(f"is request {row.request_id}'s here; the history booked it for this request")
    if row.slot_id != booked.slot_id:
        differences.append(f"is in slot {row.slot_id} here; the history booked slot {booked.slot_id}")
    elif (row.slot.post, row.slot.day, row.slot.time) != (booked.post, booked.day, booked.time):
        here = f"{row.slot.post} {row.slot.day} {row.slot.time:%H:%M}"
        differences.append(f"its slot is {here} here; the history booked {_appointment_text(booked)}")
    if row.seats != booked.seats:
        differences.append(f"holds {row.seats} seats here; the history booked {booked.seats}")
    return differences


def _appointment_text(appointment: Appointment) -> str:
    return f"slot {appointment.slot_id}, {appointment.post} {appointment.day} {appointment.time:%H:%M}"


def _differences(row: AuditEvent, decided: Transition) -> list[str]:
    differences = []
    for column in COMPARED:
        here, there = getattr(row, column), getattr(decided, column)
        if here != there:
            differences.append(f"{column} is {_shown(here)} here; the history says {_shown(there)}")
    return differences


def _shown(value: object) -> str:
    return "empty" if value is None else f'"{value}"'
