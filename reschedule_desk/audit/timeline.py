"""What happened to a request, read from its workflow history alone.

The history is the workflow's own record: the request as submitted, the facts screening
used (the post's windows and its calendar snapshot), every step handed to
`record_transition`, every Update and Signal with its sender, every timer with its
summary, every email handed to `send_email`, and the final status. Nothing here reads
the app's tables, so the timeline stands as evidence against them (verify.py).

Payloads are decoded through the desk's data converter, so encrypted histories read the
same as plain ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter

from reschedule_desk.domain.appointments import Appointment
from reschedule_desk.domain.calendar import OutsideCalendar, PostCalendar
from reschedule_desk.domain.decisions import ACTIONS, Attendance, BookingChoice
from reschedule_desk.domain.lifecycle import RequestState, RequestStatus, Transition
from reschedule_desk.domain.records import (
    ACTIVITY_INPUT,
    ACTIVITY_RESULT,
    BOOK_SLOT,
    CANCEL_BOOKING,
    GATHER_SCREENING_FACTS,
    READ_CASE_FILE,
    RECORD_TRANSITION,
    SEND_EMAIL,
    BookingOrder,
    BookingOutcome,
    CancellationOrder,
    DeliveryResult,
    EmailOrder,
    CaseFileFacts,
    TransitionEntry,
)
from reschedule_desk.domain.self_reported import RequestInHistory, ScreeningFacts, SelfReportedRequest

# The workflow's timer summaries (workflows/reschedule_request.py). Histories keep the
# format of their day: a summary this does not know is shown as it is.
_WAIT_SUMMARY = re.compile(r"^(?P<state>[A-Z_]+) (?P<what>reminder|window ends) (?P<due>\S+)$")
_RELEASE_SUMMARY = re.compile(r"^approval email release (?P<due>\S+)$")

# The window each waiting state runs, by the name its timers' summaries give by state.
WINDOW_OF_STATE: dict[RequestState, str] = {
    RequestState.PENDING_REVIEW: "review",
    RequestState.INFO_REQUESTED: "answer",
    RequestState.AWAITING_BOOKING: "booking",
}
# The states that open a window when a step enters them.
WINDOW_STATES = frozenset(WINDOW_OF_STATE)
# The appointment book's activities: the workflow records what the book answered.
BOOKING_ACTIVITIES = frozenset({BOOK_SLOT, CANCEL_BOOKING})

# What each step about an appointment did with it.
APPOINTMENT_WORDS = {
    "book": "booked",
    "reschedule_booking": "moved to",
    "cancel_booking": "cancelled",
    "record_attended": "attended",
    "record_missed": "missed",
}

# A patched workflow change leaves this marker (workflow.patched) in the histories it runs.
PATCH_MARKER = "core_patch"
# The activity that gathers what screening decides on: READ_CASE_FILE, or for requests taken
# before the case file was read, GATHER_SCREENING_FACTS.
SCREENING_ACTIVITIES = frozenset({READ_CASE_FILE, GATHER_SCREENING_FACTS})


class EntryKind(StrEnum):
    SUBMITTED = "submitted"
    SCREENING = "screening"  # the facts gathered at submission
    STEP = "step"  # a step handed to record_transition: the audit row and its email
    UPDATE = "update"  # an officer's, supervisor's or applicant's action, as an Update
    SIGNAL = "signal"  # the same, as a Signal
    TIMER_STARTED = "timer started"
    TIMER_FIRED = "timer fired"
    TIMER_CANCELED = "timer canceled"
    EMAIL = "email"  # an email handed to send_email
    BOOKING = "booking"  # the appointment book's answer to book_slot or cancel_booking
    CODE_CHANGE = "code change"  # a workflow.patched change in effect from here
    PROBLEM = "problem"  # a failed workflow task or activity
    CLOSED = "closed"


class TimelineEntry(BaseModel):
    event_id: int
    at: datetime
    kind: EntryKind
    actor: str | None = None
    text: str


class StepInHistory(BaseModel):
    """One step as the workflow handed it to record_transition."""

    event_id: int
    transition: Transition
    email: EmailOrder | None
    recorded: bool  # record_transition completed
    message_key: str | None  # its result: the email's outbox key
    # The appointment the step booked, moved to, cancelled, attended or missed.
    appointment: Appointment | None = None


class EmailInHistory(BaseModel):
    """One email as the workflow handed it to send_email."""

    event_id: int
    message_key: str
    outcome: DeliveryResult | None  # None while it runs, or when the activity failed


class BookingInHistory(BaseModel):
    """One change the workflow asked of the appointment book (book_slot, cancel_booking),
    and what the book answered."""

    event_id: int
    activity: str  # BOOK_SLOT or CANCEL_BOOKING
    answered: bool  # the activity completed: its answer is in the history
    booked: Appointment | None = None  # book_slot: the booking the book made
    refusal: str | None = None  # book_slot: why the book refused; it wrote nothing
    # The booking given back: cancel_booking's, or the one a reschedule replaces. From the
    # order, so known while the activity still runs.
    gives_back: int | None = None

    @property
    def gave_back(self) -> int | None:
        """The booking the book did give back: a refused reschedule keeps the old one."""
        if not self.answered or (self.activity == BOOK_SLOT and self.booked is None):
            return None
        return self.gives_back


class Timeline(BaseModel):
    workflow_id: str
    run_id: str
    request_id: str  # the first run id: the request's id in the app's tables
    case_number: str
    post: str
    time_zone: str | None  # the post's, from the screening facts
    event_count: int
    closed: bool
    final_status: RequestStatus | None
    entries: list[TimelineEntry]
    steps: list[StepInHistory]
    emails: list[EmailInHistory]
    bookings: list[BookingInHistory] = []


async def read_timeline(history: WorkflowHistory, converter: DataConverter) -> Timeline:
    reader = _Reader(converter)
    await reader.index(history.events)
    return await reader.read(history)


@dataclass
class _Activity:
    name: str
    input: Any
    attempt: int = 1
    outcome: str | None = None  # "completed", "failed", "timed out", "canceled"
    result: Any = None
    failure: str | None = None


@dataclass
class _Window:
    """The waiting window as the steps left it, for the timers' business-day meaning."""

    opened_at: datetime | None = None
    ends_at: datetime | None = None
    extended: bool = False


