"""A booking path's history, built event by event on the recorded approved path, as the
workflow of issue 18 writes it (the contract between its parts): after the approval email,
open_booking, the booking window's timers, the book / cancel_booking / reschedule_booking /
record_attendance Updates, the book_slot and cancel_booking activities with the book's
answers, and the steps that carry the appointment.

Only the events the audit tools read are written (no workflow tasks), so the result reads
as a timeline and verifies, but does not replay: the recorded booking_*.json histories do.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import ApplicationFailureInfo, Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.sdk.v1 import UserMetadata
from temporalio.client import WorkflowHistory

from reschedule_desk.domain.appointments import Appointment
from reschedule_desk.domain.decisions import Attendance, BookingCancellation, BookingChoice
from reschedule_desk.domain.lifecycle import RequestState, RequestStatus, Transition
from reschedule_desk.domain.records import (
    BOOK_SLOT,
    CANCEL_BOOKING,
    RECORD_TRANSITION,
    SEND_EMAIL,
    BookingOrder,
    BookingOutcome,
    CancellationOrder,
    DeliveryResult,
    EmailKind,
    EmailOrder,
    RecordedTransition,
    TransitionEntry,
)
from reschedule_desk.storage.repository import message_key
from tests.audit.conftest import recorded
from tests.conftest import TEST_DATA_CONVERTER

# The recorded approved path: case NRB4824500001 at Nairobi, one applicant; its approval
# email went out on Monday 30 November 2026, 08:00 EAT.
APPROVED = "approved"
EAT = timedelta(hours=3)
_EAT_ZONE = timezone(EAT)


def nairobi(day: date, at: time) -> datetime:
    """The post's local day and time, as an instant."""
    return datetime.combine(day, at, tzinfo=UTC) - EAT


