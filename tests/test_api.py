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
from reschedule_desk.domain.eligibility import RULE_CASE_ON_FILE, RULE_REASON_ACCEPTED
from reschedule_desk.domain.request import POST_OWNED_APPLICANT_FIELDS, POST_OWNED_REQUEST_FIELDS
from reschedule_desk.settings import Settings
from reschedule_desk.storage import repository
from reschedule_desk.storage.database import make_engine, make_sessionmaker
from reschedule_desk.storage.tables import OutboxMessage, RequestRow
from tests.conftest import (
    bearer,
    file_cases,
    filed_request,
    intake_token,
    make_case,
    make_request,
    new_case_number,
    running_worker,
    staff_token,
)

OFFICER = "officer.kim"
SUPERVISOR = "supervisor.otieno"


class Callers:
    """One httpx client on the app, and the headers of each kind of caller."""

    def __init__(self, client: httpx.AsyncClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self.intake = bearer(intake_token(settings.database_url))
        self.officer = bearer(staff_token(settings.database_url, OFFICER, Role.OFFICER, ["nairobi"]))
        self.other_officer = bearer(staff_token(settings.database_url, "officer.njeri", Role.OFFICER, ["nairobi"]))
        self.supervisor = bearer(staff_token(settings.database_url, SUPERVISOR, Role.SUPERVISOR, ["nairobi"]))
        self.secrets: dict[str, str] = {}

    def filed_request(self, **case_changes) -> dict:
        """A request for a case filed in the desk's case file just now."""
        return filed_request(self.settings.database_url, **case_changes)

    async def submit(self, **case_changes) -> str:
        document = self.filed_request(**case_changes)
        response = await self.client.post("/api/requests", json=document, headers=self.intake)
        assert response.status_code == 201, response.text
        self.secrets[document["case_number"]] = response.json()["applicant_secret"]
        return document["case_number"]

    def applicant(self, case_number: str) -> dict[str, str]:
        return {"X-Applicant-Secret": self.secrets[case_number]}

    async def pending_review(self, case_number: str) -> dict:
        return await self.becomes(case_number, "PENDING_REVIEW")

    async def becomes(self, case_number: str, state: str) -> dict:
        for _ in range(200):
            body = (await self.client.get(f"/api/requests/{case_number}", headers=self.officer)).json()
            if body.get("status") == state:
                return body
            await asyncio.sleep(0.05)
        raise AssertionError(f"{case_number} never reached {state}: {body}")

    def stored_rows(self, case_number: str) -> list[RequestRow]:
        engine = make_engine(self.settings.database_url)
        try:
            with make_sessionmaker(engine)() as session:
                return list(session.scalars(select(RequestRow).where(RequestRow.case_number == case_number)))
        finally:
            engine.dispose()


@pytest.fixture
async def api(dev_env: WorkflowEnvironment, desk_settings: Settings) -> AsyncIterator[Callers]:
    app = create_app(desk=Desk(dev_env.client, desk_settings), settings=desk_settings)
    async with running_worker(dev_env.client, desk_settings):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://desk") as client:
            yield Callers(client, desk_settings)
    app.state.console.close()


async def test_submitting_a_request_answers_201_with_its_status_and_the_applicant_secret(api: Callers) -> None:
    document = api.filed_request()
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
    document = api.filed_request()  # eligible: its request stays open
    assert (await api.client.post("/api/requests", json=document, headers=api.intake)).status_code == 201
    again = await api.client.post("/api/requests", json=document, headers=api.intake)
    assert again.status_code == 409
    assert "already has a request in progress" in again.json()["detail"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("case_number", "12345"),
        ("reason", "   "),
        ("contact_email", "not-an-email"),
        ("reason_category", "bored"),
        ("applicants", []),
        ("applicants", [{"full_name": "Wanjiru Kamau", "date_of_birth": "21 June 1990"}]),
    ],
)
async def test_bad_input_gets_422_naming_the_field_and_starts_nothing(api: Callers, field: str, value: object) -> None:
    document = api.filed_request()
    response = await api.client.post("/api/requests", json={**document, field: value}, headers=api.intake)
    assert response.status_code == 422
    assert any(field in error["loc"] for error in response.json()["detail"])
    await nothing_started(api, document["case_number"])


async def nothing_started(api: Callers, case_number: str) -> None:
    """No workflow for the case, so no row, no audit step, no email either."""
    assert (await api.client.get(f"/api/requests/{case_number}", headers=api.officer)).status_code == 404
    assert api.stored_rows(case_number) == []
    assert not [path for path in api.settings.mail_dir.glob("*.eml") if case_number in path.name]


# What an applicant used to send, and might still: true or not, only the case file says it.
POST_OWNED_VALUES = {
    "original_appointment_at": "2026-10-14T08:30:00",
    "visa_class": "IR1",
    "visa_class_on_letter": "IR1",
    "priority_date": "2024-03-02",
    "interviewed_already": False,
    "last_contact_on": "2026-09-30",
    "petitioner": {"full_name": "David Otieno", "date_of_birth": "1985-04-12"},
    "relationship": "principal",
    "marital_status": "married",
    "on_appointment_letter": True,
    "cspa_confirmed": True,
}


def test_every_post_owned_field_is_tried() -> None:
    assert set(POST_OWNED_VALUES) == {*POST_OWNED_REQUEST_FIELDS, *POST_OWNED_APPLICANT_FIELDS}


