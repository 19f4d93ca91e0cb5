"""Workflow histories from Temporal into the desk's archive.

Temporal drops a closed history after its retention period (a day on the dev server), so
the desk copies each one into its own database once the workflow has closed: a workflow
cannot export its own history (it is complete only after the workflow's last task), so
an archiver outside it asks Temporal, every minute, for the desk's closed workflows and
archives those the archive does not hold closed yet. `reschedule audit backfill` runs
one such round by hand; `reschedule audit archive CASE` archives a request on demand,
open or closed. Several archivers side by side (one per worker) archive each history once.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.service import RPCError, RPCStatusCode

from reschedule_desk.domain.self_reported import RequestInHistory
from reschedule_desk.storage import archive
from reschedule_desk.storage.tables import ArchivedHistory

WORKFLOW_TYPE = "RescheduleRequest"  # @workflow.defn(name=...) in workflows/reschedule_request.py

# How often the worker's archiver looks for newly closed workflows.
ARCHIVE_EVERY = timedelta(minutes=1)
# After its first round, the archiver asks only for workflows closed since its previous
# round began, less this margin for visibility lag and clock skew between machines; what
# the margin lists twice is already archived and skipped.
ARCHIVE_OVERLAP = timedelta(minutes=10)

CLOSING_EVENTS = frozenset(
    {
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
    }
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RequestHistory:
    """A request's history and where it was read: the archive, or Temporal itself."""

    history: WorkflowHistory
    history_json: str  # as archived, or as Temporal exports it now
    content_hash: str
    source: str

    @classmethod
    def from_archive(cls, kept: ArchivedHistory) -> RequestHistory:
        return cls(
            history=WorkflowHistory.from_json(kept.workflow_id, kept.history_json),
            history_json=kept.history_json,
            content_hash=kept.content_hash,
            source=f"the desk's archive, kept {kept.archived_at:%Y-%m-%d %H:%M} UTC"
            + ("" if kept.closed else " while the workflow was still open"),
        )

    @classmethod
    def from_temporal(cls, history: WorkflowHistory) -> RequestHistory:
        history_json = history.to_json()
        return cls(history, history_json, archive.content_hash(history_json), source="Temporal (live)")

    @classmethod
    def from_file(cls, path: Path) -> RequestHistory:
        """A history saved as JSON: an export bundle's history.json, or one from Temporal's UI."""
        text = path.read_text(encoding="utf-8")
        return cls(WorkflowHistory.from_json(path.stem, text), text, archive.content_hash(text), source=f"the file {path}")


def is_closed(history: WorkflowHistory) -> bool:
    return bool(history.events) and history.events[-1].event_type in CLOSING_EVENTS


async def fetch_live(client: Client, workflow_id: str, run_id: str | None = None) -> WorkflowHistory | None:
    """The run's history (the latest run without a run id), or None when Temporal no
    longer has it."""
    try:
        return await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            return None
        raise


async def keep(sessions: sessionmaker[Session], history: WorkflowHistory, converter: DataConverter) -> ArchivedHistory:
    """Archive the history as Temporal exports it."""
    started = history.events[0].workflow_execution_started_event_attributes
    (request,) = await converter.decode_wrapper(started.input, [RequestInHistory])

    def write() -> ArchivedHistory:
        with sessions.begin() as session:
            return archive.keep(
                session,
                request_id=started.first_execution_run_id or history.run_id,
                case_number=request.case_number,
                workflow_id=history.workflow_id,
                run_id=history.run_id,
                started_at=history.events[0].event_time.ToDatetime(tzinfo=UTC),
                closed=is_closed(history),
                event_count=len(history.events),
                history_json=history.to_json(),
                archived_at=datetime.now(UTC),
            )

    # The worker's archiver shares its event loop with the workflows' activations: the
    # database write (and the JSON) happen on a thread, so they never hold one up.
    return await asyncio.to_thread(write)


async def archive_closed(
    client: Client,
    sessions: sessionmaker[Session],
    converter: DataConverter,
    task_queue: str,
    closed_since: datetime | None = None,
) -> list[ArchivedHistory]:
    """Archive every closed request workflow Temporal still has (or only those closed
    since `closed_since`) that the archive does not hold closed yet: the backfill, and each
    round of the worker's archiver."""
    query = f"WorkflowType = '{WORKFLOW_TYPE}' AND TaskQueue = '{task_queue}' AND ExecutionStatus != 'Running'"
    if closed_since is not None:
        query += f" AND CloseTime >= '{closed_since.astimezone(UTC).isoformat(timespec='seconds')}'"
    executions = [execution async for execution in client.list_workflows(query)]

    def closed_runs() -> set[str]:
        with sessions() as session:
            return archive.closed_runs(session, [execution.run_id for execution in executions])

    done = await asyncio.to_thread(closed_runs)
    kept = []
    for execution in executions:
        if execution.run_id in done:
            continue
        history = await fetch_live(client, execution.id, execution.run_id)
        if history is not None:  # dropped by retention since it was listed
            kept.append(await keep(sessions, history, converter))
    return kept


async def keep_archiving(
    client: Client,
    sessions: sessionmaker[Session],
    converter: DataConverter,
    task_queue: str,
    stop: asyncio.Event,
    every: timedelta = ARCHIVE_EVERY,
) -> None:
    """The worker's archiver: a round every `every` until `stop` is set. The first round
    looks at every closed workflow Temporal still has; later ones only at those closed
    since the last round that succeeded began, so a round's cost does not grow with every
    request ever closed. A failed round (Temporal or the database away) is logged and
    tried again at the next, from the same point."""
    closed_since: datetime | None = None
    while not stop.is_set():
        round_began = datetime.now(UTC)
        try:
            kept = await archive_closed(client, sessions, converter, task_queue, closed_since)
            closed_since = round_began - ARCHIVE_OVERLAP
            if kept:
                log.info("Archived %d closed workflow histories", len(kept))
        except Exception:
            log.exception("Archiving closed workflow histories failed; trying again in %s", every)
        try:
            await asyncio.wait_for(stop.wait(), every.total_seconds())
        except TimeoutError:
            pass
