"""Malformed Updates and Signals from Temporal's own CLI: refused (Updates) or recorded and
ignored (Signals); the request never fails or gets stuck because of them."""

from __future__ import annotations

import asyncio
import json
import subprocess

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from reschedule_desk.desk import Desk
from reschedule_desk.domain.lifecycle import RequestState, RequestStatus
from reschedule_desk.domain.request import RescheduleRequest
from reschedule_desk.settings import Settings
from reschedule_desk.temporal import bundled_binary
from tests.conftest import CodecEndpoint, filed_reschedule_request, running_worker


def temporal(env: WorkflowEnvironment, codec: CodecEndpoint, *arguments: str) -> subprocess.CompletedProcess:
    address = env.client.service_client.config.target_host
    return subprocess.run(
        [bundled_binary("temporal"), *arguments, "--address", address, *codec.cli_options()],
        capture_output=True, text=True, timeout=60,
    )


async def cli(env, codec, *arguments: str) -> subprocess.CompletedProcess:
    return await asyncio.to_thread(temporal, env, codec, *arguments)


async def until(desk: Desk, case: str, state: RequestState) -> RequestStatus:
    for _ in range(200):
        status = await desk.status(case)
        if status.status is state:
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"{case} never became {state}")


@pytest.fixture
async def pending_request(dev_env: WorkflowEnvironment, desk_settings: Settings):
    desk = Desk(dev_env.client, desk_settings)
    request = filed_reschedule_request(desk_settings.database_url)
    async with running_worker(dev_env.client, desk_settings):
        await desk.submit(request)
        await until(desk, request.case_number, RequestState.PENDING_REVIEW)
        yield desk, request


async def test_malformed_updates_are_refused_and_change_nothing(
    dev_env: WorkflowEnvironment, codec_endpoint: CodecEndpoint, pending_request
) -> None:
    desk, request = pending_request
    update = ("workflow", "update", "execute", "--workflow-id", request.workflow_id)
    refusals = {}
    for name, payload in [
        ("approve", '"approve it please"'),  # wrong shape: not an object
        ("approve", '{"officer": "officer.kim"}'),  # unknown officer field
        ("approve", '{"officer_id": "officer kim; drop table"}'),  # not an officer id
        ("approve", "[1, 2, 3]"),
        ("deny", '{"officer_id": "officer.kim"}'),  # a denial without its reason
        ("provide_info", '{"answer": "too early"}'),  # not asked for anything
        ("approve_now", '{"officer_id": "officer.kim"}'),  # no such decision
    ]:
        result = await cli(dev_env, codec_endpoint, *update, "--name", name, "--input", payload)
        assert result.returncode != 0, (name, payload, result.stdout)
        refusals[f"{name} {payload}"] = result.stderr.strip().splitlines()[-1][:160]

    status = await desk.status(request.case_number)
    assert status.status is RequestState.PENDING_REVIEW
    assert [step.action for step in status.history] == ["screen"]
    assert "not INFO_REQUESTED" in refusals['provide_info {"answer": "too early"}']
    await assert_never_failed(dev_env, request)

    # The request still decides normally afterwards.
    approved = await cli(
        dev_env, codec_endpoint, *update, "--name", "approve", "--input", '{"officer_id": "officer.kim"}'
    )
    assert approved.returncode == 0, approved.stderr
    assert (await desk.status(request.case_number)).status is RequestState.APPROVED


async def test_malformed_signals_are_recorded_or_dropped_and_change_nothing(
    dev_env: WorkflowEnvironment, codec_endpoint: CodecEndpoint, pending_request
) -> None:
    desk, request = pending_request
    signal = ("workflow", "signal", "--workflow-id", request.workflow_id)
    for name, payload in [
        ("approve", '{"officer": "officer.kim"}'),  # wrong shape: dropped by the worker, logged
        ("approve", '"yes"'),
        ("provide_info", '{"answer": "here it is"}'),  # right shape, wrong state: recorded, ignored
        ("approve_now", '{"officer_id": "officer.kim"}'),  # no such signal: ignored
    ]:
        result = await cli(dev_env, codec_endpoint, *signal, "--name", name, "--input", payload)
        assert result.returncode == 0, result.stderr  # a signal is delivered; the workflow judges it

    await asyncio.sleep(0.5)
    status = await desk.status(request.case_number)
    assert status.status is RequestState.PENDING_REVIEW
    # The one of the right shape is recorded (status and audit trail); the others are dropped.
    assert [step.action for step in status.history] == ["screen", "ignore_signal"]
    assert len(status.ignored_signals) == 1 and "provide_info by applicant" in status.ignored_signals[0]
    await assert_never_failed(dev_env, request)

    denied = await cli(
        dev_env, codec_endpoint, *signal, "--name", "deny",
        "--input", json.dumps({"officer_id": "officer.kim", "reason": "Transferred."}),
    )
    assert denied.returncode == 0
    final = await dev_env.client.get_workflow_handle(request.workflow_id, result_type=RequestStatus).result()
    assert final.status is RequestState.DENIED

    # A decision on a closed request: refused, whether Update or Signal.
    closed_update = await cli(
        dev_env, codec_endpoint, "workflow", "update", "execute", "--workflow-id", request.workflow_id,
        "--name", "approve", "--input", '{"officer_id": "officer.kim"}',
    )
    closed_signal = await cli(
        dev_env, codec_endpoint, *signal, "--name", "approve", "--input", '{"officer_id": "officer.kim"}'
    )
    assert closed_update.returncode != 0 and closed_signal.returncode != 0
    assert "completed" in (closed_signal.stderr + closed_update.stderr).lower()
    await assert_never_failed(dev_env, request)


async def assert_never_failed(env: WorkflowEnvironment, request: RescheduleRequest) -> None:
    history = await env.client.get_workflow_handle(request.workflow_id).fetch_history()
    kinds = {event.event_type for event in history.events}
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in kinds
    assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED not in kinds
