"""The repository on SQLite and PostgreSQL: steps are written once, read back exactly."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import StatementError

from reschedule_desk.domain.lifecycle import RequestState
from reschedule_desk.domain.records import EmailKind
from reschedule_desk.domain.request import Petitioner
from reschedule_desk.storage import repository
from reschedule_desk.storage.repository import NotFound, OutboxDraft
from reschedule_desk.storage.tables import (
    ApplicantRow,
    AuditEvent,
    OutboxMessage,
    OutboxStatus,
    RequestRow,
    ScreeningOutcomeRow,
)
from tests.conftest import reschedule_request
from tests.storage.conftest import SUBMITTED_AT

RUN_ID = "0f8e6a52-3b1c-4f7e-9d2a-5c6b7a8e9f01"
WORKFLOW_ID = "reschedule-NRB2024000001"
NAIROBI = ZoneInfo("Africa/Nairobi")


def draft(kind: EmailKind = EmailKind.ACKNOWLEDGEMENT, **changes) -> OutboxDraft:
    fields = {
        "kind": kind,
        "recipient": "wanjiru.kamau@example.com",
        "subject": "We received your reschedule request",
        "text_body": "Dear Wanjiru Kamau, ...",
        "html_body": "<p>Dear Wanjiru Kamau, ...</p>",
    }
    fields.update(changes)
    return OutboxDraft(**fields)


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def submitted(sessions, make_entry, request_for_nairobi, passed_screening):
    """The request's first step is recorded: screened, now waiting for review."""
    entry = make_entry(
        RUN_ID,
        1,
        RequestState.PENDING_REVIEW,
        from_state=RequestState.SUBMITTED,
        request=request_for_nairobi,
        rules=passed_screening,
        email=EmailKind.ACKNOWLEDGEMENT,
        window_ends_at=SUBMITTED_AT + timedelta(days=14),
        reminder_at=SUBMITTED_AT + timedelta(days=10),
        approval_email_release_at=SUBMITTED_AT + timedelta(days=7),
    )
    with sessions.begin() as session:
        key = repository.record_transition(session, entry, draft())
    return entry, key


def test_first_step_creates_request_applicants_outcomes_audit_and_outbox(
    sessions, submitted, request_for_nairobi, passed_screening
):
    entry, key = submitted
    assert key == f"{WORKFLOW_ID}-{RUN_ID}-001-acknowledgement"

    with sessions() as session:
        row = repository.request_row(session, RUN_ID)
        assert row is not None
        assert (row.workflow_id, row.case_number, row.post) == (WORKFLOW_ID, "NRB2024000001", "nairobi")
        assert row.status is RequestState.PENDING_REVIEW
        assert row.reason_category == request_for_nairobi.reason_category
        assert row.original_appointment_at == datetime(2026, 3, 2, 8, 30)
        assert row.visa_class == "IR1"
        assert row.contact_email == "wanjiru.kamau@example.com"
        assert row.petitioner_fingerprint == repository.petitioner_fingerprint(request_for_nairobi.petitioner)
        assert row.submitted_at == SUBMITTED_AT
        assert row.updated_at == SUBMITTED_AT
        assert row.window_ends_at == entry.window_ends_at
        assert row.reminder_at == entry.reminder_at
        assert row.approval_email_release_at == entry.approval_email_release_at
        assert row.last_step == 1

        [applicant] = row.applicants
        assert (applicant.position, applicant.full_name, applicant.relationship) == (0, "Wanjiru Kamau", "principal")
        assert applicant.date_of_birth == date(1990, 5, 14)
        assert applicant.on_appointment_letter is True
        assert applicant.cspa_confirmed is False

        assert repository.screening_outcomes(session, RUN_ID) == passed_screening
        assert repository.audit_trail(session, RUN_ID) == [entry.transition]

        message = repository.outbox_message(session, key)
        assert (message.request_id, message.step, message.kind) == (RUN_ID, 1, EmailKind.ACKNOWLEDGEMENT)
        assert message.recipient == "wanjiru.kamau@example.com"
        assert message.subject == "We received your reschedule request"
        assert message.html_body == "<p>Dear Wanjiru Kamau, ...</p>"
        assert message.status is OutboxStatus.QUEUED
        assert message.attempts == 0
        assert message.sent_at is None
        assert message.created_at.tzinfo is not None


