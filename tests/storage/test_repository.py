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
from reschedule_desk.domain.request import RescheduleRequest
from reschedule_desk.domain.self_reported import Petitioner, SelfReportedRequest
from reschedule_desk.storage import case_file, repository
from reschedule_desk.storage.repository import NotFound, OutboxDraft
from reschedule_desk.storage.tables import (
    ApplicantRow,
    AuditEvent,
    OutboxMessage,
    OutboxStatus,
    RequestRow,
    ScreeningOutcomeRow,
)
from tests.conftest import make_case, reschedule_request
from tests.storage.conftest import REQUESTED_AT, SUBMITTED_AT, file_in, self_reported_request

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
        # The case file's facts, beside the applicant's words.
        assert row.original_appointment_at == datetime(2026, 3, 2, 8, 30)
        assert row.visa_class == "IR1"
        assert row.priority_date == date(2024, 3, 2)
        assert row.contact_email == "wanjiru.kamau@example.com"
        # The case file's petitioner_id finds the petitioner's other cases now, not a fingerprint.
        assert row.petitioner_fingerprint is None
        assert row.submitted_at == SUBMITTED_AT
        assert row.updated_at == SUBMITTED_AT
        assert row.window_ends_at == entry.window_ends_at
        assert row.reminder_at == entry.reminder_at
        assert row.approval_email_release_at == entry.approval_email_release_at
        assert row.last_step == 1

        [applicant] = row.applicants
        assert (applicant.position, applicant.full_name, applicant.relationship) == (0, "Wanjiru Kamau", "principal")
        assert applicant.marital_status == "married"
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
        "phnom-penh",
        case_number="php2024000002",
        reason_category="embassy_cancelled",
        reason="ស្ថានទូតបានលុបចោលការណាត់ជួបរបស់ខ្ញុំ។ The embassy cancelled my appointment.",
        applicants=[
            {"full_name": "សុខ ចាន់ធីតា", "date_of_birth": date(1992, 8, 9)},
            {"full_name": "Zoë Chéng Ngũgĩ", "date_of_birth": date(2010, 1, 31)},
            # Decomposed accents stay decomposed: the request comes back byte for byte.
            {"full_name": unicodedata.normalize("NFD", "Renée Dara"), "date_of_birth": date(1991, 2, 3)},
        ],
        contact_email="chanthida@example.com",
    )
    entry = make_entry("run-khmer", 1, RequestState.PENDING_REVIEW, request=cambodian,
                       workflow_id=cambodian.workflow_id)
    with sessions.begin() as session:
        repository.record_transition(session, entry, None)

    with sessions() as session:
        loaded = repository.load_request(session, "run-khmer")
        assert type(loaded) is RescheduleRequest
        assert loaded == cambodian
        assert loaded.model_dump_json() == cambodian.model_dump_json()
        assert [a.full_name for a in repository.request_row(session, "run-khmer").applicants] == [
            "សុខ ចាន់ធីតា", "Zoë Chéng Ngũgĩ", unicodedata.normalize("NFD", "Renée Dara")
        ]
        with pytest.raises(NotFound):
            repository.load_request(session, "no-such-run")
        assert repository.request_row(session, "no-such-run") is None


