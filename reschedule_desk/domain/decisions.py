"""What officers and applicants send to a running request.

Each action is one model; the workflow takes it as an Update (validated) or a Signal of
the same name. Unknown fields are refused so a typo in `officer_id` is an error, not an
anonymous decision.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator
from pydantic.json_schema import SkipJsonSchema

from reschedule_desk.domain.request import free_text

OfficerId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[\w.@-]+$")
]
Note = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), AfterValidator(free_text)
]


class _Action(BaseModel):
    # Error text reaches logs (a malformed Signal is logged and dropped): never the input.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class Approval(_Action):
    officer_id: OfficerId
    note: Note | None = None


class Denial(_Action):
    officer_id: OfficerId
    reason: Note


class InfoRequest(_Action):
    officer_id: OfficerId
    needed: Note


class InfoProvided(_Action):
    """The applicant's answer to an information request."""

    answer: Note


class Withdrawal(_Action):
    """The applicant no longer wants the reschedule."""

    reason: Note | None = None


class Claim(_Action):
    """An officer takes a request, so two officers do not work the same one."""

    officer_id: OfficerId


class Assignment(_Action):
    """A supervisor gives a request to an officer (the console checks the role)."""

    supervisor_id: OfficerId
    officer_id: OfficerId


class WindowExtension(_Action):
    """A supervisor moves the current window's end by some business days."""

    supervisor_id: OfficerId
    business_days: int = Field(ge=1, le=30)
    reason: Note


class BookingChoice(_Action):
    """The slot the applicant picks, for every applicant of the request at once: a day and
    a time of the post's appointment book, in the post's local time. `book` makes the
    first booking; `reschedule_booking` moves a held one there."""

    day: dt.date
    time: dt.time


class BookingCancellation(_Action):
    """The applicant gives the booked appointment back; the seats return to the book."""

    reason: Note | None = None


class Attendance(_Action):
    """An officer records, on or after the appointment's day, whether the applicants came."""

    officer_id: OfficerId
    attended: bool
    note: Note | None = None


# The names the workflow's Updates and Signals carry, and the model each one takes.
ACTIONS: dict[str, type[_Action]] = {
    "approve": Approval,
    "deny": Denial,
    "request_info": InfoRequest,
    "provide_info": InfoProvided,
    "withdraw": Withdrawal,
    "claim": Claim,
    "assign": Assignment,
    "extend_window": WindowExtension,
    "book": BookingChoice,
    "reschedule_booking": BookingChoice,
    "cancel_booking": BookingCancellation,
    "record_attendance": Attendance,
}


# -- what a staff caller of the API sends ---------------------------------------------------


class _StaffBody(BaseModel):
    """The body of a staff route. Who acts is the account of the caller's token, so a body
    naming an officer or a supervisor is refused, naming the field, rather than ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    officer_id: SkipJsonSchema[None] = None
    supervisor_id: SkipJsonSchema[None] = None

    @field_validator("officer_id", "supervisor_id", mode="before")
    @classmethod
    def _the_actor_is_the_token_holder(cls, value: object, info: ValidationInfo) -> None:
        raise ValueError(f"{info.field_name} is not accepted: the decision is recorded for the token's account")


class ApprovalBody(_StaffBody):
    note: Note | None = None

    def decision(self, actor: str) -> Approval:
        return Approval(officer_id=actor, note=self.note)


class DenialBody(_StaffBody):
    reason: Note = Field(description="The reason the applicant reads.")

    def decision(self, actor: str) -> Denial:
        return Denial(officer_id=actor, reason=self.reason)


class InfoRequestBody(_StaffBody):
    needed: Note = Field(description="What the applicant must send.")

    def decision(self, actor: str) -> InfoRequest:
        return InfoRequest(officer_id=actor, needed=self.needed)


class ClaimBody(_StaffBody):
    def decision(self, actor: str) -> Claim:
        return Claim(officer_id=actor)


class AssignmentBody(_StaffBody):
    assignee: OfficerId = Field(description="The officer of the request's post who works it from now on.")

    def decision(self, actor: str) -> Assignment:
        return Assignment(supervisor_id=actor, officer_id=self.assignee)


class WindowExtensionBody(_StaffBody):
    business_days: int = Field(ge=1, le=30)
    reason: Note

    def decision(self, actor: str) -> WindowExtension:
        return WindowExtension(supervisor_id=actor, business_days=self.business_days, reason=self.reason)


class AttendanceBody(_StaffBody):
    attended: bool = Field(description="true: the applicants came to the interview; false: they missed it.")
    note: Note | None = None

    def decision(self, actor: str) -> Attendance:
        return Attendance(officer_id=actor, attended=self.attended, note=self.note)
