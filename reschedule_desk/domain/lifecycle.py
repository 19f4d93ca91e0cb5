"""The request's states, which action is allowed in which, and the status callers see."""

from __future__ import annotations

from datetime import date, datetime
from datetime import time as time_of_day
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from reschedule_desk.domain.appointments import Appointment


class RequestState(StrEnum):
    SUBMITTED = "SUBMITTED"
    INELIGIBLE = "INELIGIBLE"
    PENDING_REVIEW = "PENDING_REVIEW"
    INFO_REQUESTED = "INFO_REQUESTED"
    APPROVED = "APPROVED"
    DENIED = "DENIED"
    EXPIRED = "EXPIRED"
    WITHDRAWN = "WITHDRAWN"
    # After the approval email: the applicant books the new appointment, then attends it.
    AWAITING_BOOKING = "AWAITING_BOOKING"
    BOOKED = "BOOKED"
    ATTENDED = "ATTENDED"
    MISSED = "MISSED"

    @property
    def is_open(self) -> bool:
        """Still before the post's decision (screening, review, an information request)."""
        return self in OPEN_STATES

    @property
    def is_booking(self) -> bool:
        """Approved and emailed: booking the appointment, or holding one until its day."""
        return self in BOOKING_STATES

    @property
    def is_final(self) -> bool:
        return not (self.is_open or self.is_booking or self is RequestState.APPROVED)


OPEN_STATES = frozenset(
    {RequestState.SUBMITTED, RequestState.PENDING_REVIEW, RequestState.INFO_REQUESTED}
)
BOOKING_STATES = frozenset({RequestState.AWAITING_BOOKING, RequestState.BOOKED})

# The states that wait on a window (and so can be claimed, assigned or extended).
WAITING_STATES = frozenset({RequestState.PENDING_REVIEW, RequestState.INFO_REQUESTED})

# action name -> (states it may be taken in, state it leads to; None: it stays)
ACTION_TRANSITIONS: dict[str, tuple[frozenset[RequestState], RequestState | None]] = {
    "approve": (frozenset({RequestState.PENDING_REVIEW}), RequestState.APPROVED),
    "deny": (frozenset({RequestState.PENDING_REVIEW}), RequestState.DENIED),
    "request_info": (frozenset({RequestState.PENDING_REVIEW}), RequestState.INFO_REQUESTED),
    "provide_info": (frozenset({RequestState.INFO_REQUESTED}), RequestState.PENDING_REVIEW),
    "withdraw": (OPEN_STATES, RequestState.WITHDRAWN),
    "claim": (WAITING_STATES, None),
    "assign": (WAITING_STATES, None),
    "extend_window": (WAITING_STATES, None),
    # The system opens the booking window once the approval email has gone out.
    "open_booking": (frozenset({RequestState.APPROVED}), RequestState.AWAITING_BOOKING),
    "book": (frozenset({RequestState.AWAITING_BOOKING}), RequestState.BOOKED),
    "reschedule_booking": (frozenset({RequestState.BOOKED}), None),
    "cancel_booking": (frozenset({RequestState.BOOKED}), RequestState.AWAITING_BOOKING),
    "record_attended": (frozenset({RequestState.BOOKED}), RequestState.ATTENDED),
    "record_missed": (frozenset({RequestState.BOOKED}), RequestState.MISSED),
}


class ActionNotAllowed(ValueError):
    """The action does not fit the request's current state."""


def next_state(current: RequestState, action: str) -> RequestState:
    """The state `action` leads to from `current`, or ActionNotAllowed saying why not."""
    allowed_in, target = ACTION_TRANSITIONS[action]
    if current not in allowed_in:
        # "already": the request is past every state the action belongs to.
        past_the_action = current.is_final or (not current.is_open and all(s.is_open for s in allowed_in))
        if past_the_action:
            raise ActionNotAllowed(f"cannot {action}: the request is already {current.value}")
        expected = " or ".join(sorted(s.value for s in allowed_in))
        raise ActionNotAllowed(f"cannot {action}: the request is {current.value}, not {expected}")
    return target or current


