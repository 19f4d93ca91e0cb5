"""The auditors' commands on Temporal's dev server with the real worker: a closed request is
archived (by the worker's archiver, or a backfill), explained, replayed, verified, found
tampered with, and exported."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from reschedule_desk import cli
from reschedule_desk.audit.histories import archive_closed, keep_archiving
from reschedule_desk.desk import Desk
from reschedule_desk.domain.decisions import Denial, Withdrawal
from reschedule_desk.domain.lifecycle import RequestState
from reschedule_desk.domain.request import workflow_id_for
from reschedule_desk.settings import Settings
from reschedule_desk.storage.database import make_engine, make_sessionmaker
from reschedule_desk.storage.tables import ArchivedHistory, AuditEvent
from reschedule_desk.temporal import SANDBOXED_RUNNER
from tests.audit.workflow_variants import SendsEachEmailBeforeTheNextStep
from tests.conftest import TEST_DATA_CONVERTER, filed_reschedule_request, running_worker, settings_for
from workflows.reschedule_request import RescheduleRequestWorkflow

OFFICER = "officer.kim"


async def run_cli(settings: Settings, monkeypatch: pytest.MonkeyPatch, *argv: str) -> tuple[int, str]:
    """`reschedule ...` in a thread (it runs its own event loop), on the test's settings."""
    monkeypatch.setattr(cli.Settings, "from_env", classmethod(lambda cls, environ=None: settings))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = await asyncio.to_thread(cli.main, list(argv))
    return code, out.getvalue()


async def waiting_for_review(desk: Desk, settings: Settings) -> str:
    """A request for a case filed in that desk's database, submitted and screened
    eligible; its case number."""
    request = filed_reschedule_request(settings.database_url)
    await desk.submit(request)
    for _ in range(200):
        if (await desk.status(request.case_number)).status is RequestState.PENDING_REVIEW:
            return request.case_number
        await asyncio.sleep(0.05)
    raise AssertionError("the request was never screened")


async def events_until(handle: WorkflowHandle, event_type: EventType.ValueType, count: int = 1) -> None:
    """Wait until the workflow's history holds `count` events of that type."""
    for _ in range(200):
        history = await handle.fetch_history()
        if sum(event.event_type == event_type for event in history.events) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {count} {EventType.Name(event_type)} events")


async def denied_request(env: WorkflowEnvironment, settings: Settings) -> str:
    """A request submitted, denied by an officer and closed; its case number."""
    desk = Desk(env.client, settings)
    async with running_worker(env.client, settings):
        case_number = await waiting_for_review(desk, settings)
        await desk.act(case_number, "deny", Denial(officer_id=OFFICER, reason="The medical examination has expired."))
        await env.client.get_workflow_handle(workflow_id_for(case_number)).result()
    return case_number


