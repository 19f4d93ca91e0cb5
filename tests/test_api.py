"""The JSON API against the real dev server and worker: what applicants' clients see."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from reschedule_desk.api import create_app
from reschedule_desk.desk import Desk
from reschedule_desk.settings import Settings
from tests.conftest import make_request, new_case_number, running_worker


@pytest.fixture
async def api(dev_env: WorkflowEnvironment, desk_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(desk=Desk(dev_env.client, desk_settings))
    async with running_worker(dev_env.client, desk_settings):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://desk") as client:
            yield client


async def submitted(api: httpx.AsyncClient, **changes) -> str:
    document = make_request(**changes)
    response = await api.post("/api/requests", json=document)
    assert response.status_code == 201, response.text
    return document["case_number"]


async def pending_review(api: httpx.AsyncClient, case_number: str) -> dict:
    for _ in range(200):
        body = (await api.get(f"/api/requests/{case_number}")).json()
        if body["status"] == "PENDING_REVIEW":
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"{case_number} never reached PENDING_REVIEW: {body}")


async def test_submitting_a_request_answers_201_with_its_status(api: httpx.AsyncClient) -> None:
    document = make_request()
    response = await api.post("/api/requests", json=document)
    assert response.status_code == 201
    assert response.json()["status"] == "SUBMITTED"
    assert response.json()["case_number"] == document["case_number"]
    body = await pending_review(api, document["case_number"])
    assert body["window_ends_at"] and body["approval_email_release_at"]


async def test_a_second_request_for_a_case_with_a_live_one_is_refused_with_409(api: httpx.AsyncClient) -> None:
    document = make_request()
    assert (await api.post("/api/requests", json=document)).status_code == 201
    again = await api.post("/api/requests", json=document)
    assert again.status_code == 409
    assert "already has a request in progress" in again.json()["detail"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("case_number", "12345"),
        ("visa_class", "not a class"),
        ("contact_email", "not-an-email"),
        ("reason_category", "bored"),
        ("applicants", []),
    ],
)
async def test_bad_input_gets_422_naming_the_field_and_starts_nothing(
    api: httpx.AsyncClient, field: str, value: object
) -> None:
    document = make_request(**{field: value})
    response = await api.post("/api/requests", json=document)
    assert response.status_code == 422
    assert any(field in error["loc"] for error in response.json()["detail"])


async def test_an_unknown_post_gets_422_naming_the_known_posts(api: httpx.AsyncClient) -> None:
    response = await api.post("/api/requests", json=make_request(post="atlantis"))
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "post"] and "nairobi" in error["msg"]


async def test_an_unknown_case_is_404(api: httpx.AsyncClient) -> None:
    case_number = new_case_number()
    assert (await api.get(f"/api/requests/{case_number}")).status_code == 404
    response = await api.post(f"/api/requests/{case_number}/approve", json={"officer_id": "officer.kim"})
    assert response.status_code == 404


async def test_officer_decisions_answer_with_the_new_status(api: httpx.AsyncClient) -> None:
    case_number = await submitted(api)
    await pending_review(api, case_number)
    asked = await api.post(
        f"/api/requests/{case_number}/request-info", json={"officer_id": "officer.kim", "needed": "A photo."}
    )
    assert asked.status_code == 200 and asked.json()["status"] == "INFO_REQUESTED"
    answered = await api.post(f"/api/requests/{case_number}/provide-info", json={"answer": "Sent."})
    assert answered.json()["status"] == "PENDING_REVIEW"
    denied = await api.post(
        f"/api/requests/{case_number}/deny", json={"officer_id": "officer.kim", "reason": "Case transferred."}
    )
    assert denied.status_code == 200 and denied.json()["status"] == "DENIED"


async def test_an_action_not_allowed_now_is_409_with_the_validators_reason(api: httpx.AsyncClient) -> None:
    case_number = await submitted(api)
    await pending_review(api, case_number)
    response = await api.post(f"/api/requests/{case_number}/provide-info", json={"answer": "Here it is."})
    assert response.status_code == 409
    assert response.json()["detail"] == "cannot provide_info: the request is PENDING_REVIEW, not INFO_REQUESTED"
    status = (await api.get(f"/api/requests/{case_number}")).json()
    assert [step["action"] for step in status["history"]] == ["screen"]


async def test_a_decision_without_a_reason_or_officer_is_422(api: httpx.AsyncClient) -> None:
    case_number = await submitted(api)
    no_reason = await api.post(f"/api/requests/{case_number}/deny", json={"officer_id": "officer.kim"})
    assert no_reason.status_code == 422
    unknown_field = await api.post(f"/api/requests/{case_number}/approve", json={"officer": "officer.kim"})
    assert unknown_field.status_code == 422


async def test_withdrawing_a_closed_request_is_409(api: httpx.AsyncClient) -> None:
    case_number = await submitted(api)
    await pending_review(api, case_number)
    assert (await api.post(f"/api/requests/{case_number}/withdraw", json={})).status_code == 200
    for _ in range(100):  # the workflow closes once its withdrawal email is sent
        response = await api.post(f"/api/requests/{case_number}/withdraw", json={})
        if "already WITHDRAWN" in response.text:
            break
        await asyncio.sleep(0.05)
    assert response.status_code == 409
    assert response.json()["detail"] == "cannot withdraw: the request is already WITHDRAWN"


async def test_the_openapi_schema_describes_every_endpoint(api: httpx.AsyncClient) -> None:
    schema = (await api.get("/openapi.json")).json()
    assert set(schema["paths"]) == {
        "/api/requests",
        "/api/requests/{case_number}",
        "/api/requests/{case_number}/approve",
        "/api/requests/{case_number}/deny",
        "/api/requests/{case_number}/request-info",
        "/api/requests/{case_number}/provide-info",
        "/api/requests/{case_number}/withdraw",
    }
