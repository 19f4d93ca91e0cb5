"""Each lifecycle path of a request, on Temporal's time-skipping test server with the
real activities (SQLite app database, emails rendered into the outbox and the file sink).

With RECORD_HISTORIES=1 each path's history is written to tests/histories/, where the
replay test checks it against today's workflow code on every run.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy

import holidays
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from reschedule_desk.domain.decisions import (
    Approval,
    Assignment,
    Claim,
    Denial,
    InfoProvided,
    InfoRequest,
    WindowExtension,
    Withdrawal,
)
from reschedule_desk.domain.lifecycle import RequestState, RequestStatus
from reschedule_desk.domain.request import RescheduleRequest
from reschedule_desk.settings import Settings
from tests.conftest import HISTORIES_DIR, filed_reschedule_request, record_histories, running_worker
from workflows.reschedule_request import RescheduleRequestWorkflow

OFFICER = "officer.njeri"


async def submit(env: WorkflowEnvironment, settings: Settings, request: RescheduleRequest) -> WorkflowHandle:
    """Start as the desk does, less the search attributes the test server cannot index."""
    return await env.client.start_workflow(
        RescheduleRequestWorkflow.run, request, id=request.workflow_id, task_queue=settings.task_queue
    )


async def state_becomes(handle: WorkflowHandle, state: RequestState) -> RequestStatus:
    """Poll the `status` query (in real time: the server skips time only for results)."""
    for _ in range(200):
        status = await handle.query(RescheduleRequestWorkflow.status)
        if status.status is state:
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"request stayed {status.status.value}, never became {state.value}")


async def approval_emailed(env: WorkflowEnvironment, handle: WorkflowHandle) -> RequestStatus:
    """Past the approval email's release (the test server skips time only when told, or
    for a result), to the booking window the email opens."""
    status = await handle.query(RescheduleRequestWorkflow.status)
    wait = status.approval_email_release_at - await env.get_current_time()
    if wait > timedelta(0):
        await env.sleep(wait + timedelta(seconds=1))
    return await state_becomes(handle, RequestState.AWAITING_BOOKING)


async def submitted_for_review(
    env: WorkflowEnvironment, settings: Settings, request: RescheduleRequest | None = None
) -> tuple[WorkflowHandle, RequestStatus]:
    """A request submitted now, screened eligible and waiting for an officer."""
    request = request or filed_reschedule_request(settings.database_url, now=await env.get_current_time())
    handle = await submit(env, settings, request)
    return handle, await state_becomes(handle, RequestState.PENDING_REVIEW)


def emails_sent(settings: Settings) -> list[str]:
    """The kinds of email in the sink, in the order of their steps."""
    return [path.stem.rsplit("-", 1)[1] for path in sorted(settings.mail_dir.glob("*.eml"))]


def email_text(settings: Settings, kind: str) -> str:
    (path,) = [p for p in settings.mail_dir.glob("*.eml") if p.stem.endswith(f"-{kind}")]
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    return message.get_body(preferencelist=("plain",)).get_content()


async def keep_history(handle: WorkflowHandle, name: str) -> None:
    """Record a path's history once; a recorded history is never overwritten, so every
    later change to the workflow must replay it."""
    path = HISTORIES_DIR / f"{name}.json"
    if record_histories() and not path.exists():
        history = await handle.fetch_history()
        HISTORIES_DIR.mkdir(exist_ok=True)
        path.write_text(history.to_json(), encoding="utf-8")


async def send_email_times(handle: WorkflowHandle) -> list[datetime]:
    """When each send_email activity was scheduled, by the workflow's own clock."""
    history = await handle.fetch_history()
    return [
        event.event_time.ToDatetime(tzinfo=UTC)
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and event.activity_task_scheduled_event_attributes.activity_type.name == "send_email"
    ]


