"""The request workflow as someone might change it, for the replay tests. Each variant is
registered under the workflow's own name, as a deployment of the changed code would be.

A module of its own: the sandbox imports the module that defines a workflow again, so it
must import nothing but workflow code.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from reschedule_desk.domain.lifecycle import RequestStatus, next_state
    from reschedule_desk.domain.records import RECORD_TRANSITION, EmailKind, RecordedTransition
    from reschedule_desk.domain.self_reported import RequestInHistory

from workflows.reschedule_request import OFFICER_DECISIONS, RescheduleRequestWorkflow


@workflow.defn(name="RescheduleRequest")
class SendsEachEmailBeforeTheNextStep(RescheduleRequestWorkflow):
    """A tidy-looking refactor: each email goes out before the next step is recorded,
    instead of beside the main loop. Requests already running scheduled their activities
    in the other order."""

    # The SDK wants the init and run methods declared on the class it registers.
    @workflow.init
    def __init__(self, request: RequestInHistory) -> None:
        super().__init__(request)

    @workflow.run
    async def run(self, request: RequestInHistory) -> RequestStatus:
        return await super().run(request)

    async def _record_steps(self) -> None:
        while self._has_unrecorded_steps():
            entry = self._steps[self._recorded]
            recorded = await workflow.execute_activity(
                RECORD_TRANSITION, entry, result_type=RecordedTransition, start_to_close_timeout=timedelta(seconds=30)
            )
            self._recorded += 1
            if recorded.message_key is None:
                continue
            if entry.email is not None and entry.email.kind is EmailKind.APPROVED:
                self._approval_email_key = recorded.message_key
            else:
                await self._send_email(recorded.message_key)


@workflow.defn(name="RescheduleRequest")
class AuditsIgnoredSignalsUnguarded(RescheduleRequestWorkflow):
    """The real patched change (IGNORED_SIGNALS_AUDITED) without its workflow.patched
    guard: every run, old ones too, takes the new path."""

    @workflow.init
    def __init__(self, request: RequestInHistory) -> None:
        super().__init__(request)

    @workflow.run
    async def run(self, request: RequestInHistory) -> RequestStatus:
        return await super().run(request)

    def _take_signalled_action(self, action: str, actor: str, note: str | None) -> None:
        try:
            self._check_allowed(action, actor if action in OFFICER_DECISIONS else None)
        except ApplicationError as refusal:
            self._ignored_signals.append(f"{workflow.now().isoformat()} {action} by {actor}: {refusal}")
            if self._steps:
                self._queue_step(self._state, actor=actor, action="ignore_signal", note=refusal.message)
            return
        self._move(next_state(self._state, action), actor=actor, action=action, note=note)


@workflow.defn(name="RescheduleRequest")
class ScreensFromCaseFileUnguarded(RescheduleRequestWorkflow):
    """The real patched change (SCREENED_FROM_CASE_FILE) without its guard: requests
    submitted before it are screened from the case file too when they replay."""

    @workflow.init
    def __init__(self, request: RequestInHistory) -> None:
        super().__init__(request)

    @workflow.run
    async def run(self, request: RequestInHistory) -> RequestStatus:
        return await super().run(request)

    async def _screen_self_reported(self) -> None:
        await self._screen_from_case_file()


@workflow.defn(name="RescheduleRequest")
class BooksAfterApprovalUnguarded(RescheduleRequestWorkflow):
    """The real patched change (BOOKING_AFTER_APPROVAL) without its guard: a request
    approved before it would open a booking window when it replays, where its history
    closes the workflow."""

    @workflow.init
    def __init__(self, request: RequestInHistory) -> None:
        super().__init__(request)

    @workflow.run
    async def run(self, request: RequestInHistory) -> RequestStatus:
        return await super().run(request)

    async def _release_approval_email(self) -> None:
        await super()._release_approval_email()
        await self._book_and_attend()
