"""One missed-appointment reschedule request, from screening to its last email.

The workflow decides and waits; activities persist and send. Every wait is bounded by a
window counted in the post's business days, computed from the calendar snapshot the
first activity returns, so replay never depends on today's holiday tables.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    # Pure, deterministic modules: passed through so the sandbox does not re-import them.
    from reschedule_desk.domain import search
    from reschedule_desk.domain.appointments import (
        Appointment,
        booking_closes_at,
        change_rule_text,
        closing_rule_text,
        last_change_on,
        may_change_on,
        still_bookable,
    )
    from reschedule_desk.domain.calendar import OutsideCalendar
    from reschedule_desk.domain.decisions import (
        Approval,
        Assignment,
        Attendance,
        BookingCancellation,
        BookingChoice,
        Claim,
        Denial,
        InfoProvided,
        InfoRequest,
        WindowExtension,
        Withdrawal,
    )
    from reschedule_desk.domain.eligibility import failed_rules, screen
    from reschedule_desk.domain.lifecycle import (
        ActionNotAllowed,
        RequestState,
        RequestStatus,
        RuleOutcome,
        Transition,
        next_state,
    )
    from reschedule_desk.domain.records import (
        BOOK_SLOT,
        CANCEL_BOOKING,
        GATHER_SCREENING_FACTS,
        READ_CASE_FILE,
        RECORD_TRANSITION,
        SEND_EMAIL,
        BookingOrder,
        BookingOutcome,
        CancellationOrder,
        DeliveryResult,
        EmailKind,
        EmailOrder,
        CaseFileFacts,
        CaseFileQuery,
        Recipient,
        RecordedTransition,
        TransitionEntry,
    )
    from reschedule_desk.domain.self_reported import (
        RequestInHistory,
        ScreeningFacts,
        ScreeningQuery,
        SelfReportedRequest,
        screen_self_reported,
    )

SYSTEM = "system"
APPLICANT = "applicant"
# Decisions an officer takes: refused when another officer has claimed the request.
OFFICER_DECISIONS = frozenset({"approve", "deny", "request_info"})

# Databases and mail servers come back; keep retrying, but back off.
PATIENT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=2),
)

# Changes guarded by workflow.patched (README, "Changing the workflow safely"): histories
# recorded before a change take its old path when they replay.
# A signal the workflow ignores is an audit step too, not only a line in the status.
IGNORED_SIGNALS_AUDITED = "ignored-signals-audited"
# Screening reads the post's case file, not the applicant's answers (self_reported.py).
SCREENED_FROM_CASE_FILE = "screened-from-case-file"
# After the approval email the request goes on: the applicant books the appointment, and
# an officer records whether they came. Before it, a request ended at APPROVED.
BOOKING_AFTER_APPROVAL = "booking-after-approval"

# The email each state sends when a request enters it.
EMAIL_ON_ENTRY: dict[RequestState, EmailKind] = {
    RequestState.INELIGIBLE: EmailKind.INELIGIBLE,
    RequestState.INFO_REQUESTED: EmailKind.INFO_REQUESTED,
    RequestState.APPROVED: EmailKind.APPROVED,
    RequestState.DENIED: EmailKind.DENIED,
    RequestState.EXPIRED: EmailKind.EXPIRED,
    RequestState.WITHDRAWN: EmailKind.WITHDRAWN,
    RequestState.BOOKED: EmailKind.BOOKED,  # booked, or moved to another appointment
    RequestState.MISSED: EmailKind.MISSED,
}

# The window each waiting state runs, by the name its expiry rule and timers carry.
WINDOW_OF_STATE: dict[RequestState, str] = {
    RequestState.PENDING_REVIEW: "review",
    RequestState.INFO_REQUESTED: "answer",
    RequestState.AWAITING_BOOKING: "booking",
}


@workflow.defn(name="RescheduleRequest")
class RescheduleRequestWorkflow:
    @workflow.init
    def __init__(self, request: RequestInHistory) -> None:
        self._request = request
        self._state = RequestState.SUBMITTED
        self._submitted_at = workflow.now()
        self._facts: CaseFileFacts | ScreeningFacts | None = None
        self._rules: list[RuleOutcome] = []
        self._window_ends_at: datetime | None = None
        self._reminder_at: datetime | None = None
        self._reminded = False
        self._release_at: datetime | None = None
        self._approval_email_key: str | None = None
        self._approval_email_sent = False
        # Every step, in order; the main loop records them, handlers wait for that.
        self._steps: list[TransitionEntry] = []
        self._recorded = 0
        # Emails go out beside the main loop, so a mail server that is down never holds
        # up the recording of the next decision.
        self._deliveries: list[asyncio.Task[DeliveryResult]] = []
        self._ignored_signals: list[str] = []
        self._info_needed: str | None = None  # what the officer asked for, repeated in the reminder
        self._assigned_to: str | None = None
        self._appointment: Appointment | None = None
        # One change of the booking at a time: the book's answer is recorded before the
        # next change, or the window's end, is looked at.
        self._booking_in_flight = False
        # The desk starts requests with their search attributes set; a server without
        # them registered (Temporal's time-skipping test server) gets none.
        self._indexed = search.REQUEST_STATUS in workflow.info().typed_search_attributes

    @workflow.run
    async def run(self, request: RequestInHistory) -> RequestStatus:
        if workflow.patched(SCREENED_FROM_CASE_FILE):
            await self._screen_from_case_file()
        else:
            await self._screen_self_reported()
        failures = failed_rules(self._rules)
        if failures:
            self._move(
                RequestState.INELIGIBLE,
                actor=SYSTEM,
                action="screen",
                rule=", ".join(outcome.rule for outcome in failures),
            )
        else:
            self._release_at = self._facts.calendar.release_time(
                self._submitted_at, self._facts.post.windows.approval_release_business_days
            )
            self._move(RequestState.PENDING_REVIEW, actor=SYSTEM, action="screen")
        await self._record_steps()

        while self._state.is_open:
            await self._wait_for_action_or_deadline()
            await self._record_steps()

        if self._state is RequestState.APPROVED:
            await self._release_approval_email()
            if workflow.patched(BOOKING_AFTER_APPROVAL):
                await self._book_and_attend()
        await asyncio.gather(*self._deliveries)
        await self._record_steps()  # signals ignored after the decision (IGNORED_SIGNALS_AUDITED)
        # Let Update handlers return their result before the workflow closes.
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._status()

    async def _screen_from_case_file(self) -> None:
        if isinstance(self._request, SelfReportedRequest):
            # Started with the old form and not yet screened: only what the applicant knows.
            self._request = self._request.as_request()
        self._facts = await workflow.execute_activity(
            READ_CASE_FILE,
            CaseFileQuery(
                case_number=self._request.case_number, post=self._request.post, submitted_at=self._submitted_at
            ),
            result_type=CaseFileFacts,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=PATIENT_RETRY,
        )
        self._rules = screen(self._request, self._facts, self._submitted_at)

    async def _screen_self_reported(self) -> None:
        """A request whose history began before screening read the case file."""
        assert isinstance(self._request, SelfReportedRequest)
        self._facts = await workflow.execute_activity(
            GATHER_SCREENING_FACTS,
            ScreeningQuery(
                case_number=self._request.case_number,
                post=self._request.post,
                petitioner=self._request.petitioner,
                submitted_at=self._submitted_at,
            ),
            result_type=ScreeningFacts,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=PATIENT_RETRY,
        )
        self._rules = screen_self_reported(self._request, self._facts, self._submitted_at)

    # -- officer and applicant actions: Updates with validators, and Signals alike ------

    @workflow.update(name="approve")
    async def approve(self, approval: Approval) -> RequestStatus:
        return await self._take_action("approve", approval.officer_id, approval.note)

    @approve.validator
    def _validate_approve(self, approval: Approval) -> None:
        self._check_allowed("approve", approval.officer_id)

    @workflow.update(name="deny")
    async def deny(self, denial: Denial) -> RequestStatus:
        return await self._take_action("deny", denial.officer_id, denial.reason)

    @deny.validator
    def _validate_deny(self, denial: Denial) -> None:
        self._check_allowed("deny", denial.officer_id)

    @workflow.update(name="request_info")
    async def request_info(self, info_request: InfoRequest) -> RequestStatus:
        return await self._take_action("request_info", info_request.officer_id, info_request.needed)

    @request_info.validator
    def _validate_request_info(self, info_request: InfoRequest) -> None:
        self._check_allowed("request_info", info_request.officer_id)

    @workflow.update(name="provide_info")
    async def provide_info(self, info: InfoProvided) -> RequestStatus:
        return await self._take_action("provide_info", APPLICANT, info.answer)

    @provide_info.validator
    def _validate_provide_info(self, info: InfoProvided) -> None:
        self._check_allowed("provide_info")

    @workflow.update(name="withdraw")
    async def withdraw(self, withdrawal: Withdrawal) -> RequestStatus:
        return await self._take_action("withdraw", APPLICANT, withdrawal.reason)

    @withdraw.validator
    def _validate_withdraw(self, withdrawal: Withdrawal) -> None:
        self._check_allowed("withdraw")

    @workflow.update(name="claim")
    async def claim(self, claim: Claim) -> RequestStatus:
        if self._assigned_to == claim.officer_id:
            return self._status()  # claiming twice is harmless
        return await self._stay("claim", claim.officer_id, assign_to=claim.officer_id)

    @claim.validator
    def _validate_claim(self, claim: Claim) -> None:
        self._check_allowed("claim", claim.officer_id)

    @workflow.update(name="assign")
    async def assign(self, assignment: Assignment) -> RequestStatus:
        return await self._stay(
            "assign", assignment.supervisor_id, note=f"to {assignment.officer_id}", assign_to=assignment.officer_id
        )

    @assign.validator
    def _validate_assign(self, assignment: Assignment) -> None:
        self._check_allowed("assign")

    @workflow.update(name="extend_window")
    async def extend_window(self, extension: WindowExtension) -> RequestStatus:
        return await self._stay(
            "extend_window",
            extension.supervisor_id,
            note=f"+{extension.business_days} business days: {extension.reason}",
            extend_by=extension.business_days,
        )

    @extend_window.validator
    def _validate_extend_window(self, extension: WindowExtension) -> None:
        self._check_allowed("extend_window")

    @workflow.update(name="book")
    async def book(self, choice: BookingChoice) -> RequestStatus:
        return await self._book("book", choice)

    @book.validator
    def _validate_book(self, choice: BookingChoice) -> None:
        self._check_booking("book", choice)

    @workflow.update(name="reschedule_booking")
    async def reschedule_booking(self, choice: BookingChoice) -> RequestStatus:
        return await self._book("reschedule_booking", choice)

    @reschedule_booking.validator
    def _validate_reschedule_booking(self, choice: BookingChoice) -> None:
        self._check_booking("reschedule_booking", choice)

    @workflow.update(name="cancel_booking")
    async def cancel_booking(self, cancellation: BookingCancellation) -> RequestStatus:
        await self._take_booking_turn()
        try:
            self._check_change("cancel_booking")
            assert self._appointment is not None
            cancelled = await workflow.execute_activity(
                CANCEL_BOOKING,
                CancellationOrder(
                    request_id=self._request_id, booking_id=self._appointment.booking_id, at=workflow.now()
                ),
                result_type=Appointment,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=PATIENT_RETRY,
            )
        finally:
            self._booking_in_flight = False
        self._appointment = None
        step = self._move(
            RequestState.AWAITING_BOOKING,
            actor=APPLICANT,
            action="cancel_booking",
            note=cancellation.reason,
            appointment=cancelled,
        )
        await workflow.wait_condition(lambda: self._recorded >= step)
        return self._status()

    @cancel_booking.validator
    def _validate_cancel_booking(self, cancellation: BookingCancellation) -> None:
        self._check_change("cancel_booking")

    @workflow.update(name="record_attendance")
    async def record_attendance(self, attendance: Attendance) -> RequestStatus:
        await self._take_booking_turn()
        try:
            self._check_attendance(attendance)
        finally:
            self._booking_in_flight = False
        action = "record_attended" if attendance.attended else "record_missed"
        step = self._move(
            next_state(self._state, action),
            actor=attendance.officer_id,
            action=action,
            note=attendance.note,
            appointment=self._appointment,
        )
        await workflow.wait_condition(lambda: self._recorded >= step)
        return self._status()

    @record_attendance.validator
    def _validate_record_attendance(self, attendance: Attendance) -> None:
        self._check_attendance(attendance)

    @workflow.signal(name="approve")
    def approve_signal(self, approval: Approval) -> None:
        self._take_signalled_action("approve", approval.officer_id, approval.note)

    @workflow.signal(name="deny")
    def deny_signal(self, denial: Denial) -> None:
        self._take_signalled_action("deny", denial.officer_id, denial.reason)

    @workflow.signal(name="request_info")
    def request_info_signal(self, info_request: InfoRequest) -> None:
        self._take_signalled_action("request_info", info_request.officer_id, info_request.needed)

    @workflow.signal(name="provide_info")
    def provide_info_signal(self, info: InfoProvided) -> None:
        self._take_signalled_action("provide_info", APPLICANT, info.answer)

    @workflow.signal(name="withdraw")
    def withdraw_signal(self, withdrawal: Withdrawal) -> None:
        self._take_signalled_action("withdraw", APPLICANT, withdrawal.reason)

    @workflow.query(name="status")
    def status(self) -> RequestStatus:
        return self._status()

    # -- deciding -------------------------------------------------------------------------

    def _check_allowed(self, action: str, officer_id: str | None = None) -> None:
        """Refuse an action the state does not allow, or an officer's action on a request
        another officer has claimed."""
        if self._facts is None:
            raise ApplicationError(f"cannot {action}: the request is still being screened")
        try:
            next_state(self._state, action)
        except ActionNotAllowed as refusal:
            raise ApplicationError(str(refusal), type="ActionNotAllowed") from None
        if officer_id is not None and self._assigned_to not in (None, officer_id):
            raise ApplicationError(
                f"cannot {action}: {self._assigned_to} is working this request; a supervisor can reassign it",
                type="ActionNotAllowed",
            )

    async def _take_action(self, action: str, actor: str, note: str | None) -> RequestStatus:
        # Validators ran when the update was accepted; another decision accepted in the
        # same moment may have moved the request since, so check again before acting.
        self._check_allowed(action, actor if action in OFFICER_DECISIONS else None)
        step = self._move(next_state(self._state, action), actor=actor, action=action, note=note)
        await workflow.wait_condition(lambda: self._recorded >= step)
        return self._status()

    async def _stay(
        self,
        action: str,
        actor: str,
        *,
        note: str | None = None,
        assign_to: str | None = None,
        extend_by: int | None = None,
    ) -> RequestStatus:
        """An action that keeps the request in its state: claim, assign, extend the window."""
        self._check_allowed(action, actor if action == "claim" else None)
        if assign_to is not None:
            self._assigned_to = assign_to
        if extend_by is not None:
            self._extend_window(extend_by)
        step = self._queue_step(self._state, actor=actor, action=action, note=note)
        await workflow.wait_condition(lambda: self._recorded >= step)
        return self._status()

    def _take_signalled_action(self, action: str, actor: str, note: str | None) -> None:
        try:
            self._check_allowed(action, actor if action in OFFICER_DECISIONS else None)
        except ApplicationError as refusal:
            # A signal cannot be refused to its sender: keep a trace, change nothing.
            self._ignored_signals.append(f"{workflow.now().isoformat()} {action} by {actor}: {refusal}")
            workflow.logger.warning("Ignored signal %s: %s", action, refusal)
            # Officers and auditors read the audit trail, not the status; the first step
            # (screening) must come first, as it carries the request.
            if self._steps and workflow.patched(IGNORED_SIGNALS_AUDITED):
                self._queue_step(self._state, actor=actor, action="ignore_signal", note=refusal.message)
            return
        self._move(next_state(self._state, action), actor=actor, action=action, note=note)

    def _move(
        self,
        to_state: RequestState,
        *,
        actor: str,
        action: str,
        note: str | None = None,
        rule: str | None = None,
        appointment: Appointment | None = None,
    ) -> int:
        """Enter `to_state` now and queue its step for recording; returns the step number."""
        assert self._facts is not None
        from_state = self._state
        self._state = to_state
        if action == "request_info":
            self._info_needed = note
        windows = self._facts.post.windows
        if to_state is RequestState.PENDING_REVIEW:
            self._open_window(windows.review_business_days)
        elif to_state is RequestState.INFO_REQUESTED:
            self._open_window(windows.answer_business_days)
        elif to_state is RequestState.AWAITING_BOOKING:
            self._open_window(windows.booking_business_days)  # again after a cancellation
        elif not to_state.is_open:
            self._window_ends_at = self._reminder_at = None

        email = None
        if to_state is RequestState.PENDING_REVIEW and from_state is RequestState.SUBMITTED:
            email = EmailOrder(kind=EmailKind.ACKNOWLEDGEMENT)
        elif to_state is RequestState.APPROVED:
            email = EmailOrder(kind=EmailKind.APPROVED, not_before=self._release_at)
        elif action == "cancel_booking":
            email = EmailOrder(kind=EmailKind.BOOKING_CANCELLED)
        elif to_state in EMAIL_ON_ENTRY:
            email = EmailOrder(kind=EMAIL_ON_ENTRY[to_state])
        return self._queue_step(
            from_state, actor=actor, action=action, note=note, rule=rule, email=email, appointment=appointment
        )

    def _remind(self) -> None:
        """The window's reminder: officers for a review, the applicant for an answer or a booking."""
        self._reminded = True
        if self._state is RequestState.AWAITING_BOOKING:
            self._queue_step(self._state, actor=SYSTEM, action="remind", email=EmailOrder(kind=EmailKind.BOOKING_REMINDER))
            return
        reviewing = self._state is RequestState.PENDING_REVIEW
        self._queue_step(
            self._state,
            actor=SYSTEM,
            action="remind",
            note=None if reviewing else self._info_needed,
            email=EmailOrder(
                kind=EmailKind.REMINDER, recipient=Recipient.UNIT if reviewing else Recipient.APPLICANT
            ),
        )

    def _queue_step(
        self,
        from_state: RequestState,
        *,
        actor: str,
        action: str,
        note: str | None = None,
        rule: str | None = None,
        email: EmailOrder | None = None,
        appointment: Appointment | None = None,
    ) -> int:
        step = len(self._steps) + 1
        first = step == 1
        self._steps.append(
            TransitionEntry(
                request_id=self._request_id,
                workflow_id=workflow.info().workflow_id,
                transition=Transition(
                    step=step,
                    at=workflow.now(),
                    from_state=from_state,
                    to_state=self._state,
                    actor=actor,
                    action=action,
                    note=note,
                    rule=rule,
                ),
                request=self._request if first else None,
                window_ends_at=self._window_ends_at,
                reminder_at=self._reminder_at,
                approval_email_release_at=self._release_at,
                assigned_to=self._assigned_to,
                rules=self._rules if first else [],
                email=email,
                appointment=appointment,
            )
        )
        if self._indexed:
            workflow.upsert_search_attributes(
                [
                    search.REQUEST_STATUS.value_set(self._state.value),
                    search.NEXT_DEADLINE.value_set(self._window_ends_at)
                    if self._window_ends_at
                    else search.NEXT_DEADLINE.value_unset(),
                ]
            )
        return step

    def _open_window(self, business_days: int) -> None:
        self._set_window_end(self._facts.calendar.window_end(workflow.now(), business_days))

    def _extend_window(self, business_days: int) -> None:
        """Move the running window's end; the waiting loop's timer moves with it."""
        assert self._window_ends_at is not None
        self._set_window_end(self._facts.calendar.window_end(self._window_ends_at, business_days))

    def _set_window_end(self, ends_at: datetime) -> None:
        assert self._facts is not None
        self._window_ends_at = ends_at
        self._reminder_at = self._facts.calendar.reminder_time(
            ends_at, self._facts.post.windows.reminder_lead_business_days
        )
        # A reminder still ahead goes out (again, after an extension) before the new end.
        self._reminded = self._reminder_at <= workflow.now()

    # -- waiting --------------------------------------------------------------------------

    async def _wait_for_action_or_deadline(self) -> None:
        """Wait until someone acts, or the reminder or the window's end comes due."""
        assert self._window_ends_at is not None and self._reminder_at is not None
        due_at = self._window_ends_at if self._reminded else self._reminder_at
        what = "window ends" if self._reminded else "reminder"
        wait = due_at - workflow.now()
        if wait > timedelta(0):
            try:
                await workflow.wait_condition(
                    self._has_unrecorded_steps,
                    timeout=wait,
                    timeout_summary=f"{self._state.value} {what} {due_at.isoformat()}",
                )
                return
            except asyncio.TimeoutError:
                pass
        if self._booking_in_flight:
            # The book's answer comes first: a booking made as the window ran out stands.
            await workflow.wait_condition(lambda: not self._booking_in_flight)
            return
        if not self._reminded:
            self._remind()
        else:
            window = WINDOW_OF_STATE[self._state]
            self._move(RequestState.EXPIRED, actor=SYSTEM, action="expire", rule=f"{window}_window_ran_out")

    def _has_unrecorded_steps(self) -> bool:
        return self._recorded < len(self._steps)

    # -- after the approval email: booking and attending -----------------------------------

    async def _book_and_attend(self) -> None:
        """The booking window opens with the approval email. The applicant books, may move or
        cancel the booking (a cancellation opens the window again), and an officer records on
        the day whether they came; a window that runs out expires the approval."""
        self._move(RequestState.AWAITING_BOOKING, actor=SYSTEM, action="open_booking")
        await self._record_steps()
        while self._state.is_booking:
            if self._state is RequestState.AWAITING_BOOKING:
                await self._wait_for_action_or_deadline()
            else:
                # Held until an officer records the day, or the applicant changes it.
                await workflow.wait_condition(self._has_unrecorded_steps)
            await self._record_steps()

    async def _take_booking_turn(self) -> None:
        await workflow.wait_condition(lambda: not self._booking_in_flight)
        self._booking_in_flight = True

    async def _book(self, action: str, choice: BookingChoice) -> RequestStatus:
        await self._take_booking_turn()
        try:
            # Checked again: the request may have moved while this Update waited its turn.
            self._check_booking(action, choice)
            replacing = self._appointment.booking_id if self._appointment is not None else None
            outcome = await workflow.execute_activity(
                BOOK_SLOT,
                BookingOrder(
                    request_id=self._request_id,
                    case_number=self._request.case_number,
                    post=self._request.post,
                    day=choice.day,
                    time=choice.time,
                    seats=len(self._request.applicants),
                    at=workflow.now(),
                    replacing=replacing if action == "reschedule_booking" else None,
                ),
                result_type=BookingOutcome,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=PATIENT_RETRY,
            )
        finally:
            self._booking_in_flight = False
        if outcome.appointment is None:
            raise ApplicationError(f"cannot {action}: {outcome.refusal}", type="BookingRefused")
        self._appointment = outcome.appointment
        step = self._move(
            RequestState.BOOKED,
            actor=APPLICANT,
            action=action,
            note=f"{choice.day.isoformat()} {choice.time:%H:%M}",
            appointment=outcome.appointment,
        )
        await workflow.wait_condition(lambda: self._recorded >= step)
        return self._status()

    def _check_booking(self, action: str, choice: BookingChoice) -> None:
        """Refuse a booking the state, the calendar or the post's closing time does not allow."""
        if action == "reschedule_booking":
            self._check_change(action)
        else:
            self._check_allowed(action)
        post, calendar = self._facts.post, self._facts.calendar
        try:
            business_day = calendar.is_business_day(choice.day)
        except OutsideCalendar:
            raise ApplicationError(
                f"cannot {action}: {post.name} publishes no appointments on {choice.day}", type="BookingRefused"
            ) from None
        if not business_day:
            reason = calendar.non_business_days.get(choice.day, "a weekend")
            raise ApplicationError(
                f"cannot {action}: {choice.day:%A} {choice.day} is not a business day at {post.name} ({reason})",
                type="BookingRefused",
            )
        if not still_bookable(post, calendar, choice.day, choice.time, workflow.now()):
            closed = booking_closes_at(post, calendar, datetime.combine(choice.day, choice.time))
            raise ApplicationError(
                f"cannot {action}: booking for {choice.day} at {choice.time:%H:%M} closed at "
                f"{closed:%Y-%m-%d %H:%M} ({post.time_zone}). {closing_rule_text(post)}",
                type="BookingClosed",
            )
        held = self._appointment
        if action == "reschedule_booking" and held and (held.day, held.time) == (choice.day, choice.time):
            raise ApplicationError(
                f"cannot {action}: the appointment is already on {choice.day} at {choice.time:%H:%M}",
                type="BookingRefused",
            )

    def _check_change(self, action: str) -> None:
        """A booked appointment changes only up to the post's notice, or once its day has passed."""
        self._check_allowed(action)
        assert self._appointment is not None
        post, calendar = self._facts.post, self._facts.calendar
        starts_at = self._appointment.starts_at(post)
        today = calendar.local_date(workflow.now())
        if not may_change_on(post, calendar, starts_at, today):
            raise ApplicationError(
                f"cannot {action}: the last day to cancel or reschedule the appointment on "
                f"{self._appointment.day} was {last_change_on(post, calendar, starts_at)}. "
                f"{change_rule_text(post)}",
                type="TooLateToChange",
            )

    def _check_attendance(self, attendance: Attendance) -> None:
        self._check_allowed("record_attended" if attendance.attended else "record_missed")
        assert self._appointment is not None
        today = self._facts.calendar.local_date(workflow.now())
        if today < self._appointment.day:
            raise ApplicationError(
                f"cannot record attendance: the appointment is on {self._appointment.day}, "
                f"and it is {today} at {self._facts.post.name}",
                type="ActionNotAllowed",
            )

    # -- side effects, through activities --------------------------------------------------
    # Activities carry no summary: each would be one more payload to encode (through the
    # sandbox, then encrypted) on every activation, replay included, and the audit timeline
    # reads the steps themselves. Timers keep theirs: the timeline explains a timer by it.

    async def _record_steps(self) -> None:
        while self._has_unrecorded_steps():
            entry = self._steps[self._recorded]
            recorded = await workflow.execute_activity(
                RECORD_TRANSITION,
                entry,
                result_type=RecordedTransition,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=PATIENT_RETRY,
            )
            self._recorded += 1
            if recorded.message_key is None:
                continue
            if entry.email is not None and entry.email.kind is EmailKind.APPROVED:
                self._approval_email_key = recorded.message_key
            else:
                self._deliveries.append(asyncio.create_task(self._send_email(recorded.message_key)))

    async def _release_approval_email(self) -> None:
        """The approval email reaches the applicant no earlier than the release time."""
        assert self._release_at is not None and self._approval_email_key is not None
        wait = self._release_at - workflow.now()
        if wait > timedelta(0):
            await workflow.sleep(wait, summary=f"approval email release {self._release_at.isoformat()}")
        await self._send_email(self._approval_email_key)
        self._approval_email_sent = True

    async def _send_email(self, message_key: str) -> DeliveryResult:
        return await workflow.execute_activity(
            SEND_EMAIL,
            message_key,
            result_type=DeliveryResult,
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=PATIENT_RETRY,
        )

    # -- what callers see -----------------------------------------------------------------

    @property
    def _request_id(self) -> str:
        return workflow.info().first_execution_run_id

    def _status(self) -> RequestStatus:
        return RequestStatus(
            case_number=self._request.case_number,
            post=self._request.post,
            status=self._state,
            submitted_at=self._submitted_at,
            window_ends_at=self._window_ends_at,
            reminder_at=None if self._reminded else self._reminder_at,
            approval_email_release_at=self._release_at,
            approval_email_sent=self._approval_email_sent,
            assigned_to=self._assigned_to,
            appointment=self._appointment,
            failed_rules=failed_rules(self._rules),
            history=[entry.transition for entry in self._steps],
            ignored_signals=self._ignored_signals,
        )