async def test_approved_request_gets_exactly_one_approval_email_at_least_5_business_days_after_the_request(
    time_skipping_env: WorkflowEnvironment, desk_settings: Settings
) -> None:
    env = time_skipping_env
    async with running_worker(env.client, desk_settings):
        handle, waiting = await submitted_for_review(env, desk_settings)
        approved = await handle.execute_update(
            RescheduleRequestWorkflow.approve, Approval(officer_id=OFFICER, note="Medical hold confirmed")
        )
        assert approved.status is RequestState.APPROVED
        assert not approved.approval_email_sent, "the approval email waits for its release time"
        emailed = await approval_emailed(env, handle)

    assert emailed.approval_email_sent
    assert emails_sent(desk_settings) == ["acknowledgement", "approved"]
    approval_sent_at = (await send_email_times(handle))[-1]
    assert approval_sent_at >= emailed.approval_email_release_at
    assert emailed.approval_email_release_at == waiting.approval_email_release_at
    assert [step.action for step in emailed.history] == ["screen", "approve", "open_booking"]
    assert emailed.history[1].actor == OFFICER and emailed.history[1].note == "Medical hold confirmed"
    await keep_history(handle, "case_file_approved")


async def test_ineligible_request_is_told_every_failed_rule_and_to_submit_an_inquiry(
    time_skipping_env: WorkflowEnvironment, desk_settings: Settings
) -> None:
    env = time_skipping_env
    now = await env.get_current_time()
    request = filed_reschedule_request(
        desk_settings.database_url, now=now, visa_class="K1", preference_category="K", interviewed_on=now.date().isoformat()
    )
    async with running_worker(env.client, desk_settings):
        handle = await submit(env, desk_settings, request)
        final = await handle.result()

    assert final.status is RequestState.INELIGIBLE
    failed = {outcome.rule for outcome in final.failed_rules}
    assert len(failed) == 2
    assert emails_sent(desk_settings) == ["ineligible"]
    assert "inquiry" in email_text(desk_settings, "ineligible").lower()
    await keep_history(handle, "case_file_ineligible")


async def test_denied_request_gets_the_officers_reason(
    time_skipping_env: WorkflowEnvironment, desk_settings: Settings
) -> None:
    env = time_skipping_env
    async with running_worker(env.client, desk_settings):
        handle, _ = await submitted_for_review(env, desk_settings)
        await handle.execute_update(
            RescheduleRequestWorkflow.deny,
            Denial(officer_id=OFFICER, reason="The medical examination has expired."),
        )
        final = await handle.result()

    assert final.status is RequestState.DENIED
    assert emails_sent(desk_settings) == ["acknowledgement", "denied"]
    assert "The medical examination has expired." in email_text(desk_settings, "denied")
    await keep_history(handle, "case_file_denied")


async def test_information_requested_then_answered_goes_back_to_review_and_can_be_approved(
    time_skipping_env: WorkflowEnvironment, desk_settings: Settings
) -> None:
    env = time_skipping_env
    async with running_worker(env.client, desk_settings):
        handle, _ = await submitted_for_review(env, desk_settings)
        asked = await handle.execute_update(
            RescheduleRequestWorkflow.request_info,
            InfoRequest(officer_id=OFFICER, needed="A letter from the panel physician."),
        )
        assert asked.status is RequestState.INFO_REQUESTED
        answered = await handle.execute_update(
            RescheduleRequestWorkflow.provide_info, InfoProvided(answer="Letter attached to my inquiry.")
        )
        assert answered.status is RequestState.PENDING_REVIEW
        await handle.execute_update(RescheduleRequestWorkflow.approve, Approval(officer_id=OFFICER))
        final = await approval_emailed(env, handle)

    assert [step.to_state for step in final.history] == [
        RequestState.PENDING_REVIEW,
        RequestState.INFO_REQUESTED,
        RequestState.PENDING_REVIEW,
        RequestState.APPROVED,
        RequestState.AWAITING_BOOKING,
    ]
    assert emails_sent(desk_settings) == ["acknowledgement", "info_requested", "approved"]
    assert "A letter from the panel physician." in email_text(desk_settings, "info_requested")
    await keep_history(handle, "case_file_info_requested_answered_approved")


