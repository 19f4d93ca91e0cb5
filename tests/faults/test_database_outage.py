"""The app database unavailable for a while: activities retry with backoff, nothing is
half-written, and everything completes once it is back.

Two outages: PostgreSQL gone for its clients (the worker reaches it through a loopback
proxy that is cut; the shared PostgreSQL server itself is never stopped), and SQLite
unwritable (another process holds its write lock: as root, file permissions would not
stop the worker).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import make_url
from temporalio.api.enums.v1 import EventType

from reschedule_desk.domain.decisions import Approval
from reschedule_desk.domain.request import workflow_id_for
from reschedule_desk.storage.tables import OutboxStatus
from tests.faults.harness import TcpProxy, assert_nothing_half_written, desk_in_processes, wait_for
from tests.report import report

pytestmark = pytest.mark.faults

BEFORE = 10  # requests screened before the outage, approved during it
DURING = 5  # requests submitted during the outage
OUTAGE_SECONDS = 20.0


@contextmanager
def sqlite_write_lock(path: Path) -> Iterator[None]:
    """Another process's write transaction on the file, held: no one else can write."""
    connection = sqlite3.connect(path, isolation_level=None, timeout=30)
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        connection.execute("ROLLBACK")
        connection.close()


@contextmanager
def proxy_down(proxy: TcpProxy) -> Iterator[None]:
    """PostgreSQL gone for the worker: connections cut, new ones refused."""
    proxy.stop()
    try:
        yield
    finally:
        proxy.start()


@pytest.mark.parametrize("database", ["postgresql-down", "sqlite-locked"])
async def test_a_database_outage_delays_but_loses_and_half_writes_nothing(
    request: pytest.FixtureRequest, tmp_path: Path, database: str
) -> None:
    proxy = None
    if database == "postgresql-down":
        real = make_url(request.getfixturevalue("postgres_schema_url"))
        proxy = TcpProxy(real.port or 5432)
        proxy.start()
        database_url = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    else:
        database_url = f"sqlite:///{tmp_path / 'desk' / 'desk.sqlite3'}"
    try:
        async with desk_in_processes(tmp_path / "desk", database_url=database_url) as desk:
            desk.worker().start()
            before = await desk.submit(BEFORE)
            await wait_for(lambda: len(desk.outbox()) == BEFORE, 60, "the first requests screened")
            filed_for_later = desk.file_cases(DURING)  # the post filed them before the outage

            # The outage: decisions and new requests arrive while the database is gone.
            outage = proxy_down(proxy) if proxy else sqlite_write_lock(tmp_path / "desk" / "desk.sqlite3")
            with outage:
                outage_started = time.monotonic()
                decisions = [
                    asyncio.create_task(desk.desk.act(case, "approve", Approval(officer_id="officer.kim")))
                    for case in before
                ]
                during = await desk.submit_filed(filed_for_later)
                await asyncio.sleep(OUTAGE_SECONDS)
                assert not any(task.done() for task in decisions), "a decision is answered once it is recorded"
            outage_seconds = time.monotonic() - outage_started

            results = await asyncio.wait_for(asyncio.gather(*decisions), timeout=180)
            assert {result.status.value for result in results} == {"APPROVED"}
            emails = 2 * BEFORE + DURING  # acknowledgements and approvals
            await wait_for(
                lambda: sum(message.status is OutboxStatus.SENT for message in desk.outbox()) == emails,
                180,
                f"{emails} emails sent",
            )

            # Each approval email sent opens the request's booking window.
            settled = {"AWAITING_BOOKING": BEFORE, "PENDING_REVIEW": DURING}
            await wait_for(lambda: Counter(desk.statuses().values()) == settled, 60, "every approval on to its booking")
            statuses = desk.statuses()
            assert all(statuses[case] == "PENDING_REVIEW" for case in during)
            assert desk.audit_actions() == {"screen": BEFORE + DURING, "approve": BEFORE, "open_booking": BEFORE}
            assert_nothing_half_written(desk.sessions)
            received = Counter(desk.mail.message_ids())
            assert len(received) == emails and sum(received.values()) == emails

            # The backoff, from history: how many attempts each decision's step took.
            attempts = []
            for case in before:
                history = await desk.client.get_workflow_handle(workflow_id_for(case)).fetch_history()
                started = [
                    event.activity_task_started_event_attributes.attempt
                    for event in history.events
                    if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
                ]
                attempts.append(max(started))
            assert max(attempts) >= 3, "the step was retried during the outage"
            failures = desk.logs().count("Completing activity as failed")
            report(
                f"database outage ({database}): {outage_seconds:.0f}s; {BEFORE} decisions and {DURING} new "
                f"requests during it; activity attempts per decision up to {max(attempts)} "
                f"(backoff 1s, x2), {failures} failed attempts logged; afterwards {len(statuses)} requests in "
                f"their expected state, {emails} emails, {sum(received.values())} received, "
                "half-written 0, duplicates 0, lost 0"
            )
    finally:
        if proxy:
            proxy.stop()
