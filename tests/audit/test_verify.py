"""`audit verify`: the app's audit rows and outbox, written as the recorded history's
activities wrote them, agree with the history; a row edited, deleted or added by hand is
found, with the history and, for the audit rows, without it. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import WorkflowHistory

from reschedule_desk.audit.replay import replay
from reschedule_desk.audit.timeline import read_timeline
from reschedule_desk.audit.verify import Finding, Verification, verify
from reschedule_desk.domain.records import EmailKind
from reschedule_desk.storage.tables import AuditEvent, OutboxMessage, OutboxStatus, RequestRow
from tests.audit.conftest import recorded, write_rows_of
from tests.audit.workflow_variants import SendsEachEmailBeforeTheNextStep
from tests.conftest import TEST_DATA_CONVERTER

# The approved path: step 1 screen (acknowledgement), step 2 approve (approval email).
APPROVED = "approved"


@pytest.fixture
async def approved_rows(sessions: sessionmaker[Session]) -> str:
    return await write_rows_of(sessions, recorded(APPROVED))


async def verified(sessions: sessionmaker[Session], request_id: str, *, with_history: bool = True) -> Verification:
    history = recorded(APPROVED)
    timeline = await read_timeline(history, TEST_DATA_CONVERTER) if with_history else None
    (outcome,) = await replay([history], TEST_DATA_CONVERTER) if with_history else (None,)
    with sessions() as session:
        request = session.get(RequestRow, request_id)
        return verify(session, request, timeline, outcome, "the recorded history" if with_history else None)


def problems(verification: Verification) -> list[tuple[str, str]]:
    return [(finding.subject, finding.problem) for finding in verification.findings]


def tamper(sessions: sessionmaker[Session], statement) -> None:
    with sessions.begin() as session:
        session.execute(statement)


def audit_row(request_id: str, step: int):
    return (AuditEvent.request_id == request_id) & (AuditEvent.step == step)


async def test_rows_written_as_the_history_says_are_verified(sessions, approved_rows) -> None:
    verification = await verified(sessions, approved_rows)
    assert verification.ok, verification.findings
    assert (verification.audit_rows, verification.outbox_rows) == (2, 2)


def test_each_audit_row_is_chained_to_the_one_before_as_it_is_written(sessions, approved_rows) -> None:
    with sessions() as session:
        first, second = session.scalars(select(AuditEvent).where(AuditEvent.request_id == approved_rows).order_by(AuditEvent.step))
    assert first.previous_hash is None and len(first.row_hash) == 64
    assert second.previous_hash == first.row_hash


async def test_a_request_still_running_is_not_blamed_for_the_step_being_recorded_now(sessions, approved_rows) -> None:
    history = recorded(APPROVED)
    # The approval's record_transition (event 27) has written its rows; its completion
    # is not in the history yet.
    running = WorkflowHistory(history.workflow_id, history.events[:29])
    timeline = await read_timeline(running, TEST_DATA_CONVERTER)
    with sessions() as session:
        verification = verify(session, session.get(RequestRow, approved_rows), timeline, None, "Temporal (live)")
    assert verification.ok, verification.findings


async def test_an_edited_audit_row_is_found_by_its_hash_and_against_the_history(sessions, approved_rows) -> None:
    tamper(sessions, update(AuditEvent).where(audit_row(approved_rows, 2)).values(note="Approved by phone"))
    assert problems(await verified(sessions, approved_rows)) == [
        ("audit step 2", "edited after it was recorded: its content no longer matches its hash"),
        ("audit step 2", 'note is "Approved by phone" here; the history says "Medical hold confirmed"'),
    ]


async def test_an_edit_is_found_even_when_the_history_is_gone(sessions, approved_rows) -> None:
    tamper(sessions, update(AuditEvent).where(audit_row(approved_rows, 2)).values(actor="officer.other"))
    verification = await verified(sessions, approved_rows, with_history=False)
    assert verification.history_source is None
    assert problems(verification) == [("audit step 2", "edited after it was recorded: its content no longer matches its hash")]


async def test_an_edit_that_reseals_its_row_still_breaks_the_link_of_the_next(sessions) -> None:
    request_id = await write_rows_of(sessions, recorded("info_requested_answered_approved"))
    tamper(sessions, update(AuditEvent).where(audit_row(request_id, 2)).values(row_hash="0" * 64))
    with sessions() as session:
        request = session.get(RequestRow, request_id)
        found = verify(session, request, None, None, None)
    assert [finding.subject for finding in found.findings] == ["audit step 2", "audit step 3"]
    assert "link to the step before is broken" in found.findings[1].problem


async def test_a_deleted_audit_row_is_found(sessions, approved_rows) -> None:
    tamper(sessions, delete(AuditEvent).where(audit_row(approved_rows, 2)))
    assert problems(await verified(sessions, approved_rows)) == [
        ("audit step 2", "missing: the request row's last step is 2"),
        ("audit step 2", "missing: the history recorded it"),
    ]
    without_history = await verified(sessions, approved_rows, with_history=False)
    assert problems(without_history) == [("audit step 2", "missing: the request row's last step is 2")]


async def test_an_audit_row_added_by_hand_is_found(sessions, approved_rows) -> None:
    with sessions.begin() as session:
        session.add(
            AuditEvent(
                request_id=approved_rows,
                workflow_id="reschedule-NRB4824500001",
                step=3,
                at=datetime(2026, 11, 30, 9, tzinfo=UTC),
                actor="officer.njeri",
                action="deny",
                to_state="DENIED",
            )
        )
    assert problems(await verified(sessions, approved_rows)) == [
        ("audit step 3", "not sealed: written before the hash chain, or its hash removed"),
        ("audit step 3", "not in the history: added by hand?"),
    ]


async def test_an_email_the_history_does_not_know_is_found(sessions, approved_rows) -> None:
    key = f"reschedule-NRB4824500001-{approved_rows}-002-denied"
    with sessions.begin() as session:
        session.add(
            OutboxMessage(
                message_key=key,
                request_id=approved_rows,
                step=3,
                kind=EmailKind.DENIED,
                recipient="wanjiru.kamau@example.com",
                subject="Your request was denied",
                text_body="...",
                status=OutboxStatus.SENT,
                attempts=1,
                created_at=datetime(2026, 11, 30, 9, tzinfo=UTC),
            )
        )
    assert problems(await verified(sessions, approved_rows)) == [(f"outbox {key}", "not in the history: added by hand?")]


async def test_an_email_the_history_sent_but_the_outbox_shows_unsent_is_found(sessions) -> None:
    request_id = await write_rows_of(sessions, recorded(APPROVED))
    tamper(sessions, update(OutboxMessage).where(OutboxMessage.request_id == request_id).values(status=OutboxStatus.QUEUED))
    found = problems(await verified(sessions, request_id))
    assert found == [
        (f"outbox reschedule-NRB4824500001-{request_id}-001-acknowledgement", "queued here; the history's send_email says sent"),
        (f"outbox reschedule-NRB4824500001-{request_id}-002-approved", "queued here; the history's send_email says sent"),
    ]


async def test_a_history_that_no_longer_replays_is_a_finding(sessions, approved_rows) -> None:
    history = recorded(APPROVED)
    (outcome,) = await replay([history], TEST_DATA_CONVERTER, [SendsEachEmailBeforeTheNextStep])
    with sessions() as session:
        verification = verify(
            session, session.get(RequestRow, approved_rows), await read_timeline(history, TEST_DATA_CONVERTER), outcome, "x"
        )
    assert verification.findings == [
        Finding(
            subject="history",
            problem=f"does not replay against today's workflow code: {outcome.error} (first diverging event 27, ACTIVITY_TASK_SCHEDULED)",
        )
    ]
