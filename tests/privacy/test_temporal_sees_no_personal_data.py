"""Applicants' personal data never sits in plain text in Temporal: not in the dev server's
state file, not in the raw history its tools export, not in workflow ids or search
attributes. That is the request's, and the case file's too: screening's activity result
(CaseFileFacts) carries the case's whole roster, people the request does not name
included. Only the desk's codec (and those allowed to use its endpoint) reads it."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from reschedule_desk.desk import Desk
from reschedule_desk.domain import search
from reschedule_desk.domain.decisions import Denial, InfoProvided, InfoRequest
from reschedule_desk.domain.lifecycle import RequestState, RequestStatus
from reschedule_desk.domain.request import RescheduleRequest
from reschedule_desk.settings import Settings
from reschedule_desk.temporal import bundled_binary
from tests.conftest import TEST_DATA_CONVERTER, CodecEndpoint, file_cases, make_case, make_request, running_worker

# A name, a birth date and an address that appear nowhere else.
CANARY_NAME = "Sreymom Canarykhiev"
CANARY_BIRTH_DATE = "1979-11-23"
CANARY_EMAIL = "sreymom.canarykhiev@example.org"
# Someone on the case's letter whom the request does not name: only the case file's roster,
# read by screening, brings them into the history.
ROSTER_CANARY_NAME = "Vibol Rostercanaryvong"
ROSTER_CANARY_BIRTH_DATE = "1977-02-14"
CANARIES = (CANARY_NAME, CANARY_BIRTH_DATE, CANARY_EMAIL, ROSTER_CANARY_NAME, ROSTER_CANARY_BIRTH_DATE)


def canary_case(now: datetime | None = None) -> dict:
    """Phnom Penh's file of the canary's case, eligible on `now`: the canary and a spouse."""
    return make_case(
        "phnom-penh",
        now,
        applicants=[
            {"full_name": CANARY_NAME, "date_of_birth": CANARY_BIRTH_DATE, "relationship": "principal",
             "marital_status": "married"},
            {"full_name": ROSTER_CANARY_NAME, "date_of_birth": ROSTER_CANARY_BIRTH_DATE, "relationship": "spouse",
             "marital_status": "married"},
        ],
    )


def canary_request(database_url: str, now: datetime | None = None) -> RescheduleRequest:
    """The canary's request, for their case filed in that app database just now: it names
    the canary alone, and is eligible (the spouse need not travel)."""
    case = canary_case(now)
    file_cases(database_url, "phnom-penh", case)
    document = make_request(
        "phnom-penh",
        now,
        case,
        contact_email=CANARY_EMAIL,
        applicants=[{"full_name": CANARY_NAME, "date_of_birth": CANARY_BIRTH_DATE}],
    )
    return RescheduleRequest.model_validate(document)


@pytest.fixture
async def server_with_state_file(tmp_path: Path) -> AsyncIterator[tuple[WorkflowEnvironment, Path]]:
    state_file = tmp_path / "temporal.db"
    async with await WorkflowEnvironment.start_local(
        data_converter=TEST_DATA_CONVERTER,
        dev_server_existing_path=bundled_binary("temporal"),
        dev_server_database_filename=str(state_file),
        search_attributes=search.ALL,
        dev_server_log_level="error",
    ) as env:
        yield env, state_file


def found_in(data: bytes) -> list[str]:
    return [canary for canary in CANARIES if canary.encode() in data]


def found_in_exported_history(text: str) -> list[str]:
    """The export's text, and every payload in it with its base64 undone."""
    blobs = [text.encode()]

    def walk(node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "data" and isinstance(value, str):
                    try:
                        blobs.append(base64.b64decode(value, validate=True))
                    except ValueError:
                        pass
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(json.loads(text))
    return sorted({canary for blob in blobs for canary in found_in(blob)})


def export_history(address: str, workflow_id: str, *options: str) -> str:
    """`temporal workflow show --output json`: the raw history, as an operator exports it."""
    return subprocess.run(
        [
            bundled_binary("temporal"), "workflow", "show", "--address", address,
            "--workflow-id", workflow_id, "--output", "json", *options,
        ],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout


async def test_a_canary_applicant_is_nowhere_in_temporals_state_file_or_raw_history(
    server_with_state_file: tuple[WorkflowEnvironment, Path],
    desk_settings: Settings,
    codec_endpoint: CodecEndpoint,
) -> None:
    env, state_file = server_with_state_file
    address = env.client.service_client.config.target_host
    desk = Desk(env.client, desk_settings)
    request = canary_request(desk_settings.database_url)
    async with running_worker(env.client, desk_settings):
        await desk.submit(request)
        handle = env.client.get_workflow_handle(request.workflow_id, result_type=RequestStatus)
        for _ in range(200):
            if (await desk.status(request.case_number)).status is RequestState.PENDING_REVIEW:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"{request.case_number} was never screened eligible")
        await desk.act(request.case_number, "request_info", InfoRequest(officer_id="officer.sok", needed="A photo."))
        # The applicant's own words can carry personal data too.
        await desk.act(
            request.case_number, "provide_info", InfoProvided(answer=f"{CANARY_NAME}, born {CANARY_BIRTH_DATE}.")
        )
        await desk.act(request.case_number, "deny", Denial(officer_id="officer.sok", reason="Transferred."))
        final = await handle.result()
    assert final.status is RequestState.DENIED

    # A control: the same server keeps a payload written without the codec in plain
    # text, so a search of its files would find one.
    control = await Client.connect(address, data_converter=pydantic_data_converter)
    control_name = "Plaintext Controlperson"
    await control.start_workflow(
        "RescheduleRequest",
        RescheduleRequest.model_validate(
            make_request(applicants=[{"full_name": control_name, "date_of_birth": "1981-01-01"}])
        ),
        id=f"control-{request.case_number}",
        task_queue="no-worker-listens-here",
    )
    await asyncio.sleep(0.5)

    state = b"".join(path.read_bytes() for path in sorted(state_file.parent.glob(state_file.name + "*")))
    assert control_name.encode() in state, "the control shows the state file is searchable"
    assert found_in(state) == [], "the state file holds no canary"

    raw = await asyncio.to_thread(export_history, address, request.workflow_id)
    assert found_in_exported_history(raw) == [], "the exported raw history holds no canary"
    decoded = await asyncio.to_thread(export_history, address, request.workflow_id, *codec_endpoint.cli_options())
    # The roster's own canaries among them: the case file's facts were in the history, sealed.
    assert found_in_exported_history(decoded) == sorted(CANARIES), "through the codec endpoint, it is all there"

    description = await handle.describe()
    shown = f"{description.id} {description.search_attributes} {description.typed_search_attributes}"
    assert all(canary not in shown for canary in CANARIES), "ids and search attributes carry no personal data"