@dataclass
class _Reader:
    converter: DataConverter
    activities: dict[int, _Activity] = field(default_factory=dict)
    timers: dict[str, str] = field(default_factory=dict)  # timer id -> what it waits for
    update_outcomes: dict[str, str] = field(default_factory=dict)
    facts: CaseFileFacts | ScreeningFacts | None = None
    request: RequestInHistory | None = None
    submitted_at: datetime | None = None
    window: _Window = field(default_factory=_Window)
    emails_of_keys: dict[str, EmailOrder] = field(default_factory=dict)

    # -- first pass: what each activity and Update came to ---------------------------------

    async def index(self, events: list[HistoryEvent]) -> None:
        for event in events:
            match event.event_type:
                case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                    attributes = event.activity_task_scheduled_event_attributes
                    name = attributes.activity_type.name
                    self.activities[event.event_id] = _Activity(name, await self._activity_input(name, attributes.input))
                case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                    attributes = event.activity_task_started_event_attributes
                    self.activities[attributes.scheduled_event_id].attempt = attributes.attempt
                case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                    attributes = event.activity_task_completed_event_attributes
                    activity = self.activities[attributes.scheduled_event_id]
                    activity.outcome = "completed"
                    activity.result = await self._activity_result(activity.name, attributes.result)
                    if activity.name in SCREENING_ACTIVITIES:
                        self.facts = activity.result
                case EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
                    attributes = event.activity_task_failed_event_attributes
                    await self._activity_failed(attributes.scheduled_event_id, "failed", attributes.failure)
                case EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
                    attributes = event.activity_task_timed_out_event_attributes
                    await self._activity_failed(attributes.scheduled_event_id, "timed out", attributes.failure)
                case EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
                    attributes = event.activity_task_canceled_event_attributes
                    self.activities[attributes.scheduled_event_id].outcome = "canceled"
                case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
                    attributes = event.workflow_execution_update_completed_event_attributes
                    outcome = attributes.outcome
                    if outcome.HasField("failure"):
                        self.update_outcomes[attributes.meta.update_id] = f"refused: {await self._failure(outcome.failure)}"
                    else:
                        status = await self._decode(outcome.success, RequestStatus)
                        self.update_outcomes[attributes.meta.update_id] = f"-> {status.status.value}"

    async def _activity_input(self, name: str, payloads: Payloads) -> Any:
        # The screening query is not shown, and histories recorded before it existed gave
        # that activity the request itself, in a shape it no longer has.
        if name == GATHER_SCREENING_FACTS or name not in ACTIVITY_INPUT:
            return None
        return await self._decode(payloads, ACTIVITY_INPUT[name])

    async def _activity_result(self, name: str, payloads: Payloads) -> Any:
        return await self._decode(payloads, ACTIVITY_RESULT[name]) if name in ACTIVITY_RESULT else None

    async def _activity_failed(self, scheduled_event_id: int, outcome: str, failure: Failure) -> None:
        activity = self.activities[scheduled_event_id]
        activity.outcome = outcome
        activity.failure = await self._failure(failure)

    # -- second pass: the entries, in the history's order ----------------------------------

    async def read(self, history: WorkflowHistory) -> Timeline:
        entries: list[TimelineEntry] = []
        steps: list[StepInHistory] = []
        emails: list[EmailInHistory] = []
        bookings: list[BookingInHistory] = []
        started = history.events[0].workflow_execution_started_event_attributes
        final_status: RequestStatus | None = None
        closed = False

        for event in history.events:
            at = event.event_time.ToDatetime(tzinfo=UTC)

            def add(kind: EntryKind, text: str, actor: str | None = None) -> None:
                entries.append(TimelineEntry(event_id=event.event_id, at=at, kind=kind, actor=actor, text=text))

            match event.event_type:
                case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
                    attributes = event.workflow_execution_started_event_attributes
                    self.request = await self._decode(attributes.input, RequestInHistory)
                    self.submitted_at = at
                    add(EntryKind.SUBMITTED, _describe_request(self.request), actor="applicant")

                case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                    activity = self.activities[event.event_id]
                    if activity.name == RECORD_TRANSITION:
                        entry: TransitionEntry = activity.input
                        key = activity.result.message_key if activity.outcome == "completed" else None
                        steps.append(
                            StepInHistory(
                                event_id=event.event_id,
                                transition=entry.transition,
                                email=entry.email,
                                recorded=activity.outcome == "completed",
                                message_key=key,
                                appointment=entry.appointment,
                            )
                        )
                        if key is not None and entry.email is not None:
                            self.emails_of_keys[key] = entry.email
                        self._follow_window(entry)
                        add(EntryKind.STEP, self._describe_step(entry, activity), actor=entry.transition.actor)
                    elif activity.name == SEND_EMAIL:
                        key = activity.input
                        outcome = activity.result if activity.outcome == "completed" else None
                        emails.append(EmailInHistory(event_id=event.event_id, message_key=key, outcome=outcome))
                        add(EntryKind.EMAIL, self._describe_email(key, activity))
                    elif activity.name in SCREENING_ACTIVITIES:
                        add(EntryKind.SCREENING, self._describe_screening(activity))
                    elif activity.name in BOOKING_ACTIVITIES:
                        bookings.append(_booking_in_history(event.event_id, activity))
                        add(EntryKind.BOOKING, self._describe_booking(activity))
                    else:
                        add(EntryKind.PROBLEM, f"unknown activity {activity.name}: {_outcome(activity)}")

                case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                    attributes = event.workflow_execution_update_accepted_event_attributes
                    request = attributes.accepted_request
                    actor, text = await self._describe_action(request.input.name, request.input.args)
                    outcome = self.update_outcomes.get(request.meta.update_id, "(no result yet)")
                    add(EntryKind.UPDATE, f"{text} {outcome}", actor=actor)

                case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
                    attributes = event.workflow_execution_signaled_event_attributes
                    actor, text = await self._describe_action(attributes.signal_name, attributes.input)
                    add(EntryKind.SIGNAL, text, actor=actor)

                case EventType.EVENT_TYPE_TIMER_STARTED:
                    attributes = event.timer_started_event_attributes
                    summary = await self._summary(event)
                    due = at + attributes.start_to_fire_timeout.ToTimedelta()
                    what, meaning = self._describe_timer(summary, due)
                    self.timers[attributes.timer_id] = what
                    add(EntryKind.TIMER_STARTED, f"{what}: {meaning}" if meaning else what)

                case EventType.EVENT_TYPE_TIMER_FIRED:
                    add(EntryKind.TIMER_FIRED, self.timers.get(event.timer_fired_event_attributes.timer_id, "a timer"))

                case EventType.EVENT_TYPE_TIMER_CANCELED:
                    what = self.timers.get(event.timer_canceled_event_attributes.timer_id, "a timer")
                    add(EntryKind.TIMER_CANCELED, f"{what}: no longer waited for")

                case EventType.EVENT_TYPE_MARKER_RECORDED:
                    attributes = event.marker_recorded_event_attributes
                    if attributes.marker_name == PATCH_MARKER:
                        patch = await self._decode_one(attributes.details["patch-data"].payloads[0], dict)
                        add(EntryKind.CODE_CHANGE, f"workflow change {patch.get('id')!r} in effect from here")

                case EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                    attributes = event.workflow_task_failed_event_attributes
                    # e.g. a worker running code that does not fit the history (NON_DETERMINISTIC_ERROR)
                    cause = WorkflowTaskFailedCause.Name(attributes.cause).removeprefix("WORKFLOW_TASK_FAILED_CAUSE_")
                    add(EntryKind.PROBLEM, f"workflow task failed ({cause}): {await self._failure(attributes.failure)}")

                case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
                    closed = True
                    final_status = await self._decode(
                        event.workflow_execution_completed_event_attributes.result, RequestStatus
                    )
                    add(EntryKind.CLOSED, self._describe_final(final_status))

                case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
                    closed = True
                    failure = await self._failure(event.workflow_execution_failed_event_attributes.failure)
                    add(EntryKind.CLOSED, f"the workflow failed: {failure}")

                case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
                    closed = True
                    attributes = event.workflow_execution_terminated_event_attributes
                    add(EntryKind.CLOSED, f"terminated by {attributes.identity or 'an operator'}: {attributes.reason}")

                case (
                    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED
                    | EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT
                    | EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
                ):
                    closed = True
                    how = event_type_name(event).removeprefix("WORKFLOW_EXECUTION_").lower().replace("_", " ")
                    add(EntryKind.CLOSED, f"the workflow {how}")

        request = self.request
        assert request is not None, "a history starts with the workflow's start"
        return Timeline(
            workflow_id=history.workflow_id,
            run_id=history.run_id,
            request_id=started.first_execution_run_id or history.run_id,
            case_number=request.case_number,
            post=request.post,
            time_zone=self.facts.post.time_zone if self.facts else None,
            event_count=len(history.events),
            closed=closed,
            final_status=final_status,
            entries=entries,
            steps=steps,
            emails=emails,
            bookings=bookings,
        )

    # -- the words ------------------------------------------------------------------------

    def _describe_screening(self, activity: _Activity) -> str:
        facts: CaseFileFacts | ScreeningFacts | None = activity.result
        if facts is None:
            return f"screening facts: {_outcome(activity)}"
        windows = facts.post.windows
        others = ", ".join(facts.other_open_cases_of_petitioner) or "none"
        return (
            f"{_describe_case_file(facts) if isinstance(facts, CaseFileFacts) else 'facts'} "
            f"for {facts.post.name}: review window {windows.review_business_days} and answer window "
            f"{windows.answer_business_days} business days, reminders {windows.reminder_lead_business_days} "
            f"business days before their end, approval email {windows.approval_release_business_days} business "
            f"days after submission; calendar {facts.calendar.first_day} to {facts.calendar.last_day}; "
            f"the petitioner's other open cases: {others}"
        )

    def _describe_step(self, entry: TransitionEntry, activity: _Activity) -> str:
        step = entry.transition
        text = f"step {step.step}: {step.action} by {step.actor}, {_state(step.from_state)} -> {step.to_state.value}"
        if step.note:
            text += f', note "{step.note}"'
        if step.step == 1 and entry.rules:
            failed = [rule.rule for rule in entry.rules if not rule.passed]
            passed = f"; screening passed all {len(entry.rules)} rules"
            text += f"; screening failed {', '.join(failed)}" if failed else passed
        elif step.rule:
            text += f", rule {step.rule}"
        if entry.appointment is not None:
            text += f"; {APPOINTMENT_WORDS.get(step.action, 'appointment')} {self._appointment(entry.appointment)}"
        if entry.window_ends_at and step.to_state in WINDOW_STATES:
            text += f"; window ends {self._local(entry.window_ends_at)}"
        if activity.outcome != "completed":
            return f"{text}; not recorded: {_outcome(activity)}"
        if entry.email is not None:
            key = activity.result.message_key
            text += f"; queues the {entry.email.kind} email to the {entry.email.recipient} as {key}"
            if entry.email.not_before:
                text += f", not before {self._local(entry.email.not_before)}"
        return text

    def _describe_email(self, key: str, activity: _Activity) -> str:
        order = self.emails_of_keys.get(key)
        what = f"{order.kind} email to the {order.recipient} (template email/{order.kind})" if order else "email"
        outcome = activity.result.value if activity.outcome == "completed" else _outcome(activity)
        attempts = f", attempt {activity.attempt}" if activity.attempt > 1 else ""
        return f"{what} {key}: {outcome}{attempts}"

    def _describe_booking(self, activity: _Activity) -> str:
        """What the workflow asked of the appointment book, and what the book answered."""
        order: BookingOrder | CancellationOrder = activity.input
        if isinstance(order, CancellationOrder):
            if activity.outcome != "completed":
                return f"{CANCEL_BOOKING} of booking {order.booking_id}: {_outcome(activity)}"
            cancelled: Appointment = activity.result
            back = f"{self._appointment(cancelled)} back to the book"
            return f"{CANCEL_BOOKING}: booking {cancelled.booking_id} cancelled, {back}"
        gives_back = f", giving back booking {order.replacing}" if order.replacing is not None else ""
        if activity.outcome != "completed":
            asked = f"{self._slot_time(order.day, order.time)} ({_seats(order.seats)}){gives_back}"
            return f"{BOOK_SLOT} of {asked}: {_outcome(activity)}"
        outcome: BookingOutcome = activity.result
        if outcome.appointment is None:
            asked = f"{self._slot_time(order.day, order.time)} ({_seats(order.seats)})"
            kept = f"; booking {order.replacing} kept" if order.replacing is not None else ""
            return f"{BOOK_SLOT}: refused {asked}: {outcome.refusal}{kept}"
        booked = outcome.appointment
        return f"{BOOK_SLOT}: booked {self._appointment(booked)} as booking {booked.booking_id}{gives_back}"

    async def _describe_action(self, name: str, payloads: Payloads) -> tuple[str | None, str]:
        """Who acted and what they sent, for an Update or a Signal."""
        model = ACTIONS.get(name)
        if model is None:
            return None, f"{name} (unknown to this desk)"
        action = await self._decode(payloads, model)
        if isinstance(action, BookingChoice):
            return "applicant", f"{name} by applicant: {self._slot_time(action.day, action.time)}"
        if isinstance(action, Attendance):
            note = f', note "{action.note}"' if action.note else ""
            came = "attended" if action.attended else "missed"
            return action.officer_id, f"{name} by {action.officer_id}: {came}{note}"
        fields = action.model_dump(mode="json", exclude_none=True)
        actor = fields.pop("supervisor_id", None) or fields.pop("officer_id", None) or "applicant"
        said = ", ".join(
            f'{key} "{value}"' if isinstance(value, str) else f"{key} {value}" for key, value in fields.items()
        )
        return actor, f"{name} by {actor}" + (f": {said}" if said else "")

    def _describe_timer(self, summary: str | None, due: datetime) -> tuple[str, str]:
        """What a timer waits for, and its meaning in the post's business days."""
        if summary and (match := _WAIT_SUMMARY.match(summary)):
            due = datetime.fromisoformat(match["due"])
            window = next(
                (name for state, name in WINDOW_OF_STATE.items() if state.value == match["state"]),
                match["state"].lower(),
            )
            if match["what"] == "reminder":
                days = self._business_days(due, self.window.ends_at)
                meaning = f"{days} business days before the {window} window ends" if days is not None else ""
                return f"{window} window reminder due {self._local(due)}", meaning
            days = self._business_days(self.window.opened_at, due)
            meaning = ""
            if days is not None and self.window.opened_at:
                meaning = f"{days} business days after {self._local_day(self.window.opened_at)}"
                meaning += " (extended)" if self.window.extended else ""
                meaning += self._skipped(self.window.opened_at, due)
            return f"{window} window ends {self._local(due)}", meaning
        if summary and (match := _RELEASE_SUMMARY.match(summary)):
            due = datetime.fromisoformat(match["due"])
            days = self._business_days(self.submitted_at, due)
            meaning = ""
            if days is not None and self.submitted_at:
                meaning = f"opening time, {days} business days after submission on {self._local_day(self.submitted_at)}"
                meaning += self._skipped(self.submitted_at, due)
            return f"approval email release {self._local(due)}", meaning
        return f"{summary or 'timer'} due {self._local(due)}", ""

    def _follow_window(self, entry: TransitionEntry) -> None:
        step = entry.transition
        if step.to_state in WINDOW_STATES and step.from_state is not step.to_state:
            self.window = _Window(opened_at=step.at, ends_at=entry.window_ends_at)
        elif step.action == "extend_window":
            self.window.ends_at, self.window.extended = entry.window_ends_at, True

    # -- the post's calendar, as the history has it --------------------------------------

    @property
    def _calendar(self) -> PostCalendar | None:
        return self.facts.calendar if self.facts else None

    def _business_days(self, start: datetime | None, end: datetime | None) -> int | None:
        """Business days after the local date of `start`, up to and including `end`'s."""
        calendar = self._calendar
        if calendar is None or start is None or end is None:
            return None
        day, last, count = calendar.local_date(start), calendar.local_date(end), 0
        try:
            while day < last:
                day += timedelta(days=1)
                count += calendar.is_business_day(day)
        except OutsideCalendar:
            return None
        return count

    def _skipped(self, start: datetime, end: datetime) -> str:
        calendar = self._calendar
        assert calendar is not None
        skipped = calendar.skipped_between(calendar.local_date(start), calendar.local_date(end))
        if not skipped:
            return ""
        return "; skips " + ", ".join(f"{name} on {_day(day)}" for day, name in skipped.items())

    def _local(self, instant: datetime) -> str:
        calendar = self._calendar
        local = instant.astimezone(calendar.zone) if calendar else instant
        return f"{_day(local.date())} {local:%H:%M %Z}"

    def _slot_time(self, day: date, at: time) -> str:
        """A slot's day and time, the post's local ones: "Tue 24 Nov 2026 08:00 EAT"."""
        calendar = self._calendar
        zone = datetime.combine(day, at, tzinfo=calendar.zone).strftime(" %Z") if calendar else ""
        return f"{_day(day)} {at:%H:%M}{zone}"

    def _appointment(self, appointment: Appointment) -> str:
        return (
            f"{self._slot_time(appointment.day, appointment.time)} "
            f"(slot {appointment.slot_id}, {_seats(appointment.seats)})"
        )

    def _describe_final(self, status: RequestStatus) -> str:
        text = _describe_final(status)
        if status.appointment is not None:
            text += f", appointment {self._appointment(status.appointment)}"
        return text

    def _local_day(self, instant: datetime) -> str:
        calendar = self._calendar
        return _day(calendar.local_date(instant) if calendar else instant.date())

    # -- payloads, through the desk's converter (and its codec) ----------------------------

    async def _decode(self, payloads: Payloads, type_hint: type) -> Any:
        values = await self.converter.decode_wrapper(payloads, [type_hint])
        return values[0] if values else None

    async def _decode_one(self, payload: Payload, type_hint: type) -> Any:
        (value,) = await self.converter.decode([payload], [type_hint])
        return value

    async def _summary(self, event: HistoryEvent) -> str | None:
        if not event.HasField("user_metadata") or not event.user_metadata.HasField("summary"):
            return None
        return await self._decode_one(event.user_metadata.summary, str)

    async def _failure(self, failure: Failure) -> str:
        copy = Failure()
        copy.CopyFrom(failure)  # decoding rewrites the failure in place
        return str(await self.converter.decode_failure(copy))