async def test_unanswered_information_request_reminds_the_applicant_then_expires(
    time_skipping_env: WorkflowEnvironment, desk_settings: Settings
) -> None:
    env = time_skipping_env
    async with running_worker(env.client, desk_settings):
        handle, _ = await submitted_for_review(env, desk_settings)
        asked = await handle.execute_update(
            RescheduleRequestWorkflow.request_info, InfoRequest(officer_id=OFFICER, needed="Your passport bio page.")
        )
        final = await handle.result()

    assert final.status is RequestState.EXPIRED
    assert [step.action for step in final.history] == ["screen", "request_info", "remind", "expire"]
    assert final.history[-1].rule == "answer_window_ran_out"
    assert final.history[-1].at >= asked.window_ends_at
    assert final.history[-2].at >= asked.reminder_at
    assert emails_sent(desk_settings) == ["acknowledgement", "info_requested", "reminder", "expired"]
    await keep_history(handle, "case_file_info_requested_expired")


async def test_stale_request_with_no_decision_reminds_the_unit_then_expires_by_itself(
    time_skipping_env: WorkflowEnvironment, desk_settings: Settings
) -> None:
    env = time_skipping_env
    async with running_worker(env.client, desk_settings):
        handle, waiting = await submitted_for_review(env, desk_settings)
        final = await handle.result()

    assert final.status is RequestState.EXPIRED
    assert final.history[-1].rule == "review_window_ran_out"
    assert final.history[-2].action == "remind" and final.history[-2].at >= waiting.reminder_at
    assert final.history[-1].at >= waiting.window_ends_at
    assert emails_sent(desk_settings) == ["acknowledgement", "reminder", "expired"]
    await keep_history(handle, "case_file_review_expired")


@pytest.mark.parametrize("waiting_in", [RequestState.PENDING_REVIEW, RequestState.INFO_REQUESTED])
async def test_applicant_can_withdraw_any_open_request(
    time_skipping_env: WorkflowEnvironment, desk_settings: Settings, waiting_in: RequestState
) -> None:
    env = time_skipping_env
    async with running_worker(env.client, desk_settings):
        handle, _ = await submitted_for_review(env, desk_settings)
        if waiting_in is RequestState.INFO_REQUESTED:
            await handle.execute_update(
                RescheduleRequestWorkflow.request_info, InfoRequest(officer_id=OFFICER, needed="A photo.")
            )
        withdrawn = await handle.execute_update(
            RescheduleRequestWorkflow.withdraw, Withdrawal(reason="I travelled to Nairobi another way.")
        )
        final = await handle.result()

    assert withdrawn.status is final.status is RequestState.WITHDRAWN
    assert emails_sent(desk_settings)[-1] == "withdrawn"
    if waiting_in is RequestState.PENDING_REVIEW:
        await keep_history(handle, "case_file_withdrawn")


async def test_a_decision_on_a_decided_request_is_refused_and_changes_nothing(
    time_skipping_env: WorkflowEnvironment, desk_settings: Settings
) -> None:
    env = time_skipping_env
    async with running_worker(env.client, desk_settings):
        handle, _ = await submitted_for_review(env, desk_settings)
        await handle.execute_update(RescheduleRequestWorkflow.approve, Approval(officer_id=OFFICER))
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                RescheduleRequestWorkflow.deny, Denial(officer_id="officer.other", reason="Too late.")
            )
        assert "cannot deny: the request is already APPROVED" in str(refused.value.cause)
        status = await handle.query(RescheduleRequestWorkflow.status)
        assert [step.action for step in status.history] == ["screen", "approve"]


async def test_decisions_sent_as_signals_act_and_invalid_signals_are_recorded_and_ignored(
    time_skipping_env: WorkflowEnvironment, desk_settings: Settings
) -> None:
    env = time_skipping_env
    async with running_worker(env.client, desk_settings):
        handle, _ = await submitted_for_review(env, desk_settings)
        await handle.signal(RescheduleRequestWorkflow.provide_info_signal, InfoProvided(answer="Nobody asked."))
        await handle.signal(RescheduleRequestWorkflow.deny_signal, Denial(officer_id=OFFICER, reason="Duplicate case."))
        final = await handle.result()

    assert final.status is RequestState.DENIED
    assert len(final.ignored_signals) == 1
    assert "provide_info" in final.ignored_signals[0] and "PENDING_REVIEW" in final.ignored_signals[0]
    await keep_history(handle, "case_file_denied_by_signal")


def _weekdays_after(start: date, count: int) -> date:
    """Counting weekends only, no holidays: where the release would fall without them."""
    day = start
    while count:
        day += timedelta(days=1)
        if day.isoweekday() < 6:
            count -= 1
    return day


