"""What the workflow hands to its activities and gets back: the payloads of history.

Kept pure so the workflow can build them inside the sandbox.
"""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from enum import StrEnum
from pydantic import BaseModel, ConfigDict, Field

from reschedule_desk.domain.appointments import Appointment
from reschedule_desk.domain.calendar import PostCalendar
from reschedule_desk.domain.case_file import BulletinRow, CaseFile
from reschedule_desk.domain.lifecycle import RuleOutcome, Transition
from reschedule_desk.domain.posts import Post
from reschedule_desk.domain.self_reported import RequestInHistory, ScreeningFacts, ScreeningQuery


class EmailKind(StrEnum):
    """One template each, under templates/email/."""

    ACKNOWLEDGEMENT = "acknowledgement"
    INELIGIBLE = "ineligible"
    INFO_REQUESTED = "info_requested"
    REMINDER = "reminder"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    BOOKING_REMINDER = "booking_reminder"  # the booking window ends soon
    BOOKED = "booked"  # the confirmation, with an .ics invitation; again after a reschedule
    BOOKING_CANCELLED = "booking_cancelled"
    MISSED = "missed"  # the applicant may submit a new request


class Recipient(StrEnum):
    APPLICANT = "applicant"
    UNIT = "unit"  # the post's IV unit mailbox: officers are reminded of their review window


class _Payload(BaseModel):
    # Error text reaches logs; these carry the request, so never the input.
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)


class CaseFileQuery(_Payload):
    """What screening looks up in the post's records, and no more of the request: history
    keeps one copy of the applicants' details, the workflow's input."""

    case_number: str
    post: str
    submitted_at: datetime


class CaseFileFacts(_Payload):
    """Everything screening decides on besides the request, as it was at submission: the
    history holds it, so a replay decides the same whatever the records say by then."""

    post: Post
    calendar: PostCalendar
    case: CaseFile | None = Field(description="The post's file of the case; None when it has no such case.")
    bulletin_month: date | None = Field(description="The Visa Bulletin in force on the day of submission.")
    final_action: BulletinRow | None = Field(
        description="That bulletin's final action date for the case's category and chargeability, "
        "None when it lists none."
    )
    other_open_cases_of_petitioner: list[str] = Field(default_factory=list)


class EmailOrder(_Payload):
    kind: EmailKind
    recipient: Recipient = Recipient.APPLICANT
    not_before: datetime | None = Field(
        default=None, description="The workflow sends it no earlier (approval release)."
    )


class TransitionEntry(_Payload):
    """One step to persist: the request's row, an audit row, and at most one email."""

    request_id: str
    workflow_id: str
    transition: Transition
    request: RequestInHistory | None = Field(
        default=None, description="Only with the first step, which creates the request's rows."
    )
    window_ends_at: datetime | None = None
    reminder_at: datetime | None = None
    approval_email_release_at: datetime | None = None
    assigned_to: str | None = None
    rules: list[RuleOutcome] = Field(default_factory=list, description="Screening outcomes, first step only.")
    email: EmailOrder | None = None
    appointment: Appointment | None = Field(
        default=None,
        description="The appointment the step is about: the one booked (or moved to), cancelled, attended or missed.",
    )


class BookingOrder(_Payload):
    """Book the request's applicants into the post's slot at `day` and `time`; with
    `replacing`, give that booking back in the same transaction (a reschedule)."""

    request_id: str
    case_number: str
    post: str
    day: dt.date
    time: dt.time
    seats: int
    at: datetime
    replacing: int | None = Field(default=None, description="The booking id a reschedule gives back.")


class BookingOutcome(_Payload):
    """What the appointment book decided: the appointment, or why not (nothing written)."""

    appointment: Appointment | None = None
    refusal: str | None = None


class CancellationOrder(_Payload):
    request_id: str
    booking_id: int
    at: datetime


class RecordedTransition(_Payload):
    message_key: str | None = Field(default=None, description="The outbox key of the queued email.")


class DeliveryResult(StrEnum):
    SENT = "sent"
    ALREADY_SENT = "already_sent"
    REFUSED = "refused"  # permanent refusal by the mail server: recorded, shown to officers


# Activity names: the workflow calls activities by name so that it never imports their
# side-effecting modules into the sandbox.
READ_CASE_FILE = "read_case_file"
GATHER_SCREENING_FACTS = "gather_screening_facts"  # requests submitted before READ_CASE_FILE
RECORD_TRANSITION = "record_transition"
SEND_EMAIL = "send_email"
BOOK_SLOT = "book_slot"
CANCEL_BOOKING = "cancel_booking"

# What each activity takes and returns, for the tools that read them back from a history:
# the audit timeline and the benchmark.
ACTIVITY_INPUT: dict[str, type] = {
    READ_CASE_FILE: CaseFileQuery,
    GATHER_SCREENING_FACTS: ScreeningQuery,
    RECORD_TRANSITION: TransitionEntry,
    SEND_EMAIL: str,
    BOOK_SLOT: BookingOrder,
    CANCEL_BOOKING: CancellationOrder,
}
ACTIVITY_RESULT: dict[str, type] = {
    READ_CASE_FILE: CaseFileFacts,
    GATHER_SCREENING_FACTS: ScreeningFacts,
    RECORD_TRANSITION: RecordedTransition,
    SEND_EMAIL: DeliveryResult,
    BOOK_SLOT: BookingOutcome,
    CANCEL_BOOKING: Appointment,
}
