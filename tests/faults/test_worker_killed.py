"""A worker killed (SIGKILL) in the middle of an activity and started again: every request
reaches the state it would have reached, and each email reaches the SMTP server once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from reschedule_desk.domain.decisions import Approval, Denial, InfoRequest, Withdrawal
from reschedule_desk.storage.tables import OutboxStatus
from tests.faults.harness import assert_nothing_half_written, desk_in_processes, wait_for
from tests.faults.processes import PAUSING_WORKER_SCRIPT
from tests.report import report

pytestmark = pytest.mark.faults

# In this order: a paused `persist` holds SQLite's write lock, so it is the last one.
KILL_POINTS = ("send", "250", "sent", "render", "persist")


async def test_a_worker_killed_in_the_middle_of_each_activity_loses_nothing(tmp_path: Path) -> None:
    pauses = tmp_path / "pauses"
    pauses.mkdir()
    async with desk_in_processes(tmp_path / "desk") as desk:
        first = desk.worker("worker-1", script=PAUSING_WORKER_SCRIPT)
        first.start({"FAULT_PAUSE_DIR": str(pauses)})

        # One request per kill point, each one's first step caught at that point.
        case_at: dict[str, str] = {}
        for point in KILL_POINTS:
            (pauses / f"arm-{point}").touch()
            (case_at[point],) = await desk.submit(1)
            await wait_for(lambda: (pauses / point).exists(), 60, f"the worker to reach {point}")
        first.kill()

        desk.worker("worker-2").start()
        # Activities on the dead worker time out (30 s to record, 60 s to send) and run again.
        await wait_for(
            lambda: sum(message.status is OutboxStatus.SENT for message in desk.outbox()) == len(KILL_POINTS),
            150,
            "every acknowledgement sent after the restart",
        )
        assert set(desk.statuses().values()) == {"PENDING_REVIEW"}

        # Carry every request to its end with the restarted worker.
        await desk.desk.act(case_at["send"], "approve", Approval(officer_id="officer.kim"))
        await desk.desk.act(case_at["250"], "approve", Approval(officer_id="officer.kim"))
        await desk.desk.act(case_at["sent"], "deny", Denial(officer_id="officer.kim", reason="Transferred."))
        await desk.desk.act(
            case_at["render"], "request_info", InfoRequest(officer_id="officer.kim", needed="A photo.")
        )
        await desk.desk.act(case_at["persist"], "withdraw", Withdrawal())
        await wait_for(lambda: len(desk.outbox()) == 2 * len(KILL_POINTS), 60, "every decision's email queued")
        await wait_for(
            lambda: all(message.status is OutboxStatus.SENT for message in desk.outbox()), 60, "every email sent"
        )

        # An approval email sent opens the request's booking window.
        settled = {
            case_at["send"]: "AWAITING_BOOKING",
            case_at["250"]: "AWAITING_BOOKING",
            case_at["sent"]: "DENIED",
            case_at["render"]: "INFO_REQUESTED",
            case_at["persist"]: "WITHDRAWN",
        }
        await wait_for(lambda: desk.statuses() == settled, 60, "every request settled")
        assert desk.audit_actions() == {
            "screen": 5, "approve": 2, "open_booking": 2, "deny": 1, "request_info": 1, "withdraw": 1,
        }
        assert_nothing_half_written(desk.sessions)

        outbox_ids = {f"<{message.message_key}@reschedule-desk.example.gov>" for message in desk.outbox()}
        received = Counter(desk.mail.message_ids())
        assert set(received) == outbox_ids, "every queued email arrived, and nothing else"
        repeated = {message_id: count for message_id, count in received.items() if count > 1}
        # Killed between the server's "250" and the heartbeat that tells Temporal, the
        # worker cannot know the message went: the retry sends it again, with the same
        # Message-ID, so the receiving side can tell. No SMTP client can close that window;
        # killed after the heartbeat ("sent"), nothing is sent twice.
        assert list(repeated.values()) in ([], [2])
        assert all(case_at["250"] in message_id for message_id in repeated)
        report(
            f"worker SIGKILL mid-activity: 1 kill with {len(KILL_POINTS)} activities half done "
            f"({', '.join(KILL_POINTS)}); {len(KILL_POINTS)} requests all in their expected state; "
            f"{len(outbox_ids)} emails queued, "
            f"{len(received)} distinct Message-IDs received, {sum(received.values())} SMTP deliveries "
            f"({sum(repeated.values()) - len(repeated)} repeat with the same Message-ID: the kill between "
            f"the server's 250 and the heartbeat); "
            "lost: 0; duplicate rows: 0"
        )