@pytest.mark.parametrize("field", POST_OWNED_REQUEST_FIELDS)
async def test_a_post_owned_field_in_the_request_is_422_naming_it_and_starts_nothing(api: Callers, field: str) -> None:
    document = api.filed_request()
    response = await api.client.post(
        "/api/requests", json={**document, field: POST_OWNED_VALUES[field]}, headers=api.intake
    )
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["msg"].split(":")[0].endswith(field), error
    assert "the post's case file holds this" in error["msg"]
    await nothing_started(api, document["case_number"])


@pytest.mark.parametrize("field", POST_OWNED_APPLICANT_FIELDS)
async def test_a_post_owned_field_of_an_applicant_is_422_naming_it_and_starts_nothing(
    api: Callers, field: str
) -> None:
    document = api.filed_request()
    principal = {**document["applicants"][0], field: POST_OWNED_VALUES[field]}
    response = await api.client.post(
        "/api/requests", json={**document, "applicants": [principal]}, headers=api.intake
    )
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"][:3] == ["body", "applicants", 0], error
    assert error["msg"].split(":")[0].endswith(field), error
    await nothing_started(api, document["case_number"])


async def test_several_post_owned_fields_are_all_named(api: Callers) -> None:
    document = api.filed_request()
    sent = {name: POST_OWNED_VALUES[name] for name in ("visa_class", "last_contact_on", "petitioner")}
    response = await api.client.post("/api/requests", json={**document, **sent}, headers=api.intake)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    named = error["msg"].split(":")[0]
    assert all(name in named for name in sent), error
    assert "these" in error["msg"]
    await nothing_started(api, document["case_number"])


async def test_an_unknown_case_is_screened_ineligible_saying_only_to_submit_an_inquiry(
    api: Callers, posts
) -> None:
    nairobi = posts.post("nairobi")
    # One case no post holds, and one Phnom Penh holds, with its own facts and people, sent
    # to Nairobi: both are unknown to Nairobi, and the applicant learns nothing of either.
    elsewhere = make_case(
        "phnom-penh", visa_class="F2A", preference_category="F2A", priority_date="2019-07-04",
        petitioner_id="PHP-P-004711", interviewed_on="2026-01-05",
        applicants=[
            {"full_name": "Wanjiru Kamau", "date_of_birth": "1990-06-21", "relationship": "principal",
             "marital_status": "married"},
            {"full_name": "Sophea Rosterperson", "date_of_birth": "1988-08-08", "relationship": "spouse",
             "marital_status": "married"},
        ],
    )
    file_cases(api.settings.database_url, "phnom-penh", elsewhere)
    leaks = [
        "Phnom Penh", "phnom-penh", "F2A", "2019-07-04", "PHP-P-004711", "2026-01-05", "Sophea", "1988-08-08",
        elsewhere["original_appointment_at"][:10], elsewhere["last_contact_on"],
    ]
    answers = {}
    for which, document in (
        ("never filed", make_request("nairobi")),
        ("another post's", make_request("nairobi", case=elsewhere)),
    ):
        case_number = document["case_number"]
        response = await api.client.post("/api/requests", json=document, headers=api.intake)
        assert response.status_code == 201, (which, response.text)
        api.secrets[case_number] = response.json()["applicant_secret"]
        status = await api.becomes(case_number, "INELIGIBLE")

        (failed,) = status["failed_rules"]
        assert failed["rule"] == RULE_CASE_ON_FILE, which
        assert failed["explanation"] == (
            f"{nairobi.name} has no case {case_number}. Please check the case number on your appointment letter. "
            f"Please do not reschedule an appointment; submit an inquiry instead: {nairobi.contacts.inquiry_url}"
        ), which
        seen = await api.client.get(f"/api/requests/{case_number}/applicant-status", headers=api.applicant(case_number))
        assert seen.json()["failed_rules"] == [failed]
        # Screened no further: no rule read facts the post does not have.
        engine = make_engine(api.settings.database_url)
        with make_sessionmaker(engine)() as session:
            (row,) = session.scalars(select(RequestRow).where(RequestRow.case_number == case_number))
            outcomes = repository.screening_outcomes(session, row.request_id)
            assert [(o.rule, o.passed) for o in outcomes] == [(RULE_REASON_ACCEPTED, True), (RULE_CASE_ON_FILE, False)]
            assert (row.visa_class, row.priority_date, row.original_appointment_at) == (None, None, None)
        engine.dispose()
        email = await ineligible_email(api, case_number)
        assert nairobi.contacts.inquiry_url in email and "(rule: case_on_file_at_post)" in email
        shown = " ".join([str(status), seen.text, email])
        assert [leak for leak in leaks if leak in shown] == [], which
        answers[which] = failed["explanation"].replace(case_number, "<case>")
    assert answers["never filed"] == answers["another post's"], "nothing tells the two apart"


async def ineligible_email(api: Callers, case_number: str) -> str:
    for _ in range(200):
        sent = [p for p in api.settings.mail_dir.glob("*.eml") if case_number in p.name and p.stem.endswith("-ineligible")]
        if sent:
            (path,) = sent
            message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
            return message.get_body(("plain",)).get_content()
        await asyncio.sleep(0.05)
    raise AssertionError(f"no ineligible email for {case_number}")


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
        "/api/requests/{case_number}/open-slots",
        "/api/requests/{case_number}/book",
        "/api/requests/{case_number}/reschedule-booking",
        "/api/requests/{case_number}/cancel-booking",
        "/api/requests/{case_number}/record-attendance",
    }
    assert set(schema["components"]["securitySchemes"]) == {"StaffToken", "IntakeClientToken", "ApplicantSecret"}
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            assert operation.get("security"), f"{path} declares no credential"
    assert "officer_id" not in str(schema["components"]["schemas"]["ApprovalBody"])
