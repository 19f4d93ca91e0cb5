"""The auditors' verbs over the desk's database and Temporal, shared by the CLI and the
console: find a request's history, archive it, replay it, read its timeline, verify the
app's rows against it, export it all.

Which history: a case means its latest request (the app's rows, else the archive). Its
history is the archive's closed one when there is one; otherwise Temporal's, which is
fresher than a snapshot archived while the request was open; otherwise that snapshot.
Temporal is asked only when the archive cannot answer, so auditing closed requests
years later needs no Temporal server.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.converter import DataConverter

from reschedule_desk.audit import histories
from reschedule_desk.audit.histories import RequestHistory
from reschedule_desk.audit.replay import ReplayOutcome, replay
from reschedule_desk.audit.timeline import Timeline, read_timeline
from reschedule_desk.audit.verify import Verification, verify
from reschedule_desk.desk import CaseNotFound
from reschedule_desk.domain.request import workflow_id_for
from reschedule_desk.storage import archive, queue
from reschedule_desk.storage.tables import ArchivedHistory, RequestRow


class Auditor:
    def __init__(
        self, sessions: sessionmaker[Session], converter: DataConverter, connect: Callable[[], Awaitable[Client]]
    ) -> None:
        self._sessions = sessions
        self._converter = converter
        self._connect = connect
        self._client: Client | None = None

    async def client(self) -> Client:
        """Temporal, connected the first time it is needed."""
        if self._client is None:
            self._client = await self._connect()
        return self._client

    # -- histories -------------------------------------------------------------------------

    async def history(self, case_number: str, request_id: str | None = None, live: bool = False) -> RequestHistory:
        """The history of the case's latest request, or of `request_id`; `live`: Temporal's."""
        workflow_id = workflow_id_for(case_number)
        if live:
            return await self._live(workflow_id, request_id, case_number)
        request_id = request_id or self._latest_request(case_number)
        if request_id is None:  # neither the app nor the archive know it: ask Temporal
            return await self._live(workflow_id, None, case_number)
        return await self._history_of(workflow_id, request_id)

    async def _history_of(self, workflow_id: str, request_id: str) -> RequestHistory:
        with self._sessions() as session:
            kept = archive.best_of_request(session, request_id)
        if kept is not None and kept.closed:
            return RequestHistory.from_archive(kept)
        live = await histories.fetch_live(await self.client(), workflow_id, request_id)
        if live is not None:
            return RequestHistory.from_temporal(live)
        if kept is not None:
            return RequestHistory.from_archive(kept)
        raise CaseNotFound(f"no history for request {request_id}: not archived, and Temporal no longer has it")

    async def _live(self, workflow_id: str, request_id: str | None, case_number: str) -> RequestHistory:
        live = await histories.fetch_live(await self.client(), workflow_id, request_id)
        if live is None:
            raise CaseNotFound(f"no request for case {case_number} in Temporal")
        return RequestHistory.from_temporal(live)

    def _latest_request(self, case_number: str) -> str | None:
        with self._sessions() as session:
            row = queue.latest_request(session, case_number)
            return row.request_id if row else archive.latest_request_of_case(session, case_number)

    async def archive(self, case_number: str, request_id: str | None = None) -> ArchivedHistory:
        """Archive the request's history as Temporal has it now, open or closed."""
        found = await self.history(case_number, request_id, live=True)
        return await histories.keep(self._sessions, found.history, self._converter)

    async def backfill(self, task_queue: str) -> list[ArchivedHistory]:
        return await histories.archive_closed(await self.client(), self._sessions, self._converter, task_queue)

    # -- what the auditors ask ---------------------------------------------------------------

    async def timeline(self, found: RequestHistory) -> Timeline:
        return await read_timeline(found.history, self._converter)

    async def replay(self, found: list[RequestHistory]) -> list[ReplayOutcome]:
        return await replay([each.history for each in found], self._converter)

    def archived(self) -> list[RequestHistory]:
        """Every request's history in the archive (its closed one, else its latest)."""
        with self._sessions() as session:
            kept = [archive.best_of_request(session, request_id) for request_id in archive.archived_request_ids(session)]
        return [RequestHistory.from_archive(each) for each in kept if each is not None]

    async def verify(self, request_id: str) -> Verification:
        """The app's rows of one request against its history, or against their hash chain
        alone when no history is left."""
        with self._sessions() as session:
            request = session.get(RequestRow, request_id)
        if request is None:
            raise CaseNotFound(f"the app has no rows for request {request_id}")
        try:
            found = await self._history_of(request.workflow_id, request_id)
        except CaseNotFound:
            found = None
        timeline = await self.timeline(found) if found else None
        (outcome,) = await self.replay([found]) if found else (None,)
        with self._sessions() as session:
            return verify(session, request, timeline, outcome, found.source if found else None)

    def request_of(self, case_number: str) -> str:
        """The case's latest request in the app's rows."""
        with self._sessions() as session:
            row = queue.latest_request(session, case_number)
        if row is None:
            raise CaseNotFound(f"the app has no request for case {case_number}")
        return row.request_id

    def requests(self) -> list[str]:
        """Every request in the app's rows, oldest first."""
        with self._sessions() as session:
            return list(session.scalars(select(RequestRow.request_id).order_by(RequestRow.submitted_at)))