def test_a_retried_step_writes_nothing_twice_and_returns_the_same_key(
    sessions, submitted, make_entry, request_for_nairobi, passed_screening
):
    entry, key = submitted
    # The retry may even render a slightly different email: the first one stands.
    with sessions.begin() as session:
        again = repository.record_transition(session, entry, draft(subject="Something else"))
    assert again == key

    with sessions() as session:
        assert count(session, RequestRow) == 1
        assert count(session, ApplicantRow) == 1
        assert count(session, ScreeningOutcomeRow) == len(passed_screening)
        assert count(session, AuditEvent) == 1
        assert count(session, OutboxMessage) == 1
        assert repository.outbox_message(session, key).subject == "We received your reschedule request"


def test_a_retried_step_without_email_returns_none(sessions, submitted, make_entry):
    note = make_entry(
        RUN_ID, 2, RequestState.INFO_REQUESTED, from_state=RequestState.PENDING_REVIEW,
        at=SUBMITTED_AT + timedelta(days=1), actor="officer.njeri", action="request_info",
    )
    for _attempt in range(2):
        with sessions.begin() as session:
            assert repository.record_transition(session, note, None) is None
    with sessions() as session:
        assert count(session, AuditEvent) == 2
        assert count(session, OutboxMessage) == 1


def test_audit_rows_are_appended_one_per_step_in_order(sessions, submitted, make_entry):
    first, _ = submitted
    day = timedelta(days=1)
    later_steps = [
        make_entry(RUN_ID, 2, RequestState.INFO_REQUESTED, from_state=RequestState.PENDING_REVIEW,
                   at=SUBMITTED_AT + day, actor="officer.njeri", action="request_info",
                   note="Please send the medical clearance letter.", email=EmailKind.INFO_REQUESTED,
                   window_ends_at=SUBMITTED_AT + 15 * day),
        make_entry(RUN_ID, 3, RequestState.PENDING_REVIEW, from_state=RequestState.INFO_REQUESTED,
                   at=SUBMITTED_AT + 2 * day, actor="applicant", action="provide_info",
                   note="Attached.", window_ends_at=SUBMITTED_AT + 16 * day),
        make_entry(RUN_ID, 4, RequestState.DENIED, from_state=RequestState.PENDING_REVIEW,
                   at=SUBMITTED_AT + 3 * day, actor="officer.njeri", action="deny",
                   note="The case is not current.", rule="case_current", email=EmailKind.DENIED),
    ]
    keys = []
    for entry in later_steps:
        with sessions.begin() as session:
            email = draft(entry.email.kind) if entry.email else None
            keys.append(repository.record_transition(session, entry, email))
    assert keys == [
        f"{WORKFLOW_ID}-{RUN_ID}-002-info_requested",
        None,
        f"{WORKFLOW_ID}-{RUN_ID}-004-denied",
    ]

    # A late retry of an older step changes nothing, not even the request's status.
    with sessions.begin() as session:
        assert repository.record_transition(session, later_steps[0], draft(EmailKind.INFO_REQUESTED)) == keys[0]

    with sessions() as session:
        trail = repository.audit_trail(session, RUN_ID)
        assert trail == [first.transition] + [entry.transition for entry in later_steps]
        assert [t.step for t in trail] == [1, 2, 3, 4]
        assert trail[-1].rule == "case_current"
        row = repository.request_row(session, RUN_ID)
        assert row.status is RequestState.DENIED
        assert row.last_step == 4
        assert row.updated_at == SUBMITTED_AT + 3 * day
        assert row.window_ends_at is None  # no window once decided
        assert row.submitted_at == SUBMITTED_AT


def test_a_step_of_an_unknown_request_is_refused_and_writes_nothing(sessions, make_entry):
    stray = make_entry("no-such-run", 2, RequestState.APPROVED, from_state=RequestState.PENDING_REVIEW)
    with pytest.raises(NotFound, match="first step must carry the request"):
        with sessions.begin() as session:
            repository.record_transition(session, stray, None)
    with sessions() as session:
        assert count(session, AuditEvent) == 0


def test_an_email_that_is_not_the_one_ordered_is_refused(sessions, make_entry, request_for_nairobi):
    entry = make_entry(RUN_ID, 1, RequestState.PENDING_REVIEW, request=request_for_nairobi,
                       email=EmailKind.ACKNOWLEDGEMENT)
    with pytest.raises(ValueError, match="orders a acknowledgement email but the draft is a denied"):
        with sessions.begin() as session:
            repository.record_transition(session, entry, draft(EmailKind.DENIED))
    with sessions() as session:
        assert count(session, RequestRow) == 0


