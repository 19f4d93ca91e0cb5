"""The API's own OpenAPI schema, fuzzed with schemathesis against the desk on loopback
(dev server, worker.py and the API under uvicorn, each its own process), once without any
credential and once with the credential each route takes: no 500s, every refusal a 4xx
that says what is wrong, and nothing stored for a refused request."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from sqlalchemy import select
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from reschedule_desk.domain.request import workflow_id_for
from reschedule_desk.api import create_app
from reschedule_desk.settings import DEFAULT_POSTS_FILE, Settings
from reschedule_desk.storage.database import make_engine, make_sessionmaker, migrate
from reschedule_desk.storage.tables import RequestRow
from reschedule_desk.callers import APPLICANT_SECRET_HEADER
from reschedule_desk.console.access import Role
from tests.conftest import TEST_DATA_CONVERTER, TEST_PAYLOAD_KEYS, bearer, intake_token, staff_token
from tests.faults.processes import ApiProcess, DevServer, WorkerProcess
from tests.report import report

EXAMPLES_PER_OPERATION = 60

# What the fuzz sent to POST /api/requests, by outcome: case numbers as typed.
ACCEPTED: set[str] = set()
REFUSED: set[str] = set()
TRIED: list[str] = []
# Answers by status code, without and with credentials.
STATUSES: dict[str, Counter] = {"without credentials": Counter(), "with credentials": Counter()}

# The routes an applicant's side calls (the intake client's token); staff routes get a
# supervisor's token, who may do everything an officer may.
APPLICANT_SIDE = (
    "/applicant-status", "/provide-info", "/withdraw", "/open-slots", "/book", "/reschedule-booking", "/cancel-booking",
)


class Desk:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.database_url = f"sqlite:///{workdir / 'desk.sqlite3'}"
        self.server = DevServer(workdir)
        env = {
            **os.environ,
            "TEMPORAL_ADDRESS": self.server.address,
            "DATABASE_URL": self.database_url,
            "RESCHEDULE_POSTS": str(DEFAULT_POSTS_FILE),
            "RESCHEDULE_TASK_QUEUE": f"fuzz-{uuid.uuid4().hex[:8]}",
            "RESCHEDULE_VAR_DIR": str(workdir),
            "RESCHEDULE_PAYLOAD_KEYS": TEST_PAYLOAD_KEYS,
        }
        env.pop("SMTP_URL", None)  # mail goes to the file sink in workdir
        self.worker = WorkerProcess("worker", workdir, env)
        self.api = ApiProcess(workdir, env)
        self.intake_token = self.supervisor_token = ""

    def credential_for(self, method: str, path: str) -> dict[str, str]:
        if (method, path) == ("POST", "/api/requests") or path.endswith(APPLICANT_SIDE):
            return bearer(self.intake_token)
        return bearer(self.supervisor_token)


@pytest.fixture(scope="module")
def desk_on_loopback(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    desk = Desk(tmp_path_factory.mktemp("fuzz"))
    migrate(desk.database_url)
    desk.intake_token = intake_token(desk.database_url)
    desk.supervisor_token = staff_token(desk.database_url, "supervisor.fuzz", Role.SUPERVISOR, ["nairobi", "phnom-penh"])
    try:
        desk.server.start()
        desk.worker.start()
        desk.api.start()
        yield desk
    finally:
        desk.api.stop()
        desk.worker.stop()
        desk.server.kill()


def applicants_api_schema() -> dict:
    """The app's own OpenAPI schema, the applicants' part: the console's pages (HTML forms)
    are tested with the console. Built without starting anything."""
    app = create_app(desk=object(), settings=Settings.from_env({}))
    return app.openapi()


@schemathesis.check
def a_refusal_says_what_is_wrong(ctx, response, case) -> None:
    """Every 4xx carries a `detail`: a sentence, or for 422 each field with its message."""
    if not 400 <= response.status_code < 500:
        return
    body = response.json()
    detail = body.get("detail") if isinstance(body, dict) else None
    assert detail, f"{response.status_code} without a detail: {response.text[:200]}"
    if isinstance(detail, list):
        for error in detail:
            assert error.get("loc") and error.get("msg"), f"a 422 entry without its field or message: {error}"
    else:
        assert isinstance(detail, str) and len(detail) > 8, f"a refusal too vague to act on: {detail!r}"


schema = schemathesis.openapi.from_dict(applicants_api_schema()).include(path_regex=r"^/api/")


def call_and_check(case, desk: Desk, credential: dict[str, str], kind: str) -> None:
    # Schemathesis fills in the declared schemes with values of its own: replace them.
    case.headers = {
        name: value
        for name, value in (case.headers or {}).items()
        if name.lower() not in ("authorization", APPLICANT_SECRET_HEADER.lower())
    } | credential
    response = case.call(base_url=desk.api.url, timeout=60)
    case.validate_response(
        response,
        checks=[
            schemathesis.checks.not_a_server_error,
            schemathesis.checks.status_code_conformance,
            schemathesis.checks.content_type_conformance,
            schemathesis.checks.response_schema_conformance,
            a_refusal_says_what_is_wrong,
        ],
    )
    TRIED.append(f"{case.method} {case.path}")
    STATUSES[kind][response.status_code] += 1
    if not credential:
        # Before any credential is asked for, FastAPI answers a method the route has not
        # (405) and a body that is not JSON (422): neither says anything of a request.
        unreadable = response.status_code == 422 and all(
            error["type"] == "json_invalid" for error in response.json()["detail"]
        )
        assert response.status_code in (401, 405) or unreadable, f"{response.status_code} without a credential"
    if case.method == "POST" and case.path == "/api/requests":
        case_number = case.body.get("case_number") if isinstance(case.body, dict) else None
        if isinstance(case_number, str):
            (ACCEPTED if response.status_code == 201 else REFUSED).add(case_number)


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,  # the same cases every run: a red run reproduces
)


@schema.parametrize()
@FUZZ_SETTINGS
def test_without_credentials_every_input_is_refused_without_a_server_error(case, desk_on_loopback: Desk) -> None:
    call_and_check(case, desk_on_loopback, {}, "without credentials")


@schema.parametrize()
@FUZZ_SETTINGS
def test_with_credentials_the_api_answers_every_input_without_a_server_error(case, desk_on_loopback: Desk) -> None:
    call_and_check(case, desk_on_loopback, desk_on_loopback.credential_for(case.method, case.path), "with credentials")


def test_nothing_is_stored_for_a_refused_request(desk_on_loopback: Desk) -> None:
    assert TRIED, "the fuzz ran first"
    refused_only = {case for case in REFUSED - ACCEPTED if case.strip()}
    sessions = make_sessionmaker(make_engine(desk_on_loopback.database_url))
    with sessions() as session:
        stored = set(session.scalars(select(RequestRow.case_number)))
    normalised = {case.strip().upper() for case in refused_only}
    assert not stored & normalised, "a refused request left a row"

    async def started() -> list[str]:
        client = await Client.connect(desk_on_loopback.server.address, data_converter=TEST_DATA_CONVERTER)
        found = []
        for case in normalised:
            try:
                await client.get_workflow_handle(workflow_id_for(case)).describe()
                found.append(case)
            except RPCError as error:
                if error.status is not RPCStatusCode.NOT_FOUND:
                    raise
        return found

    assert asyncio.run(started()) == [], "a refused request started a workflow"
    per_operation = Counter(TRIED)
    assert STATUSES["without credentials"][401], "without a credential the routes answer 401"
    assert not {401, 403} & set(STATUSES["with credentials"]), "each route let its credential in"
    report(
        "API fuzz answers: "
        + "; ".join(
            f"{kind}: " + ", ".join(f"{code} x{count}" for code, count in sorted(counts.items()))
            for kind, counts in STATUSES.items()
        )
    )
    report(
        f"API fuzz (schemathesis, {EXAMPLES_PER_OPERATION} examples per operation and method): "
        f"{len(TRIED)} cases, 0 server errors, every refusal a 4xx with its detail; "
        f"POST /api/requests {per_operation['POST /api/requests']} cases ({len(ACCEPTED)} accepted, "
        f"{len(refused_only)} refused with a case number, none of which left a row or a workflow); "
        + ", ".join(f"{operation} {count}" for operation, count in sorted(per_operation.items()) if count > 2)
    )
