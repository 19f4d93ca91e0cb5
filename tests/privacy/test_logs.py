"""No personal data and no secret in any log line, at any level: a whole lifecycle, with a
malformed signal and a database error on the way, logged at DEBUG and searched."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import date

import httpx
import pytest
from sqlalchemy.exc import IntegrityError
from temporalio.testing import WorkflowEnvironment

from reschedule_desk.api import create_app
from reschedule_desk.console.access import Role
from reschedule_desk.desk import Desk
from reschedule_desk.domain.decisions import Approval, InfoProvided, InfoRequest
from reschedule_desk.domain.lifecycle import RequestState
from reschedule_desk.settings import Settings
from reschedule_desk.storage.database import make_engine, make_sessionmaker
from reschedule_desk.storage.tables import ApplicantRow
from tests.conftest import TEST_PAYLOAD_KEYS, bearer, filed_request, intake_token, running_worker, staff_token
from tests.privacy.test_temporal_sees_no_personal_data import (
    CANARIES,
    CANARY_BIRTH_DATE,
    CANARY_NAME,
    canary_request,
)
from tests.workflows.test_reschedule_request import approval_emailed, state_becomes, submit
from workflows.reschedule_request import RescheduleRequestWorkflow

# The test's SMTP server (aiosmtpd) logs what it receives: it is the applicant's mail
# server here, not part of the desk.
RECEIVING_SIDE = ("mail.log",)
SECRET = TEST_PAYLOAD_KEYS.partition(":")[2]


def everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    """Each record as formatted (with its traceback), its arguments and its extras."""
    parts = []
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    for record in caplog.records:
        if record.name.startswith(RECEIVING_SIDE):
            continue
        parts.append(formatter.format(record))
        parts.append(repr(record.args))
        parts.append(repr({key: value for key, value in vars(record).items() if key not in ("args", "msg")}))
    return "\n".join(parts)


async def test_a_whole_lifecycle_logs_no_personal_data_or_key_at_debug_level(
    caplog: pytest.LogCaptureFixture, time_skipping_env: WorkflowEnvironment, desk_settings: Settings, smtp_server
) -> None:
    caplog.set_level(logging.DEBUG)
    env = time_skipping_env
    settings = replace(desk_settings, smtp_url=smtp_server.url)
    # Filed on the test server's clock, which is where the request is screened.
    request = canary_request(settings.database_url, now=await env.get_current_time())
    async with running_worker(env.client, settings):
        handle = await submit(env, settings, request)
        await state_becomes(handle, RequestState.PENDING_REVIEW)
        await handle.execute_update(
            RescheduleRequestWorkflow.request_info, InfoRequest(officer_id="officer.sok", needed="A photo.")
        )
        # A signal of the wrong shape is dropped, and logged: without what it carried.
        await handle.signal("provide_info", {"answr": f"{CANARY_NAME} {CANARY_BIRTH_DATE}"})  # a typo
        await handle.execute_update(
            RescheduleRequestWorkflow.provide_info, InfoProvided(answer=f"I am {CANARY_NAME}, born {CANARY_BIRTH_DATE}.")
        )
        await handle.execute_update(RescheduleRequestWorkflow.approve, Approval(officer_id="officer.sok"))
        final = await approval_emailed(env, handle)
    assert final.status is RequestState.AWAITING_BOOKING
    assert len(smtp_server.messages) == 3, "acknowledgement, information request, approval"

    logged = everything_logged(caplog)
    assert "dropping the signal" in logged, "the malformed signal was logged"
    assert [canary for canary in CANARIES if canary in logged] == []
    assert SECRET not in logged


def test_a_database_error_names_the_statement_not_the_values(desk_settings: Settings, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    sessions = make_sessionmaker(make_engine(desk_settings.database_url))
    with pytest.raises(IntegrityError) as error:  # no such request: the foreign key refuses it
        with sessions.begin() as session:
            session.add(
                ApplicantRow(
                    request_id="no-such-request", position=0, full_name=CANARY_NAME,
                    date_of_birth=date.fromisoformat(CANARY_BIRTH_DATE),
                    relationship="principal", marital_status="single", on_appointment_letter=True,
                    cspa_confirmed=False,
                )
            )
    assert "INSERT INTO applicants" in str(error.value)
    assert CANARY_NAME not in str(error.value) and CANARY_BIRTH_DATE not in str(error.value)
    assert CANARY_NAME not in caplog.text



async def test_tokens_and_applicant_secrets_are_never_logged(
    caplog: pytest.LogCaptureFixture, dev_env: WorkflowEnvironment, desk_settings: Settings
) -> None:
    caplog.set_level(logging.DEBUG)
    intake = intake_token(desk_settings.database_url)
    officer = staff_token(desk_settings.database_url, "officer.kim", Role.OFFICER, ["nairobi"])
    mistyped = officer[:-1] + ("A" if officer[-1] != "A" else "B")
    app = create_app(desk=Desk(dev_env.client, desk_settings), settings=desk_settings)
    async with running_worker(dev_env.client, desk_settings):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://desk") as api:
            document = filed_request(desk_settings.database_url)
            submitted = await api.post("/api/requests", json=document, headers=bearer(intake))
            secret = submitted.json()["applicant_secret"]
            case = f"/api/requests/{document['case_number']}"
            answers = [
                await api.get(case, headers=bearer(officer)),
                await api.get(case, headers=bearer(mistyped)),
                await api.get(f"{case}/applicant-status", headers={"X-Applicant-Secret": secret}),
                await api.get(f"{case}/applicant-status", headers={"X-Applicant-Secret": secret[::-1]}),
                await api.post(f"{case}/withdraw", json={}, headers={"X-Applicant-Secret": secret}),
            ]
            assert [answer.status_code for answer in answers][1::2] == [401, 401]
            await asyncio.sleep(1)  # the withdrawal's activities log as they run
    app.state.console.close()
    logged = everything_logged(caplog)
    for credential in (intake, officer, mistyped, secret, secret[::-1]):
        assert credential not in logged
        assert credential.rsplit(".", 1)[-1] not in logged