def event_type_name(event: HistoryEvent) -> str:
    """TIMER_STARTED for EVENT_TYPE_TIMER_STARTED."""
    return EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")


def _describe_request(request: RequestInHistory) -> str:
    count = len(request.applicants)
    # Requests taken before the case file was read stated their class themselves.
    visa_class = f"{request.visa_class}, " if isinstance(request, SelfReportedRequest) else ""
    return (
        f"case {request.case_number} at {request.post}: {visa_class}{request.reason_category}, "
        f"{count} applicant{'s' if count != 1 else ''}"
    )


def _describe_case_file(facts: CaseFileFacts) -> str:
    """What screening read: the case's file as it was (not its names), and the bulletin."""
    case = facts.case
    if case is None:
        return "no case file"
    bulletin = f"Visa Bulletin of {facts.bulletin_month:%Y-%m}" if facts.bulletin_month else "no Visa Bulletin"
    if facts.final_action is not None:
        cut_off = facts.final_action.final_action_date or "current"
        bulletin += f" ({case.preference_category}, {facts.final_action.chargeability}: {cut_off})"
    interviewed = f"interviewed {case.interviewed_on}" if case.interviewed_on else "not interviewed"
    return (
        f"case file: {case.visa_class} (on the letter {case.visa_class_on_letter or case.visa_class}), priority date "
        f"{case.priority_date or 'none'}, appointment {case.original_appointment_at:%Y-%m-%d %H:%M}, {interviewed}, "
        f"last contact {case.last_contact_on}, {len(case.applicants)} on the letter; {bulletin};"
    )


