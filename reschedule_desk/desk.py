"""The desk's verbs as a Temporal client: submit a request, read its status, act on it.

The API and the CLI both go through here, so they refuse the same things the same way.
"""

from __future__ import annotations

from pydantic import BaseModel
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from reschedule_desk.domain import search
from reschedule_desk.domain.lifecycle import RequestState, RequestStatus
from reschedule_desk.domain.request import RescheduleRequest, workflow_id_for
from reschedule_desk.settings import Settings
from workflows.reschedule_request import RescheduleRequestWorkflow


class CaseNotFound(LookupError):
    pass


class RequestAlreadyOpen(Exception):
    pass


class ActionRefused(Exception):
    """The workflow's validator (or its closed state) refused the action; nothing changed."""


class Desk:
    def __init__(self, client: Client, settings: Settings) -> None:
        self._client = client
        self._posts = settings.posts
        self._task_queue = settings.task_queue

    async def submit(self, request: RescheduleRequest) -> tuple[RequestStatus, str]:
        """Start the request's workflow: its status, and its request id (the first run id,
        which the applicant's secret is made from)."""
        self._posts.post(request.post)  # UnknownPost before anything starts
        try:
            handle = await self._client.start_workflow(
                RescheduleRequestWorkflow.run,
                request,
                id=request.workflow_id,
                task_queue=self._task_queue,
                # One live request per case; a closed one may be followed by a new one.
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(search.REQUEST_STATUS, RequestState.SUBMITTED.value),
                        SearchAttributePair(search.REQUEST_POST, request.post),
                    ]
                ),
            )
        except WorkflowAlreadyStartedError:
            raise RequestAlreadyOpen(
                f"case {request.case_number} already has a request in progress"
            ) from None
        description = await handle.describe()
        status = RequestStatus(
            case_number=request.case_number,
            post=request.post,
            status=RequestState.SUBMITTED,
            submitted_at=description.start_time,
        )
        return status, description.run_id

    async def status(self, case_number: str) -> RequestStatus:
        handle = self._handle(case_number)
        try:
            return await handle.query(RescheduleRequestWorkflow.status)
        except RPCError as error:
            raise self._translate(error, case_number) from None

    async def request_id(self, case_number: str) -> str:
        """The id of the case's latest request: its workflow's run id (a request never
        continues as new, so its first run is its only one)."""
        try:
            return (await self._handle(case_number).describe()).run_id
        except RPCError as error:
            raise self._translate(error, case_number) from None

    async def act(
        self, case_number: str, action: str, decision: BaseModel, request_id: str | None = None
    ) -> RequestStatus:
        """Send one of the workflow's Updates (approve, deny, request_info, provide_info,
        withdraw, claim, assign, extend_window); to that request only, when `request_id`
        is given, even if the case has had a newer one since."""
        handle = self._handle(case_number, request_id)
        try:
            return await handle.execute_update(action, decision, result_type=RequestStatus)
        except WorkflowUpdateFailedError as failure:
            cause = failure.cause
            message = cause.message if isinstance(cause, ApplicationError) else str(cause)
            raise ActionRefused(message) from None
        except RPCError as error:
            if error.status is RPCStatusCode.NOT_FOUND:
                # Unknown case, or the request is closed: say which.
                current = await self.status(case_number)
                raise ActionRefused(
                    f"cannot {action}: the request is already {current.status.value}"
                ) from None
            raise

    def _handle(self, case_number: str, request_id: str | None = None) -> WorkflowHandle:
        return self._client.get_workflow_handle(workflow_id_for(case_number), run_id=request_id)

    @staticmethod
    def _translate(error: RPCError, case_number: str) -> Exception:
        if error.status is RPCStatusCode.NOT_FOUND:
            return CaseNotFound(f"no request for case {case_number}")
        return error
