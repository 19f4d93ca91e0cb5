"""Who may call which route: every API route and the codec endpoint, against every kind
of credential, on the real dev server and worker. A refusal changes nothing: not the
status, not the audit rows, not the outbox, not the workflow's history."""

from __future__ import annotations

import asyncio
import base64
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from reschedule_desk.api import create_app
from reschedule_desk.console.access import Role
from reschedule_desk.console.security import SignInThrottle
from reschedule_desk.desk import CaseNotFound, Desk
from reschedule_desk.domain.request import workflow_id_for
from reschedule_desk.settings import Settings
from reschedule_desk.storage import accounts, tokens
from reschedule_desk.storage.database import make_engine, make_sessionmaker
from reschedule_desk.storage.tables import ApiToken, AuditEvent, OutboxMessage, RequestRow
from tests.conftest import bearer, desk_settings_in, filed_request, intake_token, running_worker, staff_token
from tests.report import report

CREDENTIALS = (
    "none", "officer", "supervisor", "auditor", "admin", "other_post",
    "revoked", "expired", "disabled", "intake", "revoked_intake", "secret", "other_secret",
)
# route: the answer for each credential above, in that order.
TABLE: dict[str, tuple[int, ...]] = {
    #                  none off  sup  aud  adm  oth  rev  exp  dis  int  rin  sec  osec
    "submit":           (401, 403, 403, 403, 403, 403, 401, 401, 401, 201, 401, 401, 401),
    "status":           (401, 200, 200, 200, 403, 403, 401, 401, 401, 403, 401, 401, 401),
    "applicant-status": (401, 403, 403, 403, 403, 403, 401, 401, 401, 200, 401, 200, 401),
    "approve":          (401, 200, 200, 403, 403, 403, 401, 401, 401, 403, 401, 401, 401),
    "deny":             (401, 200, 200, 403, 403, 403, 401, 401, 401, 403, 401, 401, 401),
    "request-info":     (401, 200, 200, 403, 403, 403, 401, 401, 401, 403, 401, 401, 401),
    "claim":            (401, 200, 200, 403, 403, 403, 401, 401, 401, 403, 401, 401, 401),
    "assign":           (401, 403, 200, 403, 403, 403, 401, 401, 401, 403, 401, 401, 401),
    "extend-window":    (401, 403, 200, 403, 403, 403, 401, 401, 401, 403, 401, 401, 401),
    "provide-info":     (401, 403, 403, 403, 403, 403, 401, 401, 401, 200, 401, 200, 401),
    "withdraw":         (401, 403, 403, 403, 403, 403, 401, 401, 401, 200, 401, 200, 401),
    "open-slots":       (401, 403, 403, 403, 403, 403, 401, 401, 401, 200, 401, 200, 401),
    # Let in, then refused by the workflow: a request under review books nothing yet.
    "book":             (401, 403, 403, 403, 403, 403, 401, 401, 401, 409, 401, 409, 401),
    "reschedule-booking": (401, 403, 403, 403, 403, 403, 401, 401, 401, 409, 401, 409, 401),
    "cancel-booking":   (401, 403, 403, 403, 403, 403, 401, 401, 401, 409, 401, 409, 401),
    "record-attendance": (401, 409, 409, 403, 403, 403, 401, 401, 401, 403, 401, 401, 401),
    # The codec cannot tell a payload's post: any officer may decode (README).
    "codec":            (401, 200, 200, 200, 403, 200, 401, 401, 401, 403, 401, 401, 401),
}

# What each (route, credential) got, for the report at the end.
ANSWERED: dict[tuple[str, str], int] = {}

BODIES = {
    "approve": {"note": "Medical hold confirmed."},
    "deny": {"reason": "The case was transferred."},
    "request-info": {"needed": "A photo."},
    "claim": {},
    "assign": {"assignee": "officer.kim"},
    "extend-window": {"business_days": 1, "reason": "Medical board backlog."},
    "provide-info": {"answer": "Sent."},
    "withdraw": {},
    "book": {"day": "2027-01-12", "time": "08:00"},
    "reschedule-booking": {"day": "2027-01-12", "time": "08:00"},
    "cancel-booking": {},
    "record-attendance": {"attended": True},
}
PLAIN_PAYLOADS = {
    "payloads": [
        {"metadata": {"encoding": base64.b64encode(b"json/plain").decode()}, "data": base64.b64encode(b'"x"').decode()}
    ]
}