class RuleOutcome(BaseModel):
    """One eligibility rule as checked for this request."""

    model_config = ConfigDict(frozen=True)

    rule: str
    passed: bool
    explanation: str = Field(description="Applicant-facing: why it failed, or what was checked.")


class Transition(BaseModel):
    """One step of a request's history, as recorded in the audit trail."""

    model_config = ConfigDict(frozen=True)

    step: int
    at: datetime
    from_state: RequestState | None
    to_state: RequestState
    actor: str = Field(description='"system", an officer id, or "applicant".')
    action: str
    note: str | None = None
    rule: str | None = None


class RequestStatus(BaseModel):
    """What an API caller, the CLI and the `status` query see."""

    case_number: str
    post: str
    status: RequestState
    submitted_at: datetime
    window_ends_at: datetime | None = Field(
        default=None, description="When the current waiting window runs out and the request expires."
    )
    reminder_at: datetime | None = None
    approval_email_release_at: datetime | None = None
    approval_email_sent: bool = False
    assigned_to: str | None = Field(default=None, description="The officer working the request.")
    appointment: Appointment | None = Field(
        default=None, description="BOOKED: the appointment held; ATTENDED or MISSED: the one it was."
    )
    failed_rules: list[RuleOutcome] = Field(default_factory=list)
    history: list[Transition] = Field(default_factory=list)
    ignored_signals: list[str] = Field(
        default_factory=list, description="Signals that were not allowed, with the reason."
    )

    @property
    def is_open(self) -> bool:
        return self.status.is_open


class SubmittedRequest(RequestStatus):
    """The answer to a submission: the status, and the request's applicant secret."""

    applicant_secret: str = Field(
        description="The applicant's secret for this request, shown this once (the acknowledgement email carries it "
        "too). It reads the request's applicant status, answers an information request and withdraws."
    )


class OpenSlot(BaseModel):
    day: date = Field(description="The post's local date.")
    time: time_of_day = Field(description="The post's local time.")
    seats_left: int


class OpenSlots(BaseModel):
    """The appointments a request's applicants can still book, all of them together."""

    status: RequestState
    book_by: datetime | None = Field(default=None, description="AWAITING_BOOKING: the booking window's end.")
    slots: list[OpenSlot] = Field(default_factory=list)
    message: str | None = Field(default=None, description='When none is open: "Please check again in 72 hours."')


class ApplicantStep(BaseModel):
    """A change of the request's state, without who made it."""

    at: datetime
    status: RequestState


class ApplicantStatus(BaseModel):
    """A request as its applicant sees it: no officer's name, no assignment, no reminder
    to the unit, no window extension and its reason, no ignored signal."""

    case_number: str
    post: str
    status: RequestState
    submitted_at: datetime
    answer_due_at: datetime | None = Field(
        default=None, description="INFO_REQUESTED: the answer must arrive before this, or the request expires."
    )
    information_needed: str | None = Field(default=None, description="INFO_REQUESTED: what the post asks for.")
    denial_reason: str | None = Field(default=None, description="DENIED: the officer's reason, as emailed.")
    book_by: datetime | None = Field(
        default=None, description="AWAITING_BOOKING: book an appointment before this, or the approval expires."
    )
    appointment: Appointment | None = None
    failed_rules: list[RuleOutcome] = Field(default_factory=list)
    steps: list[ApplicantStep] = Field(default_factory=list)

    @classmethod
    def of(cls, status: RequestStatus) -> ApplicantStatus:
        def latest_note(action: str) -> str | None:
            return next((t.note for t in reversed(status.history) if t.action == action), None)

        return cls(
            case_number=status.case_number,
            post=status.post,
            status=status.status,
            submitted_at=status.submitted_at,
            answer_due_at=status.window_ends_at if status.status is RequestState.INFO_REQUESTED else None,
            information_needed=latest_note("request_info") if status.status is RequestState.INFO_REQUESTED else None,
            denial_reason=latest_note("deny") if status.status is RequestState.DENIED else None,
            book_by=status.window_ends_at if status.status is RequestState.AWAITING_BOOKING else None,
            appointment=status.appointment,
            failed_rules=status.failed_rules,
            steps=[ApplicantStep(at=t.at, status=t.to_state) for t in status.history if t.to_state != t.from_state],
        )
