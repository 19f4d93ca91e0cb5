"""An email the mail server took is never sent again, even when the outbox cannot record
it (database unwritable, worker gone): the attempt tells Temporal first, and the retry
only records it."""

from __future__ import annotations

import dataclasses
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError
from temporalio.testing import ActivityEnvironment

from activities.delivery import DELIVERED, EmailActivities
from reschedule_desk.domain.lifecycle import RequestState
from reschedule_desk.domain.records import DeliveryResult, EmailKind
from reschedule_desk.storage import repository
from reschedule_desk.storage.database import make_engine, make_sessionmaker, migrate
from reschedule_desk.storage.repository import OutboxDraft
from reschedule_desk.storage.tables import OutboxStatus
from tests.conftest import TEST_APPLICANT_SECRETS, reschedule_request
from tests.storage.conftest import step_entry


class CountingTransport:
    def __init__(self) -> None:
        self.delivered: list[str] = []

    def deliver(self, message_key: str, message: EmailMessage) -> None:
        self.delivered.append(message_key)


@pytest.fixture
def queued(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'desk.sqlite3'}"
    migrate(url)
    sessions = make_sessionmaker(make_engine(url))
    request = reschedule_request()
    entry = step_entry("request-1", 1, RequestState.PENDING_REVIEW, request=request, email=EmailKind.ACKNOWLEDGEMENT)
    draft = OutboxDraft(
        kind=EmailKind.ACKNOWLEDGEMENT, recipient=request.contact_email, subject="Received", text_body="We have it."
    )
    with sessions.begin() as session:
        key = repository.record_transition(session, entry, draft)
    return sessions, key


def test_a_retry_after_the_server_took_the_email_records_it_without_sending_it_again(
    queued, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions, key = queued
    transport = CountingTransport()
    activities = EmailActivities(sessions, transport, TEST_APPLICANT_SECRETS)

    first = ActivityEnvironment()
    heartbeats: list[tuple] = []
    first.on_heartbeat = lambda *details: heartbeats.append(details)
    record = repository.mark_sent

    def database_unwritable(*args, **kwargs):
        raise OperationalError("UPDATE outbox_messages ...", {}, Exception("database is locked"))

    monkeypatch.setattr(repository, "mark_sent", database_unwritable)
    with pytest.raises(OperationalError):
        first.run(activities.send_email, key)
    assert transport.delivered == [key]
    assert heartbeats == [(DELIVERED,)], "Temporal was told before the outbox"

    monkeypatch.setattr(repository, "mark_sent", record)
    retry = ActivityEnvironment()
    retry.info = dataclasses.replace(retry.info, attempt=2, heartbeat_details=[DELIVERED])
    assert retry.run(activities.send_email, key) is DeliveryResult.SENT
    assert transport.delivered == [key], "not sent a second time"
    with sessions() as session:
        assert repository.outbox_message(session, key).status is OutboxStatus.SENT


def test_a_first_attempt_sends(queued) -> None:
    sessions, key = queued
    transport = CountingTransport()
    assert ActivityEnvironment().run(EmailActivities(sessions, transport, TEST_APPLICANT_SECRETS).send_email, key) is DeliveryResult.SENT
    assert transport.delivered == [key]