@dataclass
class BookingHistory:
    """The approved history, its closing event taken off, and the events that follow."""

    base: WorkflowHistory
    events: list[HistoryEvent] = field(default_factory=list)
    steps: list[TransitionEntry] = field(default_factory=list)
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 30, 5, 0, 1, tzinfo=UTC))
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _timers: itertools.count = field(default_factory=lambda: itertools.count(100))

    @classmethod
    async def after_approval(cls) -> BookingHistory:
        base = recorded(APPROVED)
        built = cls(base, events=list(base.events[:-1]))
        built._ids = itertools.count(built.events[-1].event_id + 1)
        for event in base.events:
            attributes = event.activity_task_scheduled_event_attributes
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED and (
                attributes.activity_type.name == RECORD_TRANSITION
            ):
                (entry,) = await TEST_DATA_CONVERTER.decode_wrapper(attributes.input, [TransitionEntry])
                built.steps.append(entry)
        return built

    @property
    def request_id(self) -> str:
        return self.steps[0].request_id

    @property
    def case_number(self) -> str:
        return self.steps[0].request.case_number

    # -- the events ------------------------------------------------------------------------

    def _event(self, kind: int, **attributes: Any) -> HistoryEvent:
        self.now += timedelta(milliseconds=5)
        event = HistoryEvent(event_id=next(self._ids), event_type=kind, **attributes)
        event.event_time.FromDatetime(self.now.replace(tzinfo=None))
        self.events.append(event)
        return event

    async def _payloads(self, value: Any) -> Payloads:
        return Payloads(payloads=await TEST_DATA_CONVERTER.encode([value]))

    async def activity(self, name: str, given: Any, result: Any = None, *, answered: bool = True) -> int:
        """Schedule `name` with `given`; completed with `result` unless not `answered`."""
        scheduled = self._event(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
        scheduled.activity_task_scheduled_event_attributes.activity_type.name = name
        scheduled.activity_task_scheduled_event_attributes.input.CopyFrom(await self._payloads(given))
        if answered:
            completed = self._event(EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
            completed.activity_task_completed_event_attributes.scheduled_event_id = scheduled.event_id
            completed.activity_task_completed_event_attributes.result.CopyFrom(await self._payloads(result))
        return scheduled.event_id

    async def update_accepted(self, name: str, args: Any) -> str:
        update_id = f"update-{len(self.events)}"
        accepted = self._event(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
        request = accepted.workflow_execution_update_accepted_event_attributes.accepted_request
        request.meta.update_id = update_id
        request.input.name = name
        request.input.args.CopyFrom(await self._payloads(args))
        return update_id

    async def update_completed(self, update_id: str, refusal: str | None = None) -> None:
        completed = self._event(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)
        attributes = completed.workflow_execution_update_completed_event_attributes
        attributes.meta.update_id = update_id
        if refusal is not None:
            attributes.outcome.failure.CopyFrom(
                Failure(message=refusal, application_failure_info=ApplicationFailureInfo(type="BookingRefused"))
            )
        else:
            attributes.outcome.success.CopyFrom(await self._payloads(self.status()))

    async def timer(self, summary: str, due: datetime, *, fires: bool = False) -> str:
        timer_id = str(next(self._timers))
        started = self._event(
            EventType.EVENT_TYPE_TIMER_STARTED,
            user_metadata=UserMetadata(summary=(await TEST_DATA_CONVERTER.encode([summary]))[0]),
        )
        started.timer_started_event_attributes.timer_id = timer_id
        started.timer_started_event_attributes.start_to_fire_timeout.FromTimedelta(due - self.now)
        if fires:
            self.now = due
            self._event(EventType.EVENT_TYPE_TIMER_FIRED).timer_fired_event_attributes.timer_id = timer_id
        return timer_id

    def timer_canceled(self, timer_id: str) -> None:
        self._event(EventType.EVENT_TYPE_TIMER_CANCELED).timer_canceled_event_attributes.timer_id = timer_id

    async def step(
        self,
        action: str,
        actor: str,
        to_state: RequestState,
        *,
        note: str | None = None,
        rule: str | None = None,
        email: EmailKind | None = None,
        appointment: Appointment | None = None,
        window_ends_at: datetime | None = None,
        recorded: bool = True,
    ) -> TransitionEntry:
        """A step handed to record_transition; its email sent, when it has one."""
        previous = self.steps[-1]
        entry = TransitionEntry(
            request_id=self.request_id,
            workflow_id=previous.workflow_id,
            transition=Transition(
                step=len(self.steps) + 1,
                at=self.now,
                from_state=previous.transition.to_state,
                to_state=to_state,
                actor=actor,
                action=action,
                note=note,
                rule=rule,
            ),
            window_ends_at=window_ends_at,
            approval_email_release_at=previous.approval_email_release_at,
            email=EmailOrder(kind=email) if email else None,
            appointment=appointment,
        )
        self.steps.append(entry)
        key = message_key(entry, email) if email else None
        await self.activity(RECORD_TRANSITION, entry, RecordedTransition(message_key=key), answered=recorded)
        if key is not None and recorded:
            await self.activity(SEND_EMAIL, key, DeliveryResult.SENT)
        return entry

    def status(self) -> RequestStatus:
        last = self.steps[-1]
        return RequestStatus(
            case_number=self.case_number,
            post="nairobi",
            status=last.transition.to_state,
            submitted_at=self.steps[0].transition.at,
            approval_email_release_at=last.approval_email_release_at,
            approval_email_sent=True,
            appointment=self.held,
            history=[entry.transition for entry in self.steps],
        )

    @property
    def held(self) -> Appointment | None:
        for entry in reversed(self.steps):
            if entry.transition.action == "cancel_booking":
                return None
            if entry.appointment is not None:
                return entry.appointment
        return None

    def running(self) -> WorkflowHistory:
        """The history so far, the workflow still open."""
        return WorkflowHistory(self.base.workflow_id, list(self.events))

    async def complete(self) -> WorkflowHistory:
        """The history closed, the workflow completed with the last step's status."""
        completed = self._event(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
        completed.workflow_execution_completed_event_attributes.result.CopyFrom(await self._payloads(self.status()))
        return self.running()

    # -- what the workflow does --------------------------------------------------------------

    async def open_booking(self, window_ends_at: datetime) -> None:
        await self.step("open_booking", "system", RequestState.AWAITING_BOOKING, window_ends_at=window_ends_at)

    def appointment(self, booking_id: int, slot_id: int, day: date, at: time, seats: int = 1) -> Appointment:
        return Appointment(
            booking_id=booking_id, slot_id=slot_id, post="nairobi", day=day, time=at, seats=seats, booked_at=self.now
        )

    def order(self, day: date, at: time, replacing: int | None = None, seats: int = 1) -> BookingOrder:
        return BookingOrder(
            request_id=self.request_id, case_number=self.case_number, post="nairobi", day=day, time=at,
            seats=seats, at=self.now, replacing=replacing,
        )

    async def book(
        self, action: str, day: date, at: time, outcome: BookingOutcome, *, replacing: int | None = None
    ) -> None:
        """The applicant's book or reschedule_booking Update, the book's answer, and its step."""
        update_id = await self.update_accepted(action, BookingChoice(day=day, time=at))
        await self.activity(BOOK_SLOT, self.order(day, at, replacing), outcome)
        if outcome.appointment is None:
            await self.update_completed(update_id, refusal=f"cannot {action}: {outcome.refusal}")
            return
        await self.step(
            action, "applicant", RequestState.BOOKED, note=f"{day.isoformat()} {at:%H:%M}",
            email=EmailKind.BOOKED, appointment=outcome.appointment,
        )
        await self.update_completed(update_id)

    async def cancel(self, window_ends_at: datetime, reason: str | None = None) -> None:
        held = self.held
        assert held is not None
        update_id = await self.update_accepted("cancel_booking", BookingCancellation(reason=reason))
        await self.activity(
            CANCEL_BOOKING, CancellationOrder(request_id=self.request_id, booking_id=held.booking_id, at=self.now), held
        )
        await self.step(
            "cancel_booking", "applicant", RequestState.AWAITING_BOOKING, note=reason,
            email=EmailKind.BOOKING_CANCELLED, appointment=held, window_ends_at=window_ends_at,
        )
        await self.update_completed(update_id)

    async def record_attendance(self, officer: str, attended: bool, note: str | None = None) -> None:
        held = self.held
        update_id = await self.update_accepted(
            "record_attendance", Attendance(officer_id=officer, attended=attended, note=note)
        )
        action = "record_attended" if attended else "record_missed"
        state = RequestState.ATTENDED if attended else RequestState.MISSED
        await self.step(
            action, officer, state, note=note, email=None if attended else EmailKind.MISSED, appointment=held
        )
        await self.update_completed(update_id)

    def later(self, instant: datetime) -> None:
        """The workflow's clock moves on to `instant` (a timer fired, a day passed)."""
        self.now = max(self.now, instant)


# The windows of the built path, as the post's calendar counts them: 20 business days from
# the approval email (Mon 30 Nov 2026), the reminder 2 business days before the end.
FIRST_WINDOW_ENDS = nairobi(date(2026, 12, 29), time(16, 30))
FIRST_REMINDER = nairobi(date(2026, 12, 24), time(8))
SECOND_WINDOW_ENDS = nairobi(date(2026, 12, 30), time(16, 30))  # from the cancellation, a day later
SECOND_REMINDER = nairobi(date(2026, 12, 28), time(8))
FULL = "the slot on Wednesday 2026-12-09 at 09:00 (nairobi) has 0 of 4 seats left, not enough for 1 applicant"


def summary(what: str, due: datetime) -> str:
    """A booking window timer's summary, as the workflow writes it."""
    return f"AWAITING_BOOKING {what} {due.astimezone(_EAT_ZONE).isoformat()}"


def booked(path: BookingHistory, booking_id: int, slot_id: int, day: date, at: time) -> BookingOutcome:
    return BookingOutcome(appointment=path.appointment(booking_id, slot_id, day, at))


async def booked_then_cancelled() -> BookingHistory:
    """Approved; booking window opened; booked (booking 7, slot 3, Tue 8 Dec 08:30);
    cancelled, the window open again. Still running."""
    path = await BookingHistory.after_approval()
    await path.open_booking(FIRST_WINDOW_ENDS)
    reminder = await path.timer(summary("reminder", FIRST_REMINDER), FIRST_REMINDER)
    await path.book("book", date(2026, 12, 8), time(8, 30), booked(path, 7, 3, date(2026, 12, 8), time(8, 30)))
    path.timer_canceled(reminder)
    path.later(nairobi(date(2026, 12, 1), time(10)))
    await path.cancel(SECOND_WINDOW_ENDS, reason="I am travelling that week.")
    return path


async def booked_cancelled_rebooked_moved_missed() -> BookingHistory:
    """Approved; booking window opened; a booking refused (the slot full); booked (booking
    7, slot 3); cancelled; reminded; booked again (booking 8, slot 4); moved (booking 9,
    slot 5, giving back 8); missed. Still to be closed (complete())."""
    path = await BookingHistory.after_approval()
    await path.open_booking(FIRST_WINDOW_ENDS)
    reminder = await path.timer(summary("reminder", FIRST_REMINDER), FIRST_REMINDER)
    full = BookingOutcome(refusal=f"{FULL}. Please choose another appointment.")
    await path.book("book", date(2026, 12, 9), time(9), full)
    await path.book("book", date(2026, 12, 8), time(8, 30), booked(path, 7, 3, date(2026, 12, 8), time(8, 30)))
    path.timer_canceled(reminder)
    path.later(nairobi(date(2026, 12, 1), time(10)))
    await path.cancel(SECOND_WINDOW_ENDS, reason="I am travelling that week.")
    await path.timer(summary("reminder", SECOND_REMINDER), SECOND_REMINDER, fires=True)
    await path.step(
        "remind", "system", RequestState.AWAITING_BOOKING,
        email=EmailKind.BOOKING_REMINDER, window_ends_at=SECOND_WINDOW_ENDS,
    )
    ends = await path.timer(summary("window ends", SECOND_WINDOW_ENDS), SECOND_WINDOW_ENDS)
    await path.book("book", date(2027, 1, 4), time(8), booked(path, 8, 4, date(2027, 1, 4), time(8)))
    path.timer_canceled(ends)
    await path.book(
        "reschedule_booking", date(2027, 1, 5), time(8, 30), booked(path, 9, 5, date(2027, 1, 5), time(8, 30)),
        replacing=8,
    )
    path.later(nairobi(date(2027, 1, 5), time(15)))
    await path.record_attendance("officer.njeri", False, note="Did not come.")
    return path
