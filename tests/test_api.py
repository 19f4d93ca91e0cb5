"""The JSON API against the real dev server and worker, with real credentials: what the
scheduling site, the applicant and staff scripts see. Who may call which route is the
table test's (tests/test_api_access.py); these are the answers themselves."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from email import policy
from email.parser import BytesParser

import httpx
import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from reschedule_desk.api import create_app
from reschedule_desk.applicant_secrets import MARKER
from reschedule_desk.console.access import Role
from reschedule_desk.desk import Desk
from reschedule_desk.settings import Settings
from reschedule_desk.storage.database import make_engine, make_sessionmaker
from reschedule_desk.storage.tables import OutboxMessage
from tests.conftest import bearer, intake_token, make_request, new_case_number, running_worker, staff_token

OFFICER = "officer.kim"
SUPERVISOR = "supervisor.otieno"


class Callers:
    """One httpx client on the app, and the headers of each kind of caller."""

    def __init__(self, client: httpx.AsyncClient, settings: Settings) -> None:
        self.client = client
        self.intake = bearer(intake_token(settings.database_url))
        self.officer = bearer(staff_token(settings.database_url, OFFICER, Role.OFFICER, ["nairobi"]))
        self.other_officer = bearer(staff_token(settings.database_url, "officer.njeri", Role.OFFICER, ["nairobi"]))
        self.supervisor = bearer(staff_token(settings.database_url, SUPERVISOR, Role.SUPERVISOR, ["nairobi"]))
        self.secrets: dict[str, str] = {}

    async def submit(self, **changes) -> str:
        document = make_request(**changes)
        response = await self.client.post("/api/requests", json=document, headers=self.intake)
        assert response.status_code == 201, response.text
        self.secrets[document["case_number"]] = response.json()["applicant_secret"]
        return document["case_number"]

    def applicant(self, case_number: str) -> dict[str, str]:
        return {"X-Applicant-Secret": self.secrets[case_number]}

    async def pending_review(self, case_number: str) -> dict:
        for _ in range(200):
            body = (await self.client.get(f"/api/requests/{case_number}", headers=self.officer)).json()
            if body.get("status") == "PENDING_REVIEW":
                return body
            await asyncio.sleep(0.05)
        raise AssertionError(f"{case_number} never reached PENDING_REVIEW: {body}")


@pytest.fixture
async def api(dev_env: WorkflowEnvironment, desk_settings: Settings) -> AsyncIterator[Callers]:
    app = create_app(desk=Desk(dev_env.client, desk_settings), settings=desk_settings)
    async with running_worker(dev_env.client, desk_settings):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://desk") as client:
            yield Callers(client, desk_settings)
    app.state.console.close()


async def test_submitting_a_request_answers_201_with_its_status_and_the_applicant_secret(api: Callers) -> None:
    document = make_request()
    response = await api.client.post("/api/requests", json=document, headers=api.intake)
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "SUBMITTED" and body["case_number"] == document["case_number"]
    assert len(body["applicant_secret"]) >= 40
    status = await api.pending_review(document["case_number"])
    assert status["window_ends_at"] and status["approval_email_release_at"]


async def test_the_acknowledgement_email_carries_the_secret_and_the_outbox_does_not(
    api: Callers, desk_settings: Settings
) -> None:
    case_number = await api.submit()
    await api.pending_review(case_number)
    secret = api.secrets[case_number]
    for _ in range(200):
        sent = [p for p in desk_settings.mail_dir.glob("*.eml") if p.stem.endswith("-acknowledgement")]
        if sent:
            break
        await asyncio.sleep(0.05)
    (path,) = sent
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert secret in message.get_body(("plain",)).get_content()
    assert secret in message.get_body(("html",)).get_content()
    engine = make_engine(desk_settings.database_url)
    with make_sessionmaker(engine)() as session:
        (stored,) = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "acknowledgement")).all()
        assert MARKER in stored.text_body and secret not in stored.text_body + (stored.html_body or "")
    engine.dispose()


async def test_a_second_request_for_a_case_with_a_live_one_is_refused_with_409(api: Callers) -> None:
    document = make_request()
    assert (await api.client.post("/api/requests", json=document, headers=api.intake)).status_code == 201
    again = await api.client.post("/api/requests", json=document, headers=api.intake)
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
async def test_bad_input_gets_422_naming_the_field_and_starts_nothing(api: Callers, field: str, value: object) -> None:
    response = await api.client.post("/api/requests", json=make_request(**{field: value}), headers=api.intake)
    assert response.status_code == 422
    assert any(field in error["loc"] for error in response.json()["detail"])


async def test_an_unknown_post_gets_422_naming_the_known_posts(api: Callers) -> None:
    response = await api.client.post("/api/requests", json=make_request(post="atlantis"), headers=api.intake)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "post"] and "nairobi" in error["msg"]


async def test_an_unknown_case_is_404_for_staff(api: Callers) -> None:
    case_number = new_case_number()
    assert (await api.client.get(f"/api/requests/{case_number}", headers=api.officer)).status_code == 404
    response = await api.client.post(f"/api/requests/{case_number}/approve", json={}, headers=api.officer)
    assert response.status_code == 404


async def test_each_decision_is_recorded_for_the_tokens_account(api: Callers) -> None:
    case_number = await api.submit()
    await api.pending_review(case_number)
    url = f"/api/requests/{case_number}"
    steps = [
        ("claim", {}, api.officer),
        ("assign", {"assignee": "officer.njeri"}, api.supervisor),
        ("extend-window", {"business_days": 2, "reason": "Medical board backlog."}, api.supervisor),
        ("request-info", {"needed": "A photo."}, api.other_officer),
    ]
    for action, body, headers in steps:
        response = await api.client.post(f"{url}/{action}", json=body, headers=headers)
        assert response.status_code == 200, (action, response.text)
    answered = await api.client.post(f"{url}/provide-info", json={"answer": "Sent."}, headers=api.applicant(case_number))
    assert answered.status_code == 200 and answered.json()["status"] == "PENDING_REVIEW"
    # The request is officer.njeri's now: the workflow refuses another officer's decision.
    approved = await api.client.post(
        f"{url}/approve", json={"note": "Medical hold confirmed."}, headers=api.other_officer
    )
    assert approved.json()["status"] == "APPROVED", approved.text
    history = approved.json()["history"]
    assert [(step["action"], step["actor"]) for step in history] == [
        ("screen", "system"),
        ("claim", OFFICER),
        ("assign", SUPERVISOR),
        ("extend_window", SUPERVISOR),
        ("request_info", "officer.njeri"),
        ("provide_info", "applicant"),
        ("approve", "officer.njeri"),
    ]


async def test_a_denial_is_recorded_for_the_tokens_account(api: Callers) -> None:
    case_number = await api.submit()
    await api.pending_review(case_number)
    denied = await api.client.post(
        f"/api/requests/{case_number}/deny", json={"reason": "Case transferred."}, headers=api.officer
    )
    assert denied.status_code == 200 and denied.json()["status"] == "DENIED"
    assert denied.json()["history"][-1]["actor"] == OFFICER


@pytest.mark.parametrize("field", ["officer_id", "supervisor_id"])
async def test_a_body_that_names_the_actor_is_422_naming_the_field(api: Callers, field: str) -> None:
    case_number = await api.submit()
    await api.pending_review(case_number)
    response = await api.client.post(
        f"/api/requests/{case_number}/approve", json={field: "anyone.at.all"}, headers=api.officer
    )
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", field] and "token's account" in error["msg"]
    status = await api.pending_review(case_number)
    assert [step["action"] for step in status["history"]] == ["screen"]


async def test_the_applicant_sees_their_status_without_staff_names(api: Callers) -> None:
    case_number = await api.submit()
    await api.pending_review(case_number)
    await api.client.post(f"/api/requests/{case_number}/claim", json={}, headers=api.officer)
    await api.client.post(
        f"/api/requests/{case_number}/request-info", json={"needed": "A letter from the panel physician."},
        headers=api.officer,
    )
    seen = await api.client.get(f"/api/requests/{case_number}/applicant-status", headers=api.applicant(case_number))
    assert seen.status_code == 200
    body = seen.json()
    assert body["status"] == "INFO_REQUESTED"
    assert body["information_needed"] == "A letter from the panel physician."
    assert body["answer_due_at"]
    assert [step["status"] for step in body["steps"]] == ["PENDING_REVIEW", "INFO_REQUESTED"]
    assert OFFICER not in seen.text and "assigned" not in seen.text


async def test_the_secret_is_also_accepted_as_a_bearer_token(api: Callers) -> None:
    case_number = await api.submit()
    await api.pending_review(case_number)
    response = await api.client.get(
        f"/api/requests/{case_number}/applicant-status", headers=bearer(api.secrets[case_number])
    )
    assert response.status_code == 200


async def test_an_action_not_allowed_now_is_409_with_the_validators_reason(api: Callers) -> None:
    case_number = await api.submit()
    await api.pending_review(case_number)
    response = await api.client.post(
        f"/api/requests/{case_number}/provide-info", json={"answer": "Here it is."}, headers=api.applicant(case_number)
    )
    assert response.status_code == 409
    assert response.json()["detail"] == "cannot provide_info: the request is PENDING_REVIEW, not INFO_REQUESTED"
    status = await api.pending_review(case_number)
    assert [step["action"] for step in status["history"]] == ["screen"]


async def test_a_decision_without_a_reason_is_422(api: Callers) -> None:
    case_number = await api.submit()
    no_reason = await api.client.post(f"/api/requests/{case_number}/deny", json={}, headers=api.officer)
    assert no_reason.status_code == 422
    unknown_field = await api.client.post(
        f"/api/requests/{case_number}/approve", json={"officer": OFFICER}, headers=api.officer
    )
    assert unknown_field.status_code == 422


async def test_reassigning_to_someone_not_of_the_post_is_422_naming_the_assignee(api: Callers) -> None:
    case_number = await api.submit()
    await api.pending_review(case_number)
    response = await api.client.post(
        f"/api/requests/{case_number}/assign", json={"assignee": "officer.nobody"}, headers=api.supervisor
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "assignee"]


async def test_withdrawing_a_closed_request_is_409(api: Callers) -> None:
    case_number = await api.submit()
    await api.pending_review(case_number)
    url, headers = f"/api/requests/{case_number}/withdraw", api.applicant(case_number)
    assert (await api.client.post(url, json={}, headers=headers)).status_code == 200
    for _ in range(100):  # the workflow closes once its withdrawal email is sent
        response = await api.client.post(url, json={}, headers=headers)
        if "already WITHDRAWN" in response.text:
            break
        await asyncio.sleep(0.05)
    assert response.status_code == 409
    assert response.json()["detail"] == "cannot withdraw: the request is already WITHDRAWN"


async def test_the_openapi_schema_describes_every_endpoint_and_its_credentials(api: Callers) -> None:
    schema = (await api.client.get("/openapi.json")).json()
    assert set(schema["paths"]) == {
        "/api/requests",
        "/api/requests/{case_number}",
        "/api/requests/{case_number}/applicant-status",
        "/api/requests/{case_number}/approve",
        "/api/requests/{case_number}/deny",
        "/api/requests/{case_number}/request-info",
        "/api/requests/{case_number}/claim",
        "/api/requests/{case_number}/assign",
        "/api/requests/{case_number}/extend-window",
        "/api/requests/{case_number}/provide-info",
        "/api/requests/{case_number}/withdraw",
    }
    assert set(schema["components"]["securitySchemes"]) == {"StaffToken", "IntakeClientToken", "ApplicantSecret"}
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            assert operation.get("security"), f"{path} declares no credential"
    assert "officer_id" not in str(schema["components"]["schemas"]["ApprovalBody"])
