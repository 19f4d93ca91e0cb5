"""Load: a few thousand requests submitted and decided concurrently through the HTTP API
(uvicorn, its own process), two workers, PostgreSQL, SMTP on loopback. Afterwards every
request is in its expected final state, and the audit rows and emails add up exactly.

The load generator is bounded: a fixed number of requests, a fixed number in flight, one
try for each call, and a deadline for the whole run.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from reschedule_desk.storage.tables import AuditEvent, OutboxMessage, OutboxStatus
from reschedule_desk.console.access import Role
from tests.conftest import bearer, file_cases, intake_token, make_case, make_request, staff_token
from tests.faults.harness import assert_nothing_half_written, desk_in_processes, wait_for
from tests.report import report

pytestmark = pytest.mark.faults

REQUESTS = 2000
IN_FLIGHT = 32
# A guard against a hang, not a speed target (the benchmark measures speed): on a busy
# 2-core machine the whole run has taken from under 4 to over 7 minutes.
DEADLINE_SECONDS = 1200.0

# Each request's decision, by its number: who sends it (a key of the credentials), the
# state and the email it ends with.
DECISIONS = (
    ("approve", {"note": "Medical hold confirmed."}, "officer.kim", "APPROVED"),
    ("deny", {"reason": "The case was transferred."}, "officer.njeri", "DENIED"),
    ("approve", {}, "officer.kim", "APPROVED"),
    ("withdraw", {"reason": "I will travel later."}, "intake", "WITHDRAWN"),
)
# Once its approval email is out, an approved request waits for the applicant's booking.
SETTLES_AS = {"APPROVED": "AWAITING_BOOKING"}


async def submit(api: httpx.AsyncClient, document: dict, credentials: dict) -> None:
    response = await api.post("/api/requests", json=document, headers=credentials["intake"])
    assert response.status_code == 201, response.text


async def decide(api: httpx.AsyncClient, case: str, number: int, credentials: dict) -> str:
    action, body, caller, _ = DECISIONS[number % len(DECISIONS)]
    response = await api.post(f"/api/requests/{case}/{action}", json=body, headers=credentials[caller])
    assert response.status_code == 200, response.text
    return response.json()["status"]


async def test_thousands_of_requests_through_the_api_add_up_exactly(tmp_path: Path, postgres_schema_url: str) -> None:
    async with desk_in_processes(tmp_path / "desk", database_url=postgres_schema_url) as desk:
        desk.worker("worker-a").start()
        desk.worker("worker-b").start()
        api_process = desk.start_api()
        credentials = {
            "intake": bearer(intake_token(postgres_schema_url)),
            **{
                name: bearer(staff_token(postgres_schema_url, name, Role.OFFICER, ["nairobi"]))
                for name in ("officer.kim", "officer.njeri")
            },
        }

        filed = [make_case() for _ in range(REQUESTS)]
        file_cases(postgres_schema_url, "nairobi", *filed)
        documents = [make_request(case=case) for case in filed]
        cases = [document["case_number"] for document in documents]
        limit = asyncio.Semaphore(IN_FLIGHT)
        started = time.monotonic()

        async def bounded(call):
            async with limit:
                return await call

        async with httpx.AsyncClient(
            base_url=api_process.url, timeout=60, limits=httpx.Limits(max_connections=IN_FLIGHT)
        ) as api:
            # Submitted all at once (IN_FLIGHT at a time), then decided all at once as
            # their screening completes, while the rest are still being screened.
            async def run() -> list[str]:
                await asyncio.gather(*(bounded(submit(api, document, credentials)) for document in documents))
                submitted_in = time.monotonic() - started
                await wait_for(
                    lambda: desk.count(AuditEvent) >= REQUESTS, DEADLINE_SECONDS, "every request screened", 1.0
                )
                outcomes = await asyncio.gather(
                    *(bounded(decide(api, case, number, credentials)) for number, case in enumerate(cases))
                )
                return submitted_in, outcomes

            submitted_in, statuses = await asyncio.wait_for(run(), timeout=DEADLINE_SECONDS)
        outcomes = Counter(statuses)
        decided_in = time.monotonic() - started

        expected = Counter(DECISIONS[number % len(DECISIONS)][3] for number in range(REQUESTS))
        assert outcomes == expected
        emails = 2 * REQUESTS  # an acknowledgement and the decision's email each
        await wait_for(
            lambda: desk.count(OutboxMessage, OutboxMessage.status == OutboxStatus.SENT) == emails,
            max(30.0, DEADLINE_SECONDS - (time.monotonic() - started)),
            f"{emails} emails sent",
            interval=2.0,
        )
        total = time.monotonic() - started

        settled = Counter({SETTLES_AS.get(state, state): count for state, count in expected.items()})
        await wait_for(lambda: Counter(desk.statuses().values()) == settled, 60.0, "every request settled")
        audit = desk.audit_actions()
        approved = expected["APPROVED"]
        # The screening, the decision, and for an approval the booking window it opens.
        assert sum(audit.values()) == 2 * REQUESTS + approved and audit["screen"] == REQUESTS
        assert audit["open_booking"] == approved
        assert_nothing_half_written(desk.sessions)
        received = Counter(desk.mail.message_ids())
        assert len(received) == emails and sum(received.values()) == emails
        report(
            f"load through the API: {REQUESTS} requests submitted and decided, {IN_FLIGHT} in flight, "
            f"2 workers, PostgreSQL; submitted in {submitted_in:.0f}s, decided in {decided_in:.0f}s, "
            f"all emails out in {total:.0f}s "
            f"({REQUESTS / total:.1f} requests/s end to end); final states {dict(settled)} all as expected; "
            f"audit rows {sum(audit.values())} (expected {2 * REQUESTS + approved}); emails {sum(received.values())} received, "
            f"{len(received)} distinct (expected {emails}); duplicates 0, lost 0"
        )