@dataclass
class Table:
    app: FastAPI
    client: httpx.AsyncClient
    desk: Desk
    temporal: Client
    settings: Settings
    headers: dict[str, dict[str, str]]
    secrets: dict[str, str]
    shared_case: str = ""

    async def pending_review(self) -> str:
        """A new request for a case filed just now, screened and waiting for review."""
        document = filed_request(self.settings.database_url)
        response = await self.client.post("/api/requests", json=document, headers=self.headers["intake"])
        assert response.status_code == 201, response.text
        case_number = document["case_number"]
        self.secrets[case_number] = response.json()["applicant_secret"]
        for _ in range(200):
            if (await self.desk.status(case_number)).status.value == "PENDING_REVIEW":
                return case_number
            await asyncio.sleep(0.05)
        raise AssertionError(f"{case_number} was never screened")

    def credential(self, name: str, case_number: str) -> dict[str, str]:
        if name == "secret":
            return {"X-Applicant-Secret": self.secrets[case_number]}
        if name == "other_secret":
            return {"X-Applicant-Secret": self.secrets[self.shared_case if case_number != self.shared_case else "other"]}
        return self.headers.get(name, {})

    async def call(self, route: str, case_number: str, headers: dict[str, str], submitted: dict | None = None):
        if route == "submit":
            return await self.client.post("/api/requests", json=submitted, headers=headers)
        if route == "codec":
            return await self.client.post("/codec/decode", json=PLAIN_PAYLOADS, headers=headers)
        url = f"/api/requests/{case_number}"
        if route == "status":
            return await self.client.get(url, headers=headers)
        if route in ("applicant-status", "open-slots"):
            return await self.client.get(f"{url}/{route}", headers=headers)
        return await self.client.post(f"{url}/{route}", json=BODIES[route], headers=headers)

    async def footprint(self, case_number: str) -> tuple:
        """What a refusal must leave as it was."""
        status = await self.desk.status(case_number)
        handle = self.temporal.get_workflow_handle(workflow_id_for(case_number))
        actions = [
            event.event_type
            async for event in handle.fetch_history_events()
            if event.event_type
            in (
                EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
                EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
            )
        ]
        engine = make_engine(self.settings.database_url)
        with make_sessionmaker(engine)() as session:
            request_ids = select(RequestRow.request_id).where(RequestRow.case_number == case_number)
            audit = session.scalar(select(func.count()).where(AuditEvent.request_id.in_(request_ids)))
            outbox = session.scalar(select(func.count()).where(OutboxMessage.request_id.in_(request_ids)))
        engine.dispose()
        return status.status, len(status.history), status.assigned_to, status.window_ends_at, actions, audit, outbox


@pytest.fixture(scope="module")
async def table(dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Table]:
    settings = desk_settings_in(tmp_path_factory.mktemp("access"))
    headers = {"none": {}}
    for name, account, role, posts in (
        ("officer", "officer.kim", Role.OFFICER, ["nairobi"]),
        ("supervisor", "supervisor.otieno", Role.SUPERVISOR, ["nairobi"]),
        ("auditor", "auditor.lee", Role.AUDITOR, []),
        ("admin", "admin.ana", Role.ADMIN, []),
        ("other_post", "officer.sok", Role.OFFICER, ["phnom-penh"]),
        ("revoked", "officer.revoked", Role.OFFICER, ["nairobi"]),
        ("expired", "officer.expired", Role.OFFICER, ["nairobi"]),
        ("disabled", "officer.disabled", Role.OFFICER, ["nairobi"]),
    ):
        headers[name] = bearer(staff_token(settings.database_url, account, role, posts))
    headers["intake"] = bearer(intake_token(settings.database_url))
    headers["revoked_intake"] = bearer(intake_token(settings.database_url))
    engine = make_engine(settings.database_url)
    now = datetime.now(UTC)
    with make_sessionmaker(engine).begin() as session:
        tokens.revoke_staff_tokens(session, "officer.revoked")
        expired = accounts.account_named(session, "officer.expired")
        session.execute(
            update(ApiToken).where(ApiToken.account_id == expired.id).values(expires_at=now - timedelta(seconds=1))
        )
        accounts.set_disabled(session, "officer.disabled", True, now)
        revoked_token_id = headers["revoked_intake"]["Authorization"].split(".")[1]
        revoked = session.scalar(select(ApiToken).where(ApiToken.token_id == revoked_token_id))
        tokens.revoke_intake_client(session, revoked.intake_client.name, now)
    engine.dispose()

    desk = Desk(dev_env.client, settings)
    app = create_app(desk=desk, settings=settings)
    # Many invalid credentials on purpose, from one address: the slowdown has its own test.
    app.state.console.credential_throttle = SignInThrottle(limit=100_000)
    async with running_worker(dev_env.client, settings):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://desk") as client:
            found = Table(app, client, desk, dev_env.client, settings, headers, {})
            found.shared_case = await found.pending_review()
            found.secrets["other"] = found.secrets[await found.pending_review()]
            yield found
    app.state.console.close()


