"""Changing the workflow safely: a change guarded by workflow.patched takes its new path in
new requests, while the histories recorded before it still replay along the old one; the
same change unguarded would break every request already running."""

from __future__ import annotations

from temporalio.testing import WorkflowEnvironment

from reschedule_desk.audit.replay import replay
from reschedule_desk.audit.timeline import EntryKind, read_timeline
from reschedule_desk.domain.decisions import Denial, InfoProvided
from reschedule_desk.settings import Settings
from reschedule_desk.storage import repository
from reschedule_desk.storage.database import make_engine, make_sessionmaker
from tests.audit.conftest import recorded
from tests.audit.workflow_variants import (
    AuditsIgnoredSignalsUnguarded,
    BooksAfterApprovalUnguarded,
    ScreensFromCaseFileUnguarded,
)
from tests.conftest import TEST_DATA_CONVERTER, running_worker
from tests.workflows.test_reschedule_request import OFFICER, keep_history, submitted_for_review
from workflows.reschedule_request import (
    BOOKING_AFTER_APPROVAL,
    IGNORED_SIGNALS_AUDITED,
    SCREENED_FROM_CASE_FILE,
    RescheduleRequestWorkflow,
)


async def test_a_signal_the_workflow_ignores_is_now_an_audit_step(
    time_skipping_env: WorkflowEnvironment, desk_settings: Settings
) -> None:
    env = time_skipping_env
    async with running_worker(env.client, desk_settings):
        handle, _ = await submitted_for_review(env, desk_settings)
        await handle.signal(RescheduleRequestWorkflow.provide_info_signal, InfoProvided(answer="Nobody asked."))
        await handle.signal(RescheduleRequestWorkflow.deny_signal, Denial(officer_id=OFFICER, reason="Duplicate case."))
        final = await handle.result()

    expected = [("screen", "system"), ("ignore_signal", "applicant"), ("deny", OFFICER)]
    assert [(step.action, step.actor) for step in final.history] == expected
    assert final.history[1].note == "cannot provide_info: the request is PENDING_REVIEW, not INFO_REQUESTED"
    engine = make_engine(desk_settings.database_url)
    with make_sessionmaker(engine)() as session:
        trail = repository.audit_trail(session, handle.result_run_id)
    engine.dispose()
    assert [(step.action, step.actor) for step in trail] == expected
    await keep_history(handle, "case_file_ignored_signal_audited")


async def test_the_history_of_a_request_started_after_the_change_carries_its_marker() -> None:
    timeline = await read_timeline(recorded("ignored_signal_audited"), TEST_DATA_CONVERTER)
    changes = [entry.text for entry in timeline.entries if entry.kind is EntryKind.CODE_CHANGE]
    assert changes == [f"workflow change {IGNORED_SIGNALS_AUDITED!r} in effect from here"]
    assert [step.transition.action for step in timeline.steps] == ["screen", "ignore_signal", "deny"]


async def test_a_history_recorded_before_the_change_replays_along_its_old_path() -> None:
    before = recorded("denied_by_signal")  # its ignored signal left no audit step
    (outcome,) = await replay([before], TEST_DATA_CONVERTER)
    assert outcome.deterministic, outcome.error
    timeline = await read_timeline(before, TEST_DATA_CONVERTER)
    assert [step.transition.action for step in timeline.steps] == ["screen", "deny"]


async def test_the_same_change_without_its_guard_would_break_the_requests_already_running() -> None:
    (outcome,) = await replay([recorded("denied_by_signal")], TEST_DATA_CONVERTER, [AuditsIgnoredSignalsUnguarded])
    assert not outcome.deterministic
    assert outcome.diverging_event is not None
    print(outcome)


async def test_a_request_submitted_now_is_screened_from_the_case_file_and_its_history_says_so() -> None:
    timeline = await read_timeline(recorded("case_file_approved"), TEST_DATA_CONVERTER)
    changes = [entry.text for entry in timeline.entries if entry.kind is EntryKind.CODE_CHANGE]
    assert f"workflow change {SCREENED_FROM_CASE_FILE!r} in effect from here" in changes
    (screening,) = [entry.text for entry in timeline.entries if entry.kind is EntryKind.SCREENING]
    assert screening.startswith("case file: IR1")


async def test_a_request_submitted_before_the_case_file_replays_screened_on_its_own_answers() -> None:
    (outcome,) = await replay([recorded("approved")], TEST_DATA_CONVERTER)
    assert outcome.deterministic, outcome.error
    (screening,) = [
        entry.text
        for entry in (await read_timeline(recorded("approved"), TEST_DATA_CONVERTER)).entries
        if entry.kind is EntryKind.SCREENING
    ]
    assert screening.startswith("facts for")


async def test_screening_from_the_case_file_without_its_guard_would_break_the_requests_already_running() -> None:
    (outcome,) = await replay([recorded("approved")], TEST_DATA_CONVERTER, [ScreensFromCaseFileUnguarded])
    assert not outcome.deterministic


async def test_a_request_approved_before_booking_existed_replays_to_its_end_at_approved() -> None:
    (outcome,) = await replay([recorded("case_file_approved")], TEST_DATA_CONVERTER)
    assert outcome.deterministic, outcome.error
    timeline = await read_timeline(recorded("case_file_approved"), TEST_DATA_CONVERTER)
    assert [step.transition.action for step in timeline.steps] == ["screen", "approve"]


async def test_a_request_approved_now_goes_on_to_its_booking_and_its_history_says_so() -> None:
    timeline = await read_timeline(recorded("booking_attended"), TEST_DATA_CONVERTER)
    changes = [entry.text for entry in timeline.entries if entry.kind is EntryKind.CODE_CHANGE]
    assert f"workflow change {BOOKING_AFTER_APPROVAL!r} in effect from here" in changes
    assert [step.transition.action for step in timeline.steps][-2:] == ["book", "record_attended"]


async def test_booking_after_approval_without_its_guard_would_break_the_requests_already_approved() -> None:
    (outcome,) = await replay([recorded("case_file_approved")], TEST_DATA_CONVERTER, [BooksAfterApprovalUnguarded])
    assert not outcome.deterministic
    assert outcome.diverging_event is not None
