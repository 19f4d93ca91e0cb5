"""Two workers on one task queue, as production runs them, over PostgreSQL: both work,
and no row or email is written twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType

from reschedule_desk.domain.decisions import Approval, Denial
from reschedule_desk.domain.request import workflow_id_for
from reschedule_desk.storage.tables import OutboxStatus
from tests.faults.harness import assert_nothing_half_written, desk_in_processes, wait_for
from tests.report import report

pytestmark = pytest.mark.faults

REQUESTS = 100


async def test_two_workers_on_one_queue_write_each_row_and_email_once(
    tmp_path: Path, postgres_schema_url: str
) -> None:
    async with desk_in_processes(tmp_path / "desk", database_url=postgres_schema_url) as desk:
        desk.worker("worker-a").start()
        desk.worker("worker-b").start()
        cases = await desk.submit(REQUESTS)
        await wait_for(
            lambda: list(desk.statuses().values()).count("PENDING_REVIEW") == REQUESTS, 120, "every request screened"
        )
        limit = asyncio.Semaphore(20)

        async def decide(index: int, case: str) -> None:
            async with limit:
                if index % 2:
                    await desk.desk.act(case, "deny", Denial(officer_id="officer.sok", reason="Transferred."))
                else:
                    await desk.desk.act(case, "approve", Approval(officer_id="officer.kim"))

        await asyncio.gather(*(decide(index, case) for index, case in enumerate(cases)))
        emails = 2 * REQUESTS
        await wait_for(
            lambda: sum(message.status is OutboxStatus.SENT for message in desk.outbox()) == emails,
            120,
            f"{emails} emails sent",
        )

        # Each approval email sent opens the request's booking window.
        settled = {"AWAITING_BOOKING": REQUESTS // 2, "DENIED": REQUESTS // 2}
        await wait_for(lambda: Counter(desk.statuses().values()) == settled, 60, "every approval on to its booking")
        assert desk.audit_actions() == {
            "screen": REQUESTS, "approve": REQUESTS // 2, "open_booking": REQUESTS // 2, "deny": REQUESTS // 2,
        }
        assert_nothing_half_written(desk.sessions)
        received = Counter(desk.mail.message_ids())
        assert len(received) == emails and sum(received.values()) == emails

        # Which worker ran each activity, from history: both did.
        identities: Counter[str] = Counter()
        for case in cases:
            history = await desk.client.get_workflow_handle(workflow_id_for(case)).fetch_history()
            identities.update(
                event.activity_task_started_event_attributes.identity
                for event in history.events
                if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
            )
        assert len(identities) == 2, identities
        report(
            f"two workers, one task queue, PostgreSQL: {REQUESTS} requests decided; activities per worker "
            f"{sorted(identities.values())}; audit rows {sum(desk.audit_actions().values())} "
            f"(expected {2 * REQUESTS + REQUESTS // 2}, with the approvals' booking windows), emails {sum(received.values())} received for {emails} "
            "(duplicates 0, lost 0)"
        )