def _describe_final(status: RequestStatus) -> str:
    text = f"final state {status.status.value}"
    if status.status is RequestState.APPROVED:
        text += ", approval email sent" if status.approval_email_sent else ", approval email not sent"
    if status.ignored_signals:
        text += f"; {len(status.ignored_signals)} signal(s) ignored: " + "; ".join(status.ignored_signals)
    return text


def _booking_in_history(event_id: int, activity: _Activity) -> BookingInHistory:
    order: BookingOrder | CancellationOrder = activity.input
    answered = activity.outcome == "completed"
    if isinstance(order, CancellationOrder):
        return BookingInHistory(
            event_id=event_id, activity=activity.name, answered=answered, gives_back=order.booking_id
        )
    outcome: BookingOutcome | None = activity.result if answered else None
    return BookingInHistory(
        event_id=event_id,
        activity=activity.name,
        answered=answered,
        booked=outcome.appointment if outcome else None,
        refusal=outcome.refusal if outcome else None,
        gives_back=order.replacing,
    )


def _seats(count: int) -> str:
    return f"{count} seat{'s' if count != 1 else ''}"


def _outcome(activity: _Activity) -> str:
    if activity.outcome is None:
        return "still running"
    return f"{activity.outcome}: {activity.failure}" if activity.failure else activity.outcome


def _state(state: RequestState | None) -> str:
    return state.value if state else "(none)"


def _day(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"
