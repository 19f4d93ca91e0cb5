"""Steps and requests for the storage tests. The databases they run on (`database_url`,
`engine`, `sessions`: SQLite and PostgreSQL) and the request factory come from
tests/conftest.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from reschedule_desk.domain.lifecycle import RequestState, RuleOutcome, Transition
from reschedule_desk.domain.records import EmailKind, EmailOrder, TransitionEntry
from reschedule_desk.domain.request import RescheduleRequest
from tests.conftest import reschedule_request

# When a step happens unless a test says otherwise (microseconds, to see they survive).
SUBMITTED_AT = datetime(2026, 3, 5, 6, 15, 30, 123456, tzinfo=UTC)

# The request's own clock: its missed appointment is then Monday 2 March 2026, 08:30.
REQUESTED_AT = datetime(2026, 3, 11, 9, 0)


@pytest.fixture
def request_for_nairobi() -> RescheduleRequest:
    """The request the tests store, with the case number and applicant they read back."""
    return reschedule_request(
        now=REQUESTED_AT,
        case_number="NRB2024000001",
        last_contact_on=date(2026, 2, 20),  # as passed_screening says
        applicants=[
            {"full_name": "Wanjiru Kamau", "date_of_birth": date(1990, 5, 14), "relationship": "principal"},
        ],
    )


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
    request: RescheduleRequest | None = None,
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
