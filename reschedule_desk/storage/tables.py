"""The desk's tables as SQLAlchemy 2.0 typed declarative models.

Portable between SQLite (local runs) and PostgreSQL (production). Instants are stored
in UTC and come back timezone-aware on both; the one naive column is the original
appointment, which is the post's local time by definition.

The migration in migrations/versions/ must match these models exactly; a test checks it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from enum import Enum as PyEnum
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from reschedule_desk.domain.lifecycle import RequestState
from reschedule_desk.domain.records import EmailKind
from reschedule_desk.domain.roles import Role
from reschedule_desk.domain.request import MaritalStatus, ReasonCategory, Relationship

# Named constraints make migrations reproducible and let Alembic's batch mode
# (SQLite's way of altering tables) find them again.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """An instant: aware in, stored as UTC, aware (UTC) out, on SQLite and PostgreSQL.

    SQLite has no time zone type and drops the offset, so a naive value is refused
    here rather than stored as a guess.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{value!r} has no time zone: instants are stored in UTC, give an aware datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _enum(enum_class: type[PyEnum], length: int = 32) -> Enum:
    """A VARCHAR holding the enum's values (not names), with no database enum type or
    CHECK constraint: adding a state or an email kind needs no migration."""
    return Enum(
        enum_class,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    REFUSED = "refused"  # permanently refused by the mail server; never retried


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class RequestRow(Base):
    """One reschedule request: its current status and deadlines, and the request itself."""

    __tablename__ = "reschedule_requests"
    # The console's queue pages through a post's open requests in this order, most
    # urgent first (storage/queue.py); closed requests have no window.
    __table_args__ = (
        Index("ix_reschedule_requests_post_window_ends_at_request_id", "post", "window_ends_at", "request_id"),
    )

    # The workflow's first run id: a case may be requested again after a request ends.
    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(255))
    case_number: Mapped[str] = mapped_column(String(20), index=True)
    post: Mapped[str] = mapped_column(String(40), index=True)
    status: Mapped[RequestState] = mapped_column(_enum(RequestState), index=True)
    reason_category: Mapped[ReasonCategory] = mapped_column(_enum(ReasonCategory))
    reason: Mapped[str] = mapped_column(Text)
    # From the case file as the first step was recorded, moments after screening read it
    # (the history holds what screening decided on); none when the post had no file of it.
    original_appointment_at: Mapped[datetime | None] = mapped_column(DateTime())  # post's local time
    visa_class: Mapped[str | None] = mapped_column(String(8))
    priority_date: Mapped[date | None] = mapped_column(Date)
    contact_email: Mapped[str] = mapped_column(String(320))
    # Requests taken before screening read the case file only (self_reported.py): sha256
    # of the normalised petitioner the applicant named (repository.petitioner_fingerprint).
    # Since, the case file's petitioner_id finds a petitioner's other cases.
    petitioner_fingerprint: Mapped[str | None] = mapped_column(String(64), index=True)
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    window_ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reminder_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    approval_email_release_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The officer who claimed the request, or was given it by a supervisor.
    assigned_officer: Mapped[str | None] = mapped_column(String(64), index=True)
    # The whole RescheduleRequest as JSON: the columns above are for queries, this is
    # what rebuilds the request exactly.
    request_document: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_step: Mapped[int] = mapped_column(Integer)

    applicants: Mapped[list[ApplicantRow]] = relationship(
        order_by="ApplicantRow.position", cascade="all, delete-orphan"
    )
    screening_outcomes: Mapped[list[ScreeningOutcomeRow]] = relationship(
        order_by="ScreeningOutcomeRow.position", cascade="all, delete-orphan"
    )