@pytest.mark.parametrize("credential", CREDENTIALS)
@pytest.mark.parametrize("route", TABLE)
async def test_who_may_call_each_route(table: Table, route: str, credential: str) -> None:
    expected = TABLE[route][CREDENTIALS.index(credential)]
    if expected < 300 and route not in ("submit", "codec", "status", "applicant-status", "open-slots"):
        case_number = await table.pending_review()  # a request of its own to change
        if route == "provide-info":
            asked = await table.call("request-info", case_number, table.headers["officer"])
            assert asked.status_code == 200, asked.text
    else:
        case_number = table.shared_case
    submitted = filed_request(table.settings.database_url) if route == "submit" else None
    before = await table.footprint(case_number)

    response = await table.call(route, case_number, table.credential(credential, case_number), submitted)

    assert response.status_code == expected, response.text
    ANSWERED[(route, credential)] = response.status_code
    if expected == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    if expected >= 400:
        assert response.json()["detail"]
        assert await table.footprint(case_number) == before
        if submitted is not None:
            with pytest.raises(CaseNotFound):
                await table.desk.status(submitted["case_number"])


async def test_a_403_names_what_is_missing(table: Table) -> None:
    url = f"/api/requests/{table.shared_case}"
    other_post = await table.client.post(f"{url}/approve", json={}, headers=table.headers["other_post"])
    assert other_post.json()["detail"] == "nairobi is not one of your posts"
    auditor = await table.client.post(f"{url}/approve", json={}, headers=table.headers["auditor"])
    assert auditor.json()["detail"] == "an auditor may not decide requests"
    officer = await table.client.post(f"{url}/assign", json={"assignee": "officer.kim"}, headers=table.headers["officer"])
    assert officer.json()["detail"] == "an officer may not reassign requests"


async def test_bad_secrets_from_one_address_are_slowed_down_like_failed_sign_ins(table: Table) -> None:
    console = table.app.state.console
    kept, console.credential_throttle = console.credential_throttle, SignInThrottle(limit=3)
    try:
        url = f"/api/requests/{table.shared_case}/applicant-status"
        answers = [
            (await table.client.get(url, headers={"X-Applicant-Secret": "not-the-secret"})).status_code
            for _ in range(3)
        ]
        assert answers == [401, 401, 429]
        right = await table.client.get(url, headers={"X-Applicant-Secret": table.secrets[table.shared_case]})
        assert right.status_code == 429 and int(right.headers["Retry-After"]) > 0
        # A staff token is nothing to guess: it still works from that address.
        staff = await table.client.get(f"/api/requests/{table.shared_case}", headers=table.headers["auditor"])
        assert staff.status_code == 200
    finally:
        console.credential_throttle = kept


async def test_a_token_records_when_it_was_last_used(table: Table) -> None:
    await table.client.get(f"/api/requests/{table.shared_case}", headers=table.headers["auditor"])
    engine = make_engine(table.settings.database_url)
    with make_sessionmaker(engine)() as session:
        (auditor_token,) = tokens.tokens_of(session, accounts.account_named(session, "auditor.lee"))
        assert auditor_token.last_used_at is not None
    engine.dispose()


def test_the_whole_table_was_answered_as_written() -> None:
    if len(ANSWERED) < len(TABLE) * len(CREDENTIALS):
        pytest.skip("only part of the table ran")
    assert ANSWERED == {
        (route, credential): TABLE[route][column] for route in TABLE for column, credential in enumerate(CREDENTIALS)
    }
    counts = Counter(ANSWERED.values())
    report(
        f"access table: {len(TABLE)} routes x {len(CREDENTIALS)} credentials = {len(ANSWERED)} calls, "
        + ", ".join(f"{code} x{count}" for code, count in sorted(counts.items()))
        + "; every refusal left the status, the audit rows, the outbox and the workflow history as they were"
    )
