"""Send one queued email from the outbox, exactly once.

The one moment that can send an email twice is after the mail server took it and before
the outbox says so: a database that cannot be written then, or a worker that dies then,
fails the attempt and its retry would send again. So the attempt tells Temporal first
(an activity heartbeat, which Temporal hands to the next attempt of the same activity),
and a retry that finds it only records what the earlier attempt did. What is left is the
few milliseconds between the server's "250" and that heartbeat leaving the worker; a
message sent again from there has the same Message-ID.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from reschedule_desk.applicant_secrets import ApplicantSecrets
from reschedule_desk.domain.records import SEND_EMAIL, DeliveryResult
from reschedule_desk.mail.delivery import MailTransport, PermanentRefusal, build_message
from reschedule_desk.storage import repository
from reschedule_desk.storage.tables import OutboxStatus

# The heartbeat detail that says the mail server has taken this message.
DELIVERED = "delivered"


def _delivered_by_an_earlier_attempt() -> bool:
    return activity.in_activity() and DELIVERED in activity.info().heartbeat_details


class EmailActivities:
    def __init__(
        self, sessions: sessionmaker[Session], transport: MailTransport, applicant_secrets: ApplicantSecrets
    ) -> None:
        self._sessions = sessions
        self._transport = transport
        self._applicant_secrets = applicant_secrets

    @activity.defn(name=SEND_EMAIL)
    def send_email(self, message_key: str) -> DeliveryResult:
        with self._sessions() as session:
            queued = repository.outbox_message(session, message_key)
            if queued.status is not OutboxStatus.QUEUED:
                return DeliveryResult.ALREADY_SENT if queued.status is OutboxStatus.SENT else DeliveryResult.REFUSED
            message = build_message(
                queued, applicant_secret=self._applicant_secrets.for_request(queued.request_id)
            )
        if not _delivered_by_an_earlier_attempt():
            try:
                self._transport.deliver(message_key, message)
            except PermanentRefusal as refusal:
                # Retrying a 5xx answer changes nothing: record it for the officers instead.
                with self._sessions.begin() as session:
                    repository.mark_refused(session, message_key, str(refusal), datetime.now(UTC))
                activity.logger.warning("Mail server refused message %s", message_key)
                return DeliveryResult.REFUSED
            except Exception as error:
                with self._sessions.begin() as session:
                    repository.note_attempt(session, message_key, type(error).__name__)
                raise
            if activity.in_activity():
                activity.heartbeat(DELIVERED)
        with self._sessions.begin() as session:
            repository.mark_sent(session, message_key, datetime.now(UTC))
        return DeliveryResult.SENT