def test_load_request_rebuilds_an_old_shape_request_exactly(sessions, make_entry):
    """A request taken before screening read the case file comes back in its own shape,
    the applicant's answers and all: its history replays against it."""
    old = self_reported_request(
        "phnom-penh",
        case_number="php2024000005",
        reason_category="embassy_cancelled",
        reason="ស្ថានទូតបានលុបចោលការណាត់ជួបរបស់ខ្ញុំ។",
        original_appointment_at=datetime(2026, 2, 27, 7, 45, 10, 500),
        visa_class="f2a",
        priority_date=date(2023, 11, 1),
        applicants=[
            {"full_name": "សុខ ចាន់ធីតា", "date_of_birth": date(1992, 8, 9), "relationship": "principal",
             "marital_status": "married"},
            {"full_name": "Zoë Chéng Ngũgĩ", "date_of_birth": date(2010, 1, 31), "relationship": "child",
             "cspa_confirmed": True},
            {"full_name": unicodedata.normalize("NFD", "Renée Dara"), "date_of_birth": date(1991, 2, 3),
             "relationship": "spouse", "on_appointment_letter": False},
        ],
        contact_email="chanthida@example.com",
        petitioner={"full_name": "ហេង សុវណ្ណ", "date_of_birth": None},
    )
    entry = make_entry("run-old-khmer", 1, RequestState.PENDING_REVIEW, request=old, workflow_id=old.workflow_id)
    with sessions.begin() as session:
        repository.record_transition(session, entry, None)

    with sessions() as session:
        loaded = repository.load_request(session, "run-old-khmer")
        assert type(loaded) is SelfReportedRequest
        assert loaded == old
        assert loaded.model_dump_json() == old.model_dump_json()
        assert loaded.petitioner.full_name == "ហេង សុវណ្ណ"
        assert loaded.visa_class == "F2A"


def test_the_first_step_takes_the_case_files_facts_and_the_rosters_relationships(sessions, make_entry):
    case = make_case(
        "nairobi",
        now=REQUESTED_AT,
        case_number="NRB2024000004",
        visa_class="F2A",
        priority_date="2023-05-10",
        preference_category="F2A",
        original_appointment_at="2026-02-27T07:45:00",
        applicants=[
            {"full_name": "Wanjiru Kamau", "date_of_birth": "1990-06-21", "relationship": "principal",
             "marital_status": "married"},
            {"full_name": "Juma Otieno", "date_of_birth": "1988-01-01", "relationship": "spouse",
             "marital_status": "married"},
            {"full_name": "Amani Kamau", "date_of_birth": "2004-02-01", "relationship": "child",
             "marital_status": "single", "cspa_confirmed_on": "2026-01-15"},
            {"full_name": "Baraka Kamau", "date_of_birth": "2012-03-03", "relationship": "child",
             "marital_status": "single"},
        ],
    )
    file_in(sessions, "nairobi", case)
    request = reschedule_request(
        now=REQUESTED_AT,
        case=case,
        applicants=[
            {"full_name": "KAMAU Wanjíru", "date_of_birth": "1990-06-21"},  # as people write names
            {"full_name": "Amani Kamau", "date_of_birth": "2004-02-01"},
            {"full_name": "Juma Otieno", "date_of_birth": "1988-01-02"},  # not the spouse's date of birth
            {"full_name": "Neema Kamau", "date_of_birth": "2015-05-05"},  # not on the letter at all
        ],
    )
    entry = make_entry("run-roster", 1, RequestState.PENDING_REVIEW, request=request, workflow_id=request.workflow_id)
    with sessions.begin() as session:
        repository.record_transition(session, entry, None)

    with sessions() as session:
        row = repository.request_row(session, "run-roster")
        assert (row.visa_class, row.priority_date) == ("F2A", date(2023, 5, 10))
        assert row.original_appointment_at == datetime(2026, 2, 27, 7, 45)
        assert row.petitioner_fingerprint is None
        applicants = [
            (a.position, a.full_name, a.relationship, a.marital_status, a.on_appointment_letter, a.cspa_confirmed)
            for a in sorted(row.applicants, key=lambda a: a.position)
        ]
        assert applicants == [
            # The applicant's own spelling is kept; what the post vouches for is the roster's.
            (0, "KAMAU Wanjíru", "principal", "married", True, False),
            (1, "Amani Kamau", "child", "single", True, True),
            (2, "Juma Otieno", None, None, False, False),
            (3, "Neema Kamau", None, None, False, False),
        ]
        # The request itself is kept exactly as the applicant sent it.
        assert repository.load_request(session, "run-roster") == request


