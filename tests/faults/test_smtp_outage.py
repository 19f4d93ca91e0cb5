"""The mail server down, then deferring (4xx), then back: the outbox keeps every message,
the worker retries with backoff, and each is delivered once. A permanent refusal (5xx) is
recorded for the officers after one try, and the request carries on."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import pytest

from reschedule_desk.domain.decisions import Approval
from reschedule_desk.storage import repository
from reschedule_desk.storage.tables import OutboxStatus
from tests.faults.harness import assert_nothing_half_written, desk_in_processes, wait_for
from tests.report import report

pytestmark = pytest.mark.faults

REQUESTS = 5
REFUSED_ADDRESS = "no-such-mailbox@example.com"
DOWN_SECONDS = 12.0
DEFERRING_SECONDS = 12.0


async def test_mail_server_down_deferring_and_refusing(tmp_path: Path) -> None:
    async with desk_in_processes(tmp_path / "desk") as desk:
        desk.mail.stop()  # down from the start
        desk.mail.handler.refused.add(REFUSED_ADDRESS)
        desk.worker().start()
        cases = await desk.submit(REQUESTS)
        (refused_case,) = await desk.submit(1, contact_email=REFUSED_ADDRESS)

        await wait_for(lambda: len(desk.outbox()) == REQUESTS + 1, 60, "every acknowledgement queued")
        await asyncio.sleep(DOWN_SECONDS)
        down = desk.outbox()
        assert {message.status for message in down} == {OutboxStatus.QUEUED}, "kept in the outbox"
        assert all(message.attempts >= 2 and message.last_error for message in down), "retried"
        down_errors = Counter(message.last_error for message in down)

        desk.mail.handler.deferring = True
        desk.mail.start()
        await asyncio.sleep(DEFERRING_SECONDS)
        deferred = desk.outbox()
        assert {message.status for message in deferred} == {OutboxStatus.QUEUED}
        assert not desk.mail.received
        deferred_errors = Counter(message.last_error for message in deferred)

        back = time.monotonic()
        desk.mail.handler.deferring = False
        await wait_for(
            lambda: sum(message.status is not OutboxStatus.QUEUED for message in desk.outbox()) == REQUESTS + 1,
            150,
            "every acknowledgement delivered or refused once the server is back",
        )
        recovery_seconds = time.monotonic() - back

        # The refused applicant's request carries on: approved, that email refused too, and
        # on to its booking window.
        await desk.desk.act(refused_case, "approve", Approval(officer_id="officer.kim"))
        await wait_for(
            lambda: sum(message.status is OutboxStatus.REFUSED for message in desk.outbox()) == 2,
            60,
            "the approval email refused as well",
        )
        await wait_for(lambda: desk.statuses()[refused_case] == "AWAITING_BOOKING", 30, "the booking window opened")
        assert (await desk.desk.status(refused_case)).status.value == "AWAITING_BOOKING"

        outbox = desk.outbox()
        attempts = [message.attempts for message in outbox if message.status is OutboxStatus.SENT]
        with desk.sessions() as session:
            refused = repository.refused_emails(session)
        assert [message.kind.value for message in refused] == ["approved", "acknowledgement"]
        assert all(message.last_error.startswith("550") for message in refused)
        assert REFUSED_ADDRESS not in " ".join(message.last_error for message in refused), "no address in errors"
        refusals_5xx = [code for address, code in desk.mail.handler.refusals if address == REFUSED_ADDRESS and code == 550]
        assert len(refusals_5xx) == 2, "each refused email was tried once, not retried forever"

        received = Counter(desk.mail.message_ids())
        assert len(received) == REQUESTS and sum(received.values()) == REQUESTS, "each delivered once"
        assert sorted(desk.statuses().values()) == ["AWAITING_BOOKING"] + ["PENDING_REVIEW"] * REQUESTS
        assert all(case in desk.statuses() for case in cases)
        assert_nothing_half_written(desk.sessions)
        report(
            f"SMTP down {DOWN_SECONDS:.0f}s (errors {dict(down_errors)}) then deferring 451 for "
            f"{DEFERRING_SECONDS:.0f}s (errors {dict(deferred_errors)}): {REQUESTS} emails kept queued, "
            f"delivered {recovery_seconds:.0f}s after the server was back, after {min(attempts)}-{max(attempts)} "
            f"attempts each; received {sum(received.values())} for {len(received)} emails (duplicates 0, lost 0); "
            f"550 refusals: {len(refused)} emails recorded as refused after 1 try each, request carried on to AWAITING_BOOKING"
        )
