"""Reading and writing the desk's rows: plain functions over a Session.

The caller owns the transaction (`with maker.begin() as session:`), so a step's request
row, audit row and email are committed together or not at all. Every write is keyed by
(request_id, step): an activity retried after a crash, a timeout or a lost reply finds
its step already recorded and writes nothing a second time.
"""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import UTC, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session

from reschedule_desk.domain.lifecycle import OPEN_STATES, RuleOutcome, Transition
from reschedule_desk.domain.records import EmailKind, TransitionEntry
from reschedule_desk.domain.case_file import CaseFile
from reschedule_desk.domain.request import RescheduleRequest
from reschedule_desk.domain.roster import match_roster
from reschedule_desk.domain.self_reported import Petitioner, RequestInHistory, SelfReportedRequest
from reschedule_desk.storage import audit_chain, case_file
from reschedule_desk.storage.tables import (
    ApplicantRow,
    AuditEvent,
    OutboxMessage,
    OutboxStatus,
    RequestRow,
    ScreeningOutcomeRow,
)


# A request as submitted: taken before screening read the case file, or since.
_submitted: TypeAdapter[RequestInHistory] = TypeAdapter(RequestInHistory)


class NotFound(LookupError):
    """No row with that request id or message key."""


class OutboxDraft(BaseModel):
    """A rendered email, ready to be queued with its step."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: EmailKind
    recipient: EmailStr  # the address: the applicant's contact email or the unit's mailbox
    subject: str
    text_body: str
    html_body: str | None = None
    invitation: str | None = None  # the appointment's .ics, attached to the email
    not_before: AwareDatetime | None = None


def message_key(entry: TransitionEntry, kind: EmailKind) -> str:
    """The email's idempotency key: the same step always yields the same key."""
    return f"{entry.workflow_id}-{entry.request_id}-{entry.transition.step:03d}-{kind}"


def petitioner_fingerprint(petitioner: Petitioner) -> str:
    """sha256 hex of the petitioner's normalised name and date of birth.

    "  Jane  ODHIAMBO" and "jane odhiambo" are the same petitioner; so are a name typed
    with a combining accent and one with the precomposed letter (NFC).
    """
    name = " ".join(unicodedata.normalize("NFC", petitioner.full_name).casefold().split())
    name = unicodedata.normalize("NFC", name)  # casefolding may decompose again
    born = petitioner.date_of_birth.isoformat() if petitioner.date_of_birth else ""
    return hashlib.sha256(f"{name}\n{born}".encode()).hexdigest()