class ApplicantRow(Base):
    """One person on the appointment, in the order the request lists them."""

    __tablename__ = "applicants"
    __table_args__ = (UniqueConstraint("request_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("reschedule_requests.request_id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    full_name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date] = mapped_column(Date)
    # As on the letter (Packet 4) when screening found the applicant there; none when not.
    relationship: Mapped[Relationship | None] = mapped_column(_enum(Relationship))
    marital_status: Mapped[MaritalStatus | None] = mapped_column(_enum(MaritalStatus))
    on_appointment_letter: Mapped[bool] = mapped_column(Boolean)
    cspa_confirmed: Mapped[bool] = mapped_column(Boolean)


class ScreeningOutcomeRow(Base):
    """One eligibility rule as screened at submission, in screening order."""

    __tablename__ = "screening_outcomes"

    request_id: Mapped[str] = mapped_column(
        ForeignKey("reschedule_requests.request_id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(64))
    passed: Mapped[bool] = mapped_column(Boolean)
    explanation: Mapped[str] = mapped_column(Text)


class AuditEvent(Base):
    """One step of a request's history. Rows are only ever added, one per step."""

    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("request_id", "step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("reschedule_requests.request_id"))
    workflow_id: Mapped[str] = mapped_column(String(255))
    step: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    from_state: Mapped[RequestState | None] = mapped_column(_enum(RequestState))
    to_state: Mapped[RequestState] = mapped_column(_enum(RequestState))
    note: Mapped[str | None] = mapped_column(Text)
    rule: Mapped[str | None] = mapped_column(String(64))
    # The hash chain (storage/audit_chain.py): each row seals its content and the row
    # before it, so an edit shows even when the workflow history is gone. Rows written
    # before migration 0003 have neither.
    previous_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(64))


class ArchivedHistory(Base):
    """A request's workflow history exactly as Temporal exported it (payloads still
    encoded), kept for auditors long after Temporal's retention has dropped it.

    Rows are only ever added: archiving a run again after it moved on adds a snapshot.
    """

    __tablename__ = "workflow_histories"
    __table_args__ = (UniqueConstraint("run_id", "content_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The workflow's first run id, as in reschedule_requests; no foreign key: a request
    # that failed before its first step has a history but no row.
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    case_number: Mapped[str] = mapped_column(String(20), index=True)
    workflow_id: Mapped[str] = mapped_column(String(255))
    run_id: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)  # the history's first event
    # The history ends with the workflow's close: nothing will be added to it.
    closed: Mapped[bool] = mapped_column(Boolean)
    event_count: Mapped[int] = mapped_column(Integer)
    history_json: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))  # sha256 hex of history_json (UTF-8)
    archived_at: Mapped[datetime] = mapped_column(UtcDateTime)


class OutboxMessage(Base):
    """An email queued in the same transaction as its step, delivered once by its key."""

    __tablename__ = "outbox_messages"
    # At most one email per step (TransitionEntry.email).
    __table_args__ = (UniqueConstraint("request_id", "step"),)

    message_key: Mapped[str] = mapped_column(String(400), primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("reschedule_requests.request_id"))
    step: Mapped[int] = mapped_column(Integer)
    kind: Mapped[EmailKind] = mapped_column(_enum(EmailKind))
    recipient: Mapped[str] = mapped_column(String(320))  # the email address
    subject: Mapped[str] = mapped_column(String(500))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    # The booked appointment's .ics (RFC 5545 text), attached as the email leaves.
    invitation: Mapped[str | None] = mapped_column(Text)
    not_before: Mapped[datetime | None] = mapped_column(UtcDateTime)
    status: Mapped[OutboxStatus] = mapped_column(_enum(OutboxStatus), index=True, default=OutboxStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # When delivery ended: accepted by the mail server (sent) or refused for good.
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Account(Base):
    """Someone who signs in to the console. `name` is the officer id their decisions carry."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(_enum(Role, length=16))
    # Argon2id, with its parameters and salt (argon2-cffi's encoded form).
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Lock-out: consecutive failed sign-ins, and until when the account refuses more.
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # In every session cookie; raising it ends the account's sessions (sign-out, disable).
    session_version: Mapped[int] = mapped_column(Integer, default=0)

    posts: Mapped[list[AccountPost]] = relationship(
        order_by="AccountPost.post", cascade="all, delete-orphan", lazy="selectin"
    )


class AccountPost(Base):
    """A post an officer or supervisor works at."""

    __tablename__ = "account_posts"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    post: Mapped[str] = mapped_column(String(40), primary_key=True)


class IntakeClient(Base):
    """A system that submits applicants' requests (the scheduling site). Revoking one keeps
    its row, so the name is not given to another system later."""

    __tablename__ = "intake_clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ApiToken(Base):
    """A bearer token of a staff account or of an intake client (exactly one of the two).

    The token reads `rdt.<token_id>.<secret>`: `token_id` finds the row, and only the
    secret's SHA-256 is kept. Revoking a token deletes its row."""

    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("account_id", "label"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    intake_client_id: Mapped[int | None] = mapped_column(
        ForeignKey("intake_clients.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    account: Mapped[Account | None] = relationship(lazy="joined")
    intake_client: Mapped[IntakeClient | None] = relationship(lazy="joined")


class CaseFileRow(Base):
    """A case as the post's own records hold it (imported from the post's export, see
    domain/case_file.py): what screening believes rather than the applicant's word."""

    __tablename__ = "case_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_number: Mapped[str] = mapped_column(String(20), unique=True)
    post: Mapped[str] = mapped_column(String(40), index=True)
    visa_class: Mapped[str] = mapped_column(String(8))
    visa_class_on_letter: Mapped[str | None] = mapped_column(String(8))  # only when the class was changed
    priority_date: Mapped[date | None] = mapped_column(Date)
    preference_category: Mapped[str] = mapped_column(String(8))
    chargeability: Mapped[str] = mapped_column(String(8))  # the country the visa is charged to
    # The post's own identity of the petitioner: finds a petitioner's other cases without
    # comparing names.
    petitioner_id: Mapped[str] = mapped_column(String(64), index=True)
    original_appointment_at: Mapped[datetime] = mapped_column(DateTime())  # post's local time
    interviewed_on: Mapped[date | None] = mapped_column(Date)
    last_contact_on: Mapped[date] = mapped_column(Date)  # the principal applicant's
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime)  # first imported
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)  # last changed by an import

    applicants: Mapped[list[RosterApplicantRow]] = relationship(
        order_by="RosterApplicantRow.position", cascade="all, delete-orphan"
    )


class RosterApplicantRow(Base):
    """One applicant named on the case's appointment letter (Packet 4)."""

    __tablename__ = "case_file_applicants"
    __table_args__ = (UniqueConstraint("case_file_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_file_id: Mapped[int] = mapped_column(ForeignKey("case_files.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    full_name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date] = mapped_column(Date)
    relationship: Mapped[Relationship] = mapped_column(_enum(Relationship))
    marital_status: Mapped[MaritalStatus] = mapped_column(_enum(MaritalStatus))
    # When the post confirmed Child Status Protection Act eligibility; None: it has not.
    cspa_confirmed_on: Mapped[date | None] = mapped_column(Date)


class VisaBulletinRow(Base):
    """One final action date of a month's Visa Bulletin; NULL means the category is current."""

    __tablename__ = "visa_bulletin"

    month: Mapped[date] = mapped_column(Date, primary_key=True)  # the 1st of the bulletin's month
    category: Mapped[str] = mapped_column(String(8), primary_key=True)
    chargeability: Mapped[str] = mapped_column(String(8), primary_key=True)  # a country, or ALL
    final_action_date: Mapped[date | None] = mapped_column(Date)


class CaseFileChangeKind(StrEnum):
    CSPA_CONFIRMATION = "cspa_confirmation"  # of one child on the roster
    CONTACT = "contact"  # the case's last contact with the post


class CaseFileChange(Base):
    """One change an officer made to a case file in the console, with who and when.
    Rows are only ever added. An import from the post's export overwrites the values
    themselves (the export is the post's system of record) and writes no row here."""

    __tablename__ = "case_file_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # No cascade: a case file with a history of changes is not deleted by accident.
    case_file_id: Mapped[int] = mapped_column(ForeignKey("case_files.id"), index=True)
    kind: Mapped[CaseFileChangeKind] = mapped_column(_enum(CaseFileChangeKind))
    # The roster position of the applicant changed, for a CSPA confirmation; the name
    # stays in the roster only.
    position: Mapped[int | None] = mapped_column(Integer)
    # ISO dates as text (None: nothing was on file), so any later kind of change fits.
    value_before: Mapped[str | None] = mapped_column(String(64))
    value_after: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(64))  # the signed-in account's name
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    note: Mapped[str | None] = mapped_column(Text)


class InterviewSlot(Base):
    """An interview slot of the post's appointment book: a day and a time of the post's
    own clock, for `capacity` applicants, published by a supervisor.

    `seats_booked` is the sum of the seats of the slot's held bookings, kept in the row so
    that one conditional UPDATE can book (storage/appointment_book.py): the database, not
    a reader, decides that a slot is full. A closed slot takes no new bookings; those it
    holds stay.
    """

    __tablename__ = "interview_slots"
    __table_args__ = (
        UniqueConstraint("post", "day", "time"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
        # The last line of defence against overselling: a write past capacity fails.
        CheckConstraint("seats_booked >= 0 AND seats_booked <= capacity", name="seats_within_capacity"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post: Mapped[str] = mapped_column(String(40))  # the unique (post, day, time) serves a post's queries
    day: Mapped[date] = mapped_column(Date)  # the post's local day
    time: Mapped[time] = mapped_column(Time())  # the post's local time
    capacity: Mapped[int] = mapped_column(Integer)  # in applicants
    seats_booked: Mapped[int] = mapped_column(Integer, default=0)
    published_at: Mapped[datetime] = mapped_column(UtcDateTime)
    published_by: Mapped[str] = mapped_column(String(64))  # the supervisor's account name
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(64))

    @property
    def appointment_at(self) -> datetime:
        """The appointment as domain/appointments.py takes it: naive, the post's local time."""
        return datetime.combine(self.day, self.time)

    @property
    def seats_left(self) -> int:
        return self.capacity - self.seats_booked


class SlotBooking(Base):
    """A request's booking of seats in an interview slot, one seat per applicant of the
    request. Held while `cancelled_at` is null; a cancelled booking keeps its row."""

    __tablename__ = "slot_bookings"
    __table_args__ = (
        CheckConstraint("seats > 0", name="seats_positive"),
        # A request holds one booking at a time, whatever the code above the database does.
        Index(
            "uq_slot_bookings_request_id_held",
            "request_id",
            unique=True,
            sqlite_where=text("cancelled_at IS NULL"),
            postgresql_where=text("cancelled_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # No cascade: a slot with bookings, held or cancelled, is not deleted by accident.
    slot_id: Mapped[int] = mapped_column(ForeignKey("interview_slots.id"), index=True)
    # The workflow's first run id, as in reschedule_requests.
    request_id: Mapped[str] = mapped_column(ForeignKey("reschedule_requests.request_id"), index=True)
    case_number: Mapped[str] = mapped_column(String(20))
    seats: Mapped[int] = mapped_column(Integer)  # the request's applicants
    booked_at: Mapped[datetime] = mapped_column(UtcDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    slot: Mapped[InterviewSlot] = relationship(lazy="joined")
