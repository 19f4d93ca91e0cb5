"""A request's emails leave over real SMTP, exactly one per event, with the app's data in
PostgreSQL as in production; and a retried send never sends twice."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment

from activities.delivery import EmailActivities
from reschedule_desk.applicant_secrets import applicant_secrets
from reschedule_desk.domain.decisions import Approval, InfoProvided, InfoRequest
from reschedule_desk.domain.lifecycle import RequestState
from reschedule_desk.domain.records import DeliveryResult
from reschedule_desk.mail.delivery import transport_from_settings
from reschedule_desk.settings import Settings
from reschedule_desk.storage.database import make_engine, make_sessionmaker, migrate
from reschedule_desk.storage.tables import AuditEvent, OutboxMessage
from tests.conftest import running_worker
from tests.workflows.test_reschedule_request import approval_emailed, submitted_for_review
from workflows.reschedule_request import RescheduleRequestWorkflow


async def test_each_event_sends_exactly_one_email_over_smtp_with_postgresql_storage(
    time_skipping_env: WorkflowEnvironment, desk_settings: Settings, smtp_server, postgres_schema_url: str
) -> None:
    env = time_skipping_env
    settings = replace(desk_settings, database_url=postgres_schema_url, smtp_url=smtp_server.url)
    migrate(settings.database_url)
    async with running_worker(env.client, settings):
        handle, _ = await submitted_for_review(env, settings)
        await handle.execute_update(
            RescheduleRequestWorkflow.request_info, InfoRequest(officer_id="officer.kim", needed="A photo.")
        )
        await handle.execute_update(RescheduleRequestWorkflow.provide_info, InfoProvided(answer="Sent."))
        await handle.execute_update(RescheduleRequestWorkflow.approve, Approval(officer_id="officer.kim"))
        final = await approval_emailed(env, handle)

    assert final.status is RequestState.AWAITING_BOOKING
    subjects = [message["Subject"] for message in smtp_server.messages]
    assert len(subjects) == 3, subjects
    assert len({message["Message-ID"] for message in smtp_server.messages}) == 3
    assert not list(settings.mail_dir.glob("*.eml")), "with SMTP_URL set nothing goes to the file sink"

    sessions = make_sessionmaker(make_engine(settings.database_url))
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 5  # and the booking window opened
        statuses = session.scalars(select(OutboxMessage.status)).all()
        keys = session.scalars(select(OutboxMessage.message_key)).all()
    assert [str(status) for status in statuses] == ["sent"] * 3

    # A retry of a send that already succeeded (the worker died before Temporal heard back).
    delivery = EmailActivities(sessions, transport_from_settings(settings), applicant_secrets(settings))
    assert delivery.send_email(keys[0]) is DeliveryResult.ALREADY_SENT
    assert len(smtp_server.messages) == 3