def record_transition(session: Session, entry: TransitionEntry, message: OutboxDraft | None) -> str | None:
    """Persist one step: the request's rows (first step), its audit row and its email.

    Returns the email's outbox key, or None when the step sends none. When the step is
    already recorded, writes nothing and returns the key recorded then.
    """
    transition = entry.transition
    already = session.scalar(
        select(AuditEvent.id).where(AuditEvent.request_id == entry.request_id, AuditEvent.step == transition.step)
    )
    if already is not None:
        return session.scalar(
            select(OutboxMessage.message_key).where(
                OutboxMessage.request_id == entry.request_id, OutboxMessage.step == transition.step
            )
        )
    if message is not None and entry.email is not None and message.kind != entry.email.kind:
        raise ValueError(
            f"step {transition.step} orders a {entry.email.kind} email but the draft is a {message.kind} email"
        )

    request = session.get(RequestRow, entry.request_id)
    if request is None:
        if entry.request is None:
            raise NotFound(
                f"request {entry.request_id} has no row yet: its first step must carry the request"
            )
        if isinstance(entry.request, SelfReportedRequest):
            request = _self_reported_request_row(entry, entry.request)
        else:
            case = case_file.case_at_post(session, entry.request.case_number, entry.request.post)
            request = _new_request_row(entry, entry.request, case)
        session.add(request)
        # The audit and outbox rows have no ORM relationship to the request, so the
        # request must reach the database first for their foreign keys.
        session.flush()

    # A step reaching us after a later one must not roll the status back. Each step
    # carries the deadlines as they stand after it: None means no such deadline runs now.
    if transition.step >= request.last_step:
        request.status = transition.to_state
        request.window_ends_at = entry.window_ends_at
        request.reminder_at = entry.reminder_at
        request.approval_email_release_at = entry.approval_email_release_at
        request.assigned_officer = entry.assigned_to
        request.last_step = transition.step
        request.updated_at = transition.at

    audit_event = AuditEvent(
        request_id=entry.request_id,
        workflow_id=entry.workflow_id,
        step=transition.step,
        at=transition.at,
        actor=transition.actor,
        action=transition.action,
        from_state=transition.from_state,
        to_state=transition.to_state,
        note=transition.note,
        rule=transition.rule,
    )
    # The workflow records a request's steps one after another, so the step before this
    # one is already here to chain to.
    previous_hash = session.scalar(
        select(AuditEvent.row_hash)
        .where(AuditEvent.request_id == entry.request_id, AuditEvent.step < transition.step)
        .order_by(AuditEvent.step.desc())
        .limit(1)
    )
    audit_chain.seal(audit_event, previous_hash)
    session.add(audit_event)

    if message is None:
        session.flush()
        return None
    key = message_key(entry, message.kind)
    session.add(
        OutboxMessage(
            message_key=key,
            request_id=entry.request_id,
            step=transition.step,
            kind=message.kind,
            recipient=message.recipient,
            subject=message.subject,
            text_body=message.text_body,
            html_body=message.html_body,
            invitation=message.invitation,
            not_before=message.not_before,
            status=OutboxStatus.QUEUED,
            attempts=0,
            created_at=datetime.now(UTC),
        )
    )
    # Flush now so a constraint violation surfaces here, inside the caller's `with`.
    session.flush()
    return key


def _new_request_row(entry: TransitionEntry, request: RescheduleRequest, case: CaseFile | None) -> RequestRow:
    """The request's row, with the case file's facts beside the applicant's words: the
    console lists and the emails read them from here."""
    roster = match_roster(request.applicants, case.applicants) if case else [None] * len(request.applicants)
    return RequestRow(
        **_request_columns(entry, request),
        original_appointment_at=case.original_appointment_at if case else None,
        visa_class=case.visa_class if case else None,
        priority_date=case.priority_date if case else None,
        applicants=[
            ApplicantRow(
                position=position,
                full_name=applicant.full_name,
                date_of_birth=applicant.date_of_birth,
                relationship=on_letter.relationship if on_letter else None,
                marital_status=on_letter.marital_status if on_letter else None,
                on_appointment_letter=on_letter is not None,
                cspa_confirmed=on_letter is not None and on_letter.cspa_confirmed_on is not None,
            )
            for position, (applicant, on_letter) in enumerate(zip(request.applicants, roster))
        ],
    )


def _self_reported_request_row(entry: TransitionEntry, request: SelfReportedRequest) -> RequestRow:
    """A request taken before screening read the case file (self_reported.py)."""
    return RequestRow(
        **_request_columns(entry, request),
        original_appointment_at=request.original_appointment_at,
        visa_class=request.visa_class,
        priority_date=request.priority_date,
        petitioner_fingerprint=petitioner_fingerprint(request.petitioner),
        applicants=[
            ApplicantRow(
                position=position,
                full_name=applicant.full_name,
                date_of_birth=applicant.date_of_birth,
                relationship=applicant.relationship,
                marital_status=applicant.marital_status,
                on_appointment_letter=applicant.on_appointment_letter,
                cspa_confirmed=applicant.cspa_confirmed,
            )
            for position, applicant in enumerate(request.applicants)
        ],
    )


def _request_columns(entry: TransitionEntry, request: RequestInHistory) -> dict:
    return dict(
        request_id=entry.request_id,
        workflow_id=entry.workflow_id,
        case_number=request.case_number,
        post=request.post,
        status=entry.transition.to_state,
        reason_category=request.reason_category,
        reason=request.reason,
        contact_email=request.contact_email,
        # TransitionEntry carries no submission time of its own: the first step's is it.
        submitted_at=entry.transition.at,
        request_document=request.model_dump_json(),
        updated_at=entry.transition.at,
        last_step=entry.transition.step,
        screening_outcomes=[
            ScreeningOutcomeRow(
                position=position, rule=outcome.rule, passed=outcome.passed, explanation=outcome.explanation
            )
            for position, outcome in enumerate(entry.rules)
        ],
    )


