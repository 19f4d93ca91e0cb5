"""The recorded histories (tests/histories/), read as the auditors' tools read them, and the
app's rows as the workflow of such a history wrote them."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy.orm import Session, sessionmaker
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

from reschedule_desk.domain.records import RECORD_TRANSITION, SEND_EMAIL, DeliveryResult, TransitionEntry
from reschedule_desk.storage import repository
from reschedule_desk.storage.repository import OutboxDraft
from tests.conftest import HISTORIES_DIR, TEST_DATA_CONVERTER


def recorded(name: str) -> WorkflowHistory:
    """A lifecycle path's recorded history, by its file name."""
    path = HISTORIES_DIR / f"{name}.json"
    return WorkflowHistory.from_json(f"recorded-{name}", path.read_text(encoding="utf-8"))


async def write_rows_of(sessions: sessionmaker[Session], history: WorkflowHistory) -> str:
    """Write the app's rows as the history's activities did: every step the workflow
    handed to record_transition through the real repository, and every email its
    send_email delivered marked sent. Returns the request id."""
    converter = TEST_DATA_CONVERTER
    entries: dict[int, TransitionEntry] = {}
    keys: dict[int, str] = {}
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attributes = event.activity_task_scheduled_event_attributes
            if attributes.activity_type.name == RECORD_TRANSITION:
                (entries[event.event_id],) = await converter.decode_wrapper(attributes.input, [TransitionEntry])
            elif attributes.activity_type.name == SEND_EMAIL:
                (keys[event.event_id],) = await converter.decode_wrapper(attributes.input, [str])
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            attributes = event.activity_task_completed_event_attributes
            scheduled = attributes.scheduled_event_id
            with sessions.begin() as session:
                if scheduled in entries:
                    entry = entries[scheduled]
                    repository.record_transition(session, entry, _draft(entry))
                elif scheduled in keys:
                    (result,) = await converter.decode_wrapper(attributes.result, [DeliveryResult])
                    if result is DeliveryResult.SENT:
                        repository.mark_sent(session, keys[scheduled], event.event_time.ToDatetime(tzinfo=UTC))
    return next(iter(entries.values())).request_id


def _draft(entry: TransitionEntry) -> OutboxDraft | None:
    if entry.email is None:
        return None
    return OutboxDraft(
        kind=entry.email.kind,
        recipient="wanjiru.kamau@example.com",
        subject=f"Your reschedule request: {entry.email.kind}",
        text_body="...",
        not_before=entry.email.not_before,
    )