def test_without_the_posts_case_file_the_first_step_stores_none_of_its_facts(sessions, make_entry):
    never_filed = reschedule_request(now=REQUESTED_AT)
    # A case the other post holds is no case of this post's.
    elsewhere = make_case("nairobi", now=REQUESTED_AT)
    file_in(sessions, "phnom-penh", elsewhere)
    of_another_post = reschedule_request(now=REQUESTED_AT, case=elsewhere)
    for run_id, request in (("run-unknown", never_filed), ("run-elsewhere", of_another_post)):
        entry = make_entry(run_id, 1, RequestState.INELIGIBLE, request=request, workflow_id=request.workflow_id)
        with sessions.begin() as session:
            repository.record_transition(session, entry, None)

    with sessions() as session:
        for run_id in ("run-unknown", "run-elsewhere"):
            row = repository.request_row(session, run_id)
            assert (row.visa_class, row.priority_date, row.original_appointment_at) == (None, None, None), run_id
            assert row.petitioner_fingerprint is None
            [applicant] = row.applicants
            assert (applicant.full_name, applicant.date_of_birth) == ("Wanjiru Kamau", date(1990, 6, 21))
            assert (applicant.relationship, applicant.marital_status) == (None, None), run_id
            assert applicant.on_appointment_letter is False and applicant.cspa_confirmed is False


def test_an_old_shape_first_step_still_writes_the_old_row(sessions, make_entry):
    """A request whose history began before screening read the case file keeps the row it
    always had, from the applicant's answers, whatever the case file says by now."""
    old = self_reported_request(
        case_number="NRB2024000003",
        original_appointment_at="2026-02-27T07:45:00",
        visa_class="F2A",
        priority_date="2023-05-10",
        petitioner={"full_name": "David Otieno", "date_of_birth": "1985-01-02"},
        applicants=[
            {"full_name": "Wanjiru Kamau", "date_of_birth": "1990-06-21", "relationship": "principal",
             "marital_status": "married"},
            {"full_name": "Amani Kamau", "date_of_birth": "2004-02-01", "relationship": "child",
             "cspa_confirmed": True},
            {"full_name": "Juma Otieno", "date_of_birth": "1988-01-01", "relationship": "spouse",
             "marital_status": "married", "on_appointment_letter": False},
        ],
    )
    file_in(sessions, "nairobi", make_case(
        "nairobi", now=REQUESTED_AT, case_number="NRB2024000003", visa_class="IR1", priority_date=None,
        applicants=[{"full_name": "Wanjiru Kamau", "date_of_birth": "1990-06-21", "relationship": "principal",
                     "marital_status": "single"}],
    ))
    entry = make_entry("run-old", 1, RequestState.PENDING_REVIEW, request=old, workflow_id=old.workflow_id)
    with sessions.begin() as session:
        repository.record_transition(session, entry, None)

    with sessions() as session:
        row = repository.request_row(session, "run-old")
        assert (row.case_number, row.visa_class, row.priority_date) == ("NRB2024000003", "F2A", date(2023, 5, 10))
        assert row.original_appointment_at == datetime(2026, 2, 27, 7, 45)
        assert row.petitioner_fingerprint == repository.petitioner_fingerprint(old.petitioner)
        applicants = [
            (a.position, a.full_name, a.relationship, a.marital_status, a.on_appointment_letter, a.cspa_confirmed)
            for a in sorted(row.applicants, key=lambda a: a.position)
        ]
        assert applicants == [
            (0, "Wanjiru Kamau", "principal", "married", True, False),
            (1, "Amani Kamau", "child", "single", True, True),
            (2, "Juma Otieno", "spouse", "married", False, False),
        ]
        # The fingerprint still finds the petitioner's other old-shape requests.
        assert repository.open_cases_of_petitioner(
            session, Petitioner(full_name="david otieno", date_of_birth=date(1985, 1, 2)), excluding_case="NRB2024000009"
        ) == ["NRB2024000003"]


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
        # The post's local time, from its case file, stays naive.
        assert row.original_appointment_at == datetime(2026, 3, 2, 8, 30)
        assert row.original_appointment_at.tzinfo is None


def test_a_naive_instant_is_refused(sessions, make_entry, request_for_nairobi):
    entry = make_entry(RUN_ID, 1, RequestState.PENDING_REVIEW, at=datetime(2026, 3, 5, 9, 15),
                       request=request_for_nairobi)
    with pytest.raises(StatementError, match="has no time zone"):
        with sessions.begin() as session:
            repository.record_transition(session, entry, None)