async def test_a_closed_request_is_backfilled_explained_replayed_verified_and_exported(
    dev_env: WorkflowEnvironment, desk_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = settings_for(dev_env, desk_settings)
    case_number = await denied_request(dev_env, settings)

    for _ in range(100):  # Temporal's visibility lists a closed workflow a moment later
        code, out = await run_cli(settings, monkeypatch, "audit", "backfill")
        if case_number in out:
            break
        await asyncio.sleep(0.1)
    assert code == 0 and f"archived {case_number} request" in out
    assert (await run_cli(settings, monkeypatch, "audit", "backfill"))[1].endswith("0 closed histories archived\n")

    code, out = await run_cli(settings, monkeypatch, "audit", "timeline", case_number)
    assert code == 0 and "history from the desk's archive" in out
    assert f'deny by {OFFICER}: reason "The medical examination has expired." -> DENIED' in out
    code, out = await run_cli(settings, monkeypatch, "audit", "timeline", case_number, "--json")
    assert json.loads(out)["final_status"]["status"] == "DENIED"

    assert (await run_cli(settings, monkeypatch, "audit", "replay", case_number))[0] == 0
    assert (await run_cli(settings, monkeypatch, "audit", "replay", "--all"))[0] == 0
    code, out = await run_cli(settings, monkeypatch, "audit", "verify", case_number)
    assert code == 0 and ": verified" in out

    engine = make_engine(settings.database_url)
    with make_sessionmaker(engine).begin() as session:
        session.execute(update(AuditEvent).where(AuditEvent.step == 2).values(note="Approved after all."))
    engine.dispose()
    code, out = await run_cli(settings, monkeypatch, "audit", "verify", "--all")
    assert code == 1
    assert "  audit step 2: edited after it was recorded: its content no longer matches its hash" in out
    assert '  audit step 2: note is "Approved after all." here; the history says "The medical examination has expired."' in out

    code, out = await run_cli(settings, monkeypatch, "audit", "export", case_number, "--out", str(tmp_path))
    assert code == 0
    with zipfile.ZipFile(out.strip()) as bundle:
        manifest = json.loads(bundle.read("manifest.json"))
        assert set(manifest["files"]) == {
            "history.json", "timeline.txt", "timeline.json", "timeline.html",
            "replay.txt", "replay.json", "verification.txt", "verification.json",
        }  # fmt: skip
        assert manifest["replays"] is True and manifest["verified"] is False
        assert "note is" in bundle.read("verification.txt").decode()


async def test_a_later_archiver_round_asks_only_for_workflows_closed_since_the_last(
    dev_env: WorkflowEnvironment, desk_settings: Settings
) -> None:
    settings = settings_for(dev_env, desk_settings)
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    case_number = await denied_request(dev_env, settings)
    closed = f"WorkflowId = '{workflow_id_for(case_number)}' AND ExecutionStatus != 'Running'"
    while not [execution async for execution in dev_env.client.list_workflows(closed)]:
        await asyncio.sleep(0.1)  # visibility catches up with the close

    later = datetime.now(UTC) + timedelta(minutes=1)
    assert await archive_closed(dev_env.client, sessions, TEST_DATA_CONVERTER, settings.task_queue, later) == []
    earlier = datetime.now(UTC) - timedelta(minutes=5)
    (kept,) = await archive_closed(dev_env.client, sessions, TEST_DATA_CONVERTER, settings.task_queue, earlier)
    assert kept.case_number == case_number
    engine.dispose()


async def test_the_worker_archiver_keeps_each_closed_history_once(
    dev_env: WorkflowEnvironment, desk_settings: Settings
) -> None:
    settings = settings_for(dev_env, desk_settings)
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    stop = asyncio.Event()
    archiver = asyncio.create_task(
        keep_archiving(dev_env.client, sessions, TEST_DATA_CONVERTER, settings.task_queue, stop, every=timedelta(seconds=0.2))
    )
    try:
        case_number = await denied_request(dev_env, settings)
        for _ in range(100):
            with sessions() as session:
                kept = session.scalars(select(ArchivedHistory).where(ArchivedHistory.case_number == case_number)).all()
            if kept:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # more rounds: nothing new to keep
    finally:
        stop.set()
        await archiver
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ArchivedHistory)) == 1
    engine.dispose()
    (history,) = kept
    assert history.closed and history.event_count > 20


async def test_a_worker_whose_code_does_not_fit_a_running_request_shows_in_its_timeline(
    dev_env: WorkflowEnvironment, desk_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(dev_env, desk_settings)
    desk = Desk(dev_env.client, settings)
    async with running_worker(dev_env.client, settings):
        case_number = await waiting_for_review(desk, settings)
        handle = dev_env.client.get_workflow_handle(workflow_id_for(case_number))
        await events_until(handle, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, 3)  # facts, step 1, acknowledgement
    # The next deployment's worker, with changed code, takes over the waiting request: the
    # next signal's workflow task replays its history, and cannot.
    changed = Worker(
        dev_env.client, task_queue=settings.task_queue, workflows=[SendsEachEmailBeforeTheNextStep], workflow_runner=SANDBOXED_RUNNER
    )
    async with changed:
        await handle.signal(RescheduleRequestWorkflow.withdraw_signal, Withdrawal(reason="I travel another way."))
        await events_until(handle, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED)
    await handle.terminate(reason="the changed code is rolled back")

    code, out = await run_cli(settings, monkeypatch, "audit", "timeline", case_number, "--live")
    assert code == 0
    assert "workflow task failed (NON_DETERMINISTIC_ERROR): [TMPRL1100] Nondeterminism error" in out
    assert out.splitlines()[-1].endswith(": the changed code is rolled back")
    assert (await run_cli(settings, monkeypatch, "audit", "replay", case_number, "--live"))[0] == 0
