"""The request's states, which action is allowed in which, and the status callers see."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class RequestState(StrEnum):
    SUBMITTED = "SUBMITTED"
    INELIGIBLE = "INELIGIBLE"
    PENDING_REVIEW = "PENDING_REVIEW"
    INFO_REQUESTED = "INFO_REQUESTED"
    APPROVED = "APPROVED"
    DENIED = "DENIED"
    EXPIRED = "EXPIRED"
    WITHDRAWN = "WITHDRAWN"

    @property
    def is_open(self) -> bool:
        return self in OPEN_STATES


OPEN_STATES = frozenset(
    {RequestState.SUBMITTED, RequestState.PENDING_REVIEW, RequestState.INFO_REQUESTED}
)

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
}


class ActionNotAllowed(ValueError):
    """The action does not fit the request's current state."""


def next_state(current: RequestState, action: str) -> RequestState:
    """The state `action` leads to from `current`, or ActionNotAllowed saying why not."""
    allowed_in, target = ACTION_TRANSITIONS[action]
    if current not in allowed_in:
        if not current.is_open:
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
            failed_rules=status.failed_rules,
            steps=[ApplicantStep(at=t.at, status=t.to_state) for t in status.history if t.to_state != t.from_state],
        )
