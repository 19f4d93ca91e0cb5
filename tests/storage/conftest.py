"""Steps, cases and requests for the storage tests. The databases they run on
(`database_url`, `engine`, `sessions`: SQLite and PostgreSQL) and the case and request
factories come from tests/conftest.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from reschedule_desk.domain.case_file import CaseFile
from reschedule_desk.domain.lifecycle import RequestState, RuleOutcome, Transition
from reschedule_desk.domain.records import EmailKind, EmailOrder, TransitionEntry
from reschedule_desk.domain.request import RescheduleRequest
from reschedule_desk.domain.self_reported import RequestInHistory, SelfReportedRequest
from reschedule_desk.storage import case_file
from tests.conftest import CASE_PREFIX, make_case, new_case_number, reschedule_request

# When a step happens unless a test says otherwise (microseconds, to see they survive).
SUBMITTED_AT = datetime(2026, 3, 5, 6, 15, 30, 123456, tzinfo=UTC)

# The case's own clock: its missed appointment is then Monday 2 March 2026, 08:30.
REQUESTED_AT = datetime(2026, 3, 11, 9, 0)


def file_in(sessions: sessionmaker[Session], post: str, *cases: dict[str, Any]) -> None:
    """Import `cases` into the test's database, as `reschedule cases import` does."""
    with sessions.begin() as session:
        case_file.import_cases(session, [CaseFile.model_validate(case) for case in cases], post, SUBMITTED_AT)


@pytest.fixture
def nairobi_case() -> dict[str, Any]:
    """The case the tests' request is for, as Nairobi files it (not yet filed)."""
    return make_case(
        "nairobi",
        now=REQUESTED_AT,
        case_number="NRB2024000001",
        visa_class="IR1",
        priority_date="2024-03-02",
        last_contact_on="2026-02-20",  # as passed_screening says
        applicants=[
            {"full_name": "Wanjiru Kamau", "date_of_birth": "1990-05-14", "relationship": "principal",
             "marital_status": "married"},
        ],
    )


@pytest.fixture
def request_for_nairobi(sessions: sessionmaker[Session], nairobi_case: dict[str, Any]) -> RescheduleRequest:
    """The request the tests store, for nairobi_case, filed in the test's database: the
    case number and applicant they read back."""
    file_in(sessions, "nairobi", nairobi_case)
    return reschedule_request(now=REQUESTED_AT, case=nairobi_case)


def self_reported_request(
    post: str = "nairobi", now: datetime = REQUESTED_AT, **changes: Any
) -> SelfReportedRequest:
    """A request of the old shape, the applicant's own answers and all, as histories and
    rows written before screening read the case file hold it (self_reported.py)."""
    document: dict[str, Any] = {
        "case_number": new_case_number(CASE_PREFIX.get(post, "NRB")),
        "post": post,
        "reason_category": "missed_appointment",
        "reason": "My medicals were on hold on the day of my appointment.",
        "original_appointment_at": (now - timedelta(days=9)).replace(hour=8, minute=30).isoformat(),
        "visa_class": "IR1",
        "priority_date": "2024-03-02",
        "interviewed_already": False,
        "last_contact_on": (now.date() - timedelta(days=30)).isoformat(),
        "contact_email": "wanjiru.kamau@example.com",
        "petitioner": {"full_name": "David Otieno", "date_of_birth": "1985-04-12"},
        "applicants": [
            {"full_name": "Wanjiru Kamau", "date_of_birth": "1990-06-21", "relationship": "principal",
             "marital_status": "married"},
        ],
    }
    document.update(changes)
    return SelfReportedRequest.model_validate(document)


@pytest.fixture
def passed_screening() -> list[RuleOutcome]:
    return [
        RuleOutcome(rule="appointment_missed", passed=True, explanation="The appointment on 2 March 2026 has passed."),
        RuleOutcome(rule="visa_class_excluded", passed=True, explanation="IR1 may be rescheduled at Nairobi."),
        RuleOutcome(rule="contact_within_a_year", passed=True, explanation="Last contact on 20 February 2026."),
    ]


def step_entry(
    request_id: str,
    step: int,
    to_state: RequestState,
    *,
    from_state: RequestState | None = None,
    at: datetime = SUBMITTED_AT,
    request: RequestInHistory | None = None,
    actor: str = "system",
    action: str = "screen",
    note: str | None = None,
    rule: str | None = None,
    email: EmailKind | None = None,
    rules: list[RuleOutcome] | None = None,
    workflow_id: str | None = None,
    **deadlines: datetime | None,
) -> TransitionEntry:
    """One step as the workflow would send it."""
    return TransitionEntry(
        request_id=request_id,
        workflow_id=workflow_id or (request.workflow_id if request else "reschedule-NRB2024000001"),
        transition=Transition(
            step=step,
            at=at,
            from_state=from_state,
            to_state=to_state,
            actor=actor,
            action=action,
            note=note,
            rule=rule,
        ),
        request=request,
        rules=rules or [],
        email=EmailOrder(kind=email) if email else None,
        **deadlines,
    )


@pytest.fixture
def make_entry() -> Callable[..., TransitionEntry]:
    return step_entry