def test_open_cases_of_petitioner_finds_only_their_other_open_requests(sessions, make_entry):
    """The old shape's lookup, by the fingerprint of the petitioner the applicant named:
    requests taken before screening read the case file are still screened by it."""
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
        request = self_reported_request(case_number=case_number, petitioner=who)
        entry = make_entry(run_id, 1, state, request=request, workflow_id=request.workflow_id)
        with sessions.begin() as session:
            repository.record_transition(session, entry, None)

    with sessions() as session:
        found = repository.open_cases_of_petitioner(session, Petitioner(**petitioner), excluding_case="nrb2024000001")
        assert found == ["NRB2024000002", "NRB2024000003"]
        assert repository.open_cases_of_petitioner(
            session, Petitioner(full_name="Nobody Known"), excluding_case="NRB2024000009"
        ) == []


def test_the_case_files_petitioner_finds_their_other_open_cases_only(sessions, make_entry):
    """Screening finds a petitioner's other cases through the case file's petitioner_id,
    never through a name the applicant typed."""
    petitioner, other_petitioner = "NRB-P-000417", "NRB-P-000418"
    cases = {
        # case number: petitioner_id, and the states of its requests (oldest first)
        "NRB2024000011": (petitioner, [RequestState.PENDING_REVIEW]),  # the one asking
        "NRB2024000012": (petitioner, [RequestState.DENIED, RequestState.INFO_REQUESTED]),  # closed, then open
        "NRB2024000013": (petitioner, [RequestState.SUBMITTED]),
        "NRB2024000014": (petitioner, [RequestState.DENIED]),  # closed
        "NRB2024000015": (petitioner, [RequestState.WITHDRAWN, RequestState.EXPIRED]),  # closed twice
        "NRB2024000016": (other_petitioner, [RequestState.PENDING_REVIEW]),  # another petitioner's
        "NRB2024000017": (petitioner, []),  # filed, never requested
    }
    file_in(sessions, "nairobi", *(
        make_case("nairobi", now=REQUESTED_AT, case_number=number, petitioner_id=petitioner_id)
        for number, (petitioner_id, _) in cases.items()
    ))
    for number, (_, states) in cases.items():
        for attempt, state in enumerate(states):
            request = reschedule_request(now=REQUESTED_AT, case_number=number)
            entry = make_entry(f"run-{number}-{attempt}", 1, state, request=request, workflow_id=request.workflow_id)
            with sessions.begin() as session:
                repository.record_transition(session, entry, None)

    def others_of(number: str) -> list[str]:
        with sessions() as session:
            return case_file.other_open_cases_of_petitioner(
                session, case_file.case_at_post(session, number, "nairobi"), "nairobi"
            )

    assert others_of("NRB2024000011") == ["NRB2024000012", "NRB2024000013"]
    # Asked for from one of the others, the asking case is among them.
    assert others_of("NRB2024000013") == ["NRB2024000011", "NRB2024000012"]
    assert others_of("NRB2024000016") == []


def test_another_posts_petitioner_of_the_same_id_is_another_person(sessions, make_entry):
    """A petitioner_id is the post's own identity: Phnom Penh's P-000417 is not Nairobi's."""
    file_in(sessions, "nairobi", make_case("nairobi", now=REQUESTED_AT, case_number="NRB2024000021", petitioner_id="P-000417"))
    file_in(sessions, "phnom-penh", make_case("phnom-penh", now=REQUESTED_AT, case_number="PHP2024000022", petitioner_id="P-000417"))
    request = reschedule_request("phnom-penh", now=REQUESTED_AT, case_number="PHP2024000022")
    entry = make_entry("run-PHP2024000022", 1, RequestState.PENDING_REVIEW, request=request, workflow_id=request.workflow_id)
    with sessions.begin() as session:
        repository.record_transition(session, entry, None)
    with sessions() as session:
        nairobi_case = case_file.case_at_post(session, "NRB2024000021", "nairobi")
        assert case_file.other_open_cases_of_petitioner(session, nairobi_case, "nairobi") == []


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