def test_load_request_rebuilds_the_request_exactly(sessions, make_entry):
    cambodian = reschedule_request(
        case_number="php2024000002",
        post="phnom-penh",
        reason_category="embassy_cancelled",
        reason="ស្ថានទូតបានលុបចោលការណាត់ជួបរបស់ខ្ញុំ។ The embassy cancelled my appointment.",
        original_appointment_at=datetime(2026, 2, 27, 7, 45, 10, 500),
        visa_class="f2a",
        priority_date=date(2023, 11, 1),
        applicants=[
            {"full_name": "សុខ ចាន់ធីតា", "date_of_birth": date(1992, 8, 9), "relationship": "principal",
             "marital_status": "married"},
            {"full_name": "Zoë Chéng Ngũgĩ", "date_of_birth": date(2010, 1, 31), "relationship": "child",
             "cspa_confirmed": True},
            # Decomposed accents stay decomposed: the request comes back byte for byte.
            {"full_name": unicodedata.normalize("NFD", "Renée Dara"), "date_of_birth": date(1991, 2, 3),
             "relationship": "spouse", "on_appointment_letter": False},
        ],
        contact_email="chanthida@example.com",
        petitioner={"full_name": "ហេង សុវណ្ណ", "date_of_birth": None},
    )
    entry = make_entry("run-khmer", 1, RequestState.PENDING_REVIEW, request=cambodian,
                       workflow_id=cambodian.workflow_id)
    with sessions.begin() as session:
        repository.record_transition(session, entry, None)

    with sessions() as session:
        loaded = repository.load_request(session, "run-khmer")
        assert loaded == cambodian
        assert loaded.model_dump_json() == cambodian.model_dump_json()
        assert [a.full_name for a in repository.request_row(session, "run-khmer").applicants] == [
            "សុខ ចាន់ធីតា", "Zoë Chéng Ngũgĩ", unicodedata.normalize("NFD", "Renée Dara")
        ]
        with pytest.raises(NotFound):
            repository.load_request(session, "no-such-run")
        assert repository.request_row(session, "no-such-run") is None


def test_aware_datetimes_come_back_aware_and_equal(sessions, make_entry, request_for_nairobi):
    at = datetime(2026, 3, 5, 9, 15, 30, 654321, tzinfo=NAIROBI)
    window = datetime(2026, 3, 19, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=7)))
    entry = make_entry(RUN_ID, 1, RequestState.PENDING_REVIEW, at=at, request=request_for_nairobi,
                       email=EmailKind.APPROVED, window_ends_at=window)
    not_before = datetime(2026, 3, 12, 8, 0, tzinfo=NAIROBI)
    with sessions.begin() as session:
        key = repository.record_transition(session, entry, draft(EmailKind.APPROVED, not_before=not_before))

    with sessions() as session:
        row = repository.request_row(session, RUN_ID)
        instants = {
            "submitted_at": (row.submitted_at, at),
            "window_ends_at": (row.window_ends_at, window),
            "not_before": (repository.outbox_message(session, key).not_before, not_before),
            "audit at": (repository.audit_trail(session, RUN_ID)[0].at, at),
        }
        for name, (stored, given) in instants.items():
            assert stored == given, name
            assert stored.utcoffset() == timedelta(0), name
        # The post's local time stays naive.
        assert row.original_appointment_at == request_for_nairobi.original_appointment_at
        assert row.original_appointment_at.tzinfo is None


def test_a_naive_instant_is_refused(sessions, make_entry, request_for_nairobi):
    entry = make_entry(RUN_ID, 1, RequestState.PENDING_REVIEW, at=datetime(2026, 3, 5, 9, 15),
                       request=request_for_nairobi)
    with pytest.raises(StatementError, match="has no time zone"):
        with sessions.begin() as session:
            repository.record_transition(session, entry, None)


