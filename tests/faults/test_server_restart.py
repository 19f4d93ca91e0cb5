"""The Temporal dev server killed (SIGKILL) and started again on its state file while
hundreds of requests wait on timers and decisions are in flight: none is lost, none
fires twice, and the timers that came due during the outage fire after the restart."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType

from reschedule_desk.desk import ActionRefused
from reschedule_desk.domain.decisions import Approval, Denial
from reschedule_desk.domain.request import workflow_id_for
from reschedule_desk.storage.tables import OutboxStatus
from tests.faults.harness import (
    assert_nothing_half_written,
    desk_in_processes,
    lateness_summary,
    wait_for,
)
from tests.report import report

pytestmark = pytest.mark.faults

REQUESTS = 300
APPROVED = 200  # their approval emails wait on the release timer, due during the outage
IN_FLIGHT = 20  # denials sent as the server dies
STILL_PENDING = REQUESTS - APPROVED - IN_FLIGHT  # their timers are weeks away: they must not fire
# Time to submit and approve everything before the release timers come due: twice what
# a slow shared 2-core machine took (about 55 s), since the test cannot start over.
RELEASE_IN = timedelta(seconds=120)
OUTAGE_PAST_DUE = 15.0  # seconds the server stays down after the timers came due


async def test_a_dev_server_killed_with_timers_and_decisions_in_flight_loses_none(tmp_path: Path) -> None:
    started = time.monotonic()
    release_at = (datetime.now(UTC) + RELEASE_IN).replace(microsecond=0)
    async with desk_in_processes(tmp_path / "desk", release_at=release_at) as desk:
        desk.worker().start()
        cases = await desk.submit(REQUESTS)
        await wait_for(
            lambda: list(desk.statuses().values()).count("PENDING_REVIEW") == REQUESTS, 120, "every request screened"
        )
        approved, denied, pending = cases[:APPROVED], cases[APPROVED : APPROVED + IN_FLIGHT], cases[APPROVED + IN_FLIGHT :]
        limit = asyncio.Semaphore(20)

        async def approve(case: str) -> None:
            async with limit:
                await desk.desk.act(case, "approve", Approval(officer_id="officer.kim"))

        await asyncio.gather(*(approve(case) for case in approved))
        ready_after = time.monotonic() - started
        seconds_left = (release_at - datetime.now(UTC)).total_seconds()
        assert seconds_left > 10, f"too slow: {ready_after:.0f}s to submit and approve, the timers are due already"

        # Denials on their way as the server dies: each either lands or fails to the caller.
        async def deny(case: str) -> str:
            try:
                await desk.desk.act(case, "deny", Denial(officer_id="officer.kim", reason="Transferred."))
                return "landed"
            except Exception as error:  # the server died under the call
                return type(error).__name__

        in_flight = [asyncio.create_task(deny(case)) for case in denied]
        await asyncio.sleep(0.05)
        desk.server.kill()
        killed_at = datetime.now(UTC)

        await asyncio.sleep((release_at - datetime.now(UTC)).total_seconds() + OUTAGE_PAST_DUE)
        desk.server.start()
        restarted_at = datetime.now(UTC)
        outcomes = Counter(await asyncio.gather(*in_flight))

        # A caller that did not hear back sends its decision again; a landed one is refused.
        resent = Counter()
        for case in denied:
            try:
                await desk.desk.act(case, "deny", Denial(officer_id="officer.kim", reason="Transferred."))
                resent["landed now"] += 1
            except ActionRefused as refusal:
                assert "already DENIED" in str(refusal) or "not PENDING_REVIEW" in str(refusal), refusal
                resent["refused: already denied"] += 1

        emails = REQUESTS + APPROVED + IN_FLIGHT  # acknowledgements, approvals, denials
        await wait_for(
            lambda: sum(message.status is OutboxStatus.SENT for message in desk.outbox()) == emails,
            120,
            f"{emails} emails sent",
            interval=1.0,
        )
        await asyncio.sleep(2)  # anything that would fire twice has had its chance

        # Each approval email sent opens the request's booking window.
        settled = {"AWAITING_BOOKING": APPROVED, "DENIED": IN_FLIGHT, "PENDING_REVIEW": STILL_PENDING}
        await wait_for(lambda: Counter(desk.statuses().values()) == settled, 60, "every approval on to its booking")
        statuses = desk.statuses()
        assert all(statuses[case] == "PENDING_REVIEW" for case in pending)
        assert desk.audit_actions() == {
            "screen": REQUESTS, "approve": APPROVED, "open_booking": APPROVED, "deny": IN_FLIGHT,
        }
        assert_nothing_half_written(desk.sessions)
        received = Counter(desk.mail.message_ids())
        assert len(received) == emails and sum(received.values()) == emails, "each email once"

        # When each release timer fired, against when it was due.
        lateness = []
        for case in approved:
            history = await desk.client.get_workflow_handle(workflow_id_for(case)).fetch_history()
            fired = [event for event in history.events if event.event_type == EventType.EVENT_TYPE_TIMER_FIRED]
            assert len(fired) == 1, case
            lateness.append((fired[0].event_time.ToDatetime(UTC) - release_at).total_seconds())
        email_lateness = [
            message.at - release_at.timestamp() for message in desk.mail.received if "approved" in message.message_id
        ]
        assert min(lateness) >= (restarted_at - release_at).total_seconds() - 1, "no timer fired while the server was down"

        report(
            f"dev server SIGKILL + restart on its state file: {REQUESTS} requests "
            f"({APPROVED} approved waiting on release timers, {STILL_PENDING} pending review, "
            f"{IN_FLIGHT} denials in flight: {dict(outcomes)}; resent: {dict(resent)}); "
            f"outage {(restarted_at - killed_at).total_seconds():.1f}s, timers due "
            f"{(release_at - killed_at).total_seconds():.1f}s into it; "
            f"{emails} emails, {sum(received.values())} received, duplicates 0, lost 0"
        )
        report(
            f"timer lateness after restart (fired - due, {len(lateness)} timers): {lateness_summary(lateness)}; "
            f"the server was back {(restarted_at - release_at).total_seconds():.1f}s after they were due; "
            f"approval email arrival - due: {lateness_summary(email_lateness)}"
        )