def request_row(session: Session, request_id: str) -> RequestRow | None:
    return session.get(RequestRow, request_id)


def load_request(session: Session, request_id: str) -> RequestInHistory:
    """The request exactly as submitted."""
    row = session.get(RequestRow, request_id)
    if row is None:
        raise NotFound(f"no request {request_id}")
    return _submitted.validate_json(row.request_document)


def screening_outcomes(session: Session, request_id: str) -> list[RuleOutcome]:
    """The eligibility rules as screened at submission, in screening order."""
    rows = session.scalars(
        select(ScreeningOutcomeRow)
        .where(ScreeningOutcomeRow.request_id == request_id)
        .order_by(ScreeningOutcomeRow.position)
    )
    return [RuleOutcome(rule=row.rule, passed=row.passed, explanation=row.explanation) for row in rows]


def audit_trail(session: Session, request_id: str) -> list[Transition]:
    """The request's history, step by step."""
    rows = session.scalars(select(AuditEvent).where(AuditEvent.request_id == request_id).order_by(AuditEvent.step))
    return [
        Transition(
            step=row.step,
            at=row.at,
            from_state=row.from_state,
            to_state=row.to_state,
            actor=row.actor,
            action=row.action,
            note=row.note,
            rule=row.rule,
        )
        for row in rows
    ]


def open_cases_of_petitioner(session: Session, petitioner: Petitioner, excluding_case: str) -> list[str]:
    """Case numbers of the petitioner's other open requests (they reschedule together)."""
    rows = session.scalars(
        select(RequestRow.case_number)
        .where(
            RequestRow.petitioner_fingerprint == petitioner_fingerprint(petitioner),
            RequestRow.status.in_(OPEN_STATES),
            RequestRow.case_number != excluding_case.strip().upper(),
        )
        .distinct()
        .order_by(RequestRow.case_number)
    )
    return list(rows)


def outbox_message(session: Session, key: str) -> OutboxMessage:
    """The queued email; keys come from record_transition, so an unknown one is an error."""
    return _message(session, key)


def _message(session: Session, key: str, *, for_update: bool = False) -> OutboxMessage:
    # for_update locks the row on PostgreSQL, so two deliveries of one key update it in turn.
    message = session.get(OutboxMessage, key, with_for_update=for_update)
    if message is None:
        raise NotFound(f"no outbox message {key}")
    return message


def mark_sent(session: Session, key: str, at: datetime) -> OutboxMessage:
    """The mail server took the message. A message already sent or refused is left as is."""
    message = _message(session, key, for_update=True)
    if message.status is OutboxStatus.QUEUED:
        message.status = OutboxStatus.SENT
        message.sent_at = at
        message.attempts += 1
    return message


def mark_refused(session: Session, key: str, error: str, at: datetime) -> OutboxMessage:
    """The mail server refused the message for good: it is never tried again.

    `at` is kept in sent_at: when the delivery ended, either way.
    """
    message = _message(session, key, for_update=True)
    if message.status is OutboxStatus.QUEUED:
        message.status = OutboxStatus.REFUSED
        message.last_error = error
        message.sent_at = at
        message.attempts += 1
    return message


def refused_emails(session: Session, request_id: str | None = None) -> list[OutboxMessage]:
    """Emails the mail server refused for good (5xx), newest first, with its answer in
    last_error: officers see them, since the applicant never got them."""
    query = select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.REFUSED)
    if request_id is not None:
        query = query.where(OutboxMessage.request_id == request_id)
    return list(session.scalars(query.order_by(OutboxMessage.sent_at.desc(), OutboxMessage.message_key)))


def note_attempt(session: Session, key: str, error: str) -> OutboxMessage:
    """A delivery failed for now (the activity will retry): count it and keep the error."""
    message = _message(session, key, for_update=True)
    if message.status is OutboxStatus.QUEUED:
        message.attempts += 1
        message.last_error = error
    return message