def test_open_cases_of_petitioner_finds_only_their_other_open_requests(sessions, make_entry):
    petitioner = {"full_name": "David Otieno", "date_of_birth": date(1985, 1, 2)}
    cases = {
        # run id: (case number, petitioner, state)
        "run-1": ("NRB2024000001", petitioner, RequestState.PENDING_REVIEW),  # the one asking
        "run-2": ("NRB2024000002", {"full_name": "  DAVID   otieno ", "date_of_birth": date(1985, 1, 2)},
                  RequestState.INFO_REQUESTED),
        "run-3": ("NRB2024000003", petitioner, RequestState.SUBMITTED),
        "run-4": ("NRB2024000004", petitioner, RequestState.DENIED),  # closed
        "run-5": ("NRB2024000005", petitioner, RequestState.WITHDRAWN),  # closed
        "run-6": ("NRB2024000006", {"full_name": "David Otieno", "date_of_birth": date(1986, 1, 2)},
                  RequestState.PENDING_REVIEW),  # another David Otieno
        "run-7": ("NRB2024000007", {"full_name": "Grace Achieng", "date_of_birth": date(1985, 1, 2)},
                  RequestState.PENDING_REVIEW),
    }
    for run_id, (case_number, who, state) in cases.items():
        request = reschedule_request(case_number=case_number, petitioner=who)
        entry = make_entry(run_id, 1, state, request=request, workflow_id=request.workflow_id)
        with sessions.begin() as session:
            repository.record_transition(session, entry, None)

    with sessions() as session:
        found = repository.open_cases_of_petitioner(session, Petitioner(**petitioner), excluding_case="nrb2024000001")
        assert found == ["NRB2024000002", "NRB2024000003"]
        assert repository.open_cases_of_petitioner(
            session, Petitioner(full_name="Nobody Known"), excluding_case="NRB2024000009"
        ) == []


def test_petitioner_fingerprint_normalises_case_spaces_and_composition():
    born = date(1985, 1, 2)
    fingerprint = repository.petitioner_fingerprint(Petitioner(full_name="Renée Ngũgĩ", date_of_birth=born))
    assert len(fingerprint) == 64 and int(fingerprint, 16) >= 0
    same = [
        Petitioner(full_name="  RENÉE   ngũgĩ ", date_of_birth=born),
        Petitioner(full_name=unicodedata.normalize("NFD", "Renée Ngũgĩ"), date_of_birth=born),
    ]
    for petitioner in same:
        assert repository.petitioner_fingerprint(petitioner) == fingerprint
    different = [
        Petitioner(full_name="Renee Ngugi", date_of_birth=born),
        Petitioner(full_name="Renée Ngũgĩ", date_of_birth=date(1985, 1, 3)),
        Petitioner(full_name="Renée Ngũgĩ"),
    ]
    for petitioner in different:
        assert repository.petitioner_fingerprint(petitioner) != fingerprint


def test_mark_sent_once(sessions, submitted):
    _, key = submitted
    first_try = datetime(2026, 3, 5, 6, 16, tzinfo=UTC)
    with sessions.begin() as session:
        repository.note_attempt(session, key, "ConnectionRefusedError")
    with sessions.begin() as session:
        repository.mark_sent(session, key, first_try)
    # A retried activity marks it again: nothing moves.
    with sessions.begin() as session:
        repository.mark_sent(session, key, first_try + timedelta(minutes=5))
        repository.note_attempt(session, key, "late")

    with sessions() as session:
        message = repository.outbox_message(session, key)
        assert message.status is OutboxStatus.SENT
        assert message.sent_at == first_try
        assert message.attempts == 2
        assert message.last_error == "ConnectionRefusedError"


def test_mark_refused_is_final(sessions, submitted):
    _, key = submitted
    refused_at = datetime(2026, 3, 5, 6, 17, tzinfo=UTC)
    with sessions.begin() as session:
        repository.mark_refused(session, key, "550 5.1.1 mailbox unavailable", refused_at)
    with sessions.begin() as session:
        repository.mark_sent(session, key, refused_at + timedelta(minutes=1))

    with sessions() as session:
        message = repository.outbox_message(session, key)
        assert message.status is OutboxStatus.REFUSED
        assert message.last_error == "550 5.1.1 mailbox unavailable"
        assert message.sent_at == refused_at
        assert message.attempts == 1


def test_an_unknown_message_key_is_an_error(sessions):
    with sessions.begin() as session:
        with pytest.raises(NotFound):
            repository.outbox_message(session, "no-such-key")
        with pytest.raises(NotFound):
            repository.mark_sent(session, "no-such-key", SUBMITTED_AT)