def _next_weekday_holiday(country: str, after: date) -> tuple[date, str]:
    calendar = holidays.country_holidays(country, years=[after.year, after.year + 1])
    return min((day, name) for day, name in calendar.items() if day > after and day.isoweekday() < 6)


@pytest.mark.parametrize(
    ("post", "country"), [("nairobi", "KE"), ("nairobi", "US"), ("phnom-penh", "KH"), ("phnom-penh", "US")]
)
async def test_approval_release_skips_the_holidays_of_the_host_country_and_the_us(
    time_skipping_env: WorkflowEnvironment, desk_settings: Settings, post: str, country: str
) -> None:
    env = time_skipping_env
    now = await env.get_current_time()
    zone = desk_settings.posts.post(post).zone
    holiday, name = _next_weekday_holiday(country, now.date() + timedelta(days=7))
    # Submit at 10:00 local on the working day before the holiday.
    submit_on = holiday - timedelta(days=1 if holiday.isoweekday() > 1 else 3)
    submit_at = datetime.combine(submit_on, datetime.min.time().replace(hour=10), tzinfo=zone)
    await env.sleep(submit_at - now)

    async with running_worker(env.client, desk_settings):
        handle, _ = await submitted_for_review(
            env, desk_settings, filed_reschedule_request(desk_settings.database_url, post, now=submit_at)
        )
        await handle.execute_update(RescheduleRequestWorkflow.approve, Approval(officer_id=OFFICER))
        final = await approval_emailed(env, handle)

    release = final.approval_email_release_at.astimezone(zone)
    assert release.time() == desk_settings.posts.post(post).opening_time
    assert release.date() > _weekdays_after(submit_on, 5), f"{name} should push the release later"
    assert (await send_email_times(handle))[-1] >= release


async def test_a_claimed_request_is_decided_by_its_officer_until_a_supervisor_reassigns_it(
    time_skipping_env: WorkflowEnvironment, desk_settings: Settings
) -> None:
    env = time_skipping_env
    async with running_worker(env.client, desk_settings):
        handle, _ = await submitted_for_review(env, desk_settings)
        claimed = await handle.execute_update(RescheduleRequestWorkflow.claim, Claim(officer_id=OFFICER))
        assert claimed.assigned_to == OFFICER
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(RescheduleRequestWorkflow.approve, Approval(officer_id="officer.other"))
        assert f"{OFFICER} is working this request" in str(refused.value.cause)

        await handle.execute_update(
            RescheduleRequestWorkflow.assign, Assignment(supervisor_id="supervisor.ana", officer_id="officer.other")
        )
        await handle.execute_update(RescheduleRequestWorkflow.approve, Approval(officer_id="officer.other"))
        final = await approval_emailed(env, handle)

    assert [(step.action, step.actor) for step in final.history] == [
        ("screen", "system"),
        ("claim", OFFICER),
        ("assign", "supervisor.ana"),
        ("approve", "officer.other"),
        ("open_booking", "system"),
    ]
    assert final.assigned_to == "officer.other"
    await keep_history(handle, "case_file_claimed_reassigned_approved")


async def test_a_supervisor_extension_moves_the_running_window_instead_of_adding_one(
    time_skipping_env: WorkflowEnvironment, desk_settings: Settings
) -> None:
    env = time_skipping_env
    async with running_worker(env.client, desk_settings):
        handle, waiting = await submitted_for_review(env, desk_settings)
        extended = await handle.execute_update(
            RescheduleRequestWorkflow.extend_window,
            WindowExtension(supervisor_id="supervisor.ana", business_days=3, reason="Medical board backlog"),
        )
        final = await handle.result()

    assert extended.window_ends_at > waiting.window_ends_at
    assert [step.action for step in final.history] == ["screen", "extend_window", "remind", "expire"]
    expiry = final.history[-1]
    assert expiry.at >= extended.window_ends_at, "the first window's end must not expire the request"
    assert final.history[-2].at >= extended.reminder_at
    assert emails_sent(desk_settings) == ["acknowledgement", "reminder", "expired"]
    await keep_history(handle, "case_file_extended_then_expired")
