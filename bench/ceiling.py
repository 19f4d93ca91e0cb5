"""The engine's ceiling: workflows with a request's server round trips and none of its
work; no database, no templates, no mail.

- CeilingRequest, an approved request: started, three activities, an update that waits for
  a fourth, a fifth.
- CeilingExpiry, an expired request: started, three activities, a timer for the reminder
  and its two activities, a timer for the window's end and the expiry's two.

They run as the desk's worker runs its workflow (WORKER_RUNNER), so that the ceiling differs
from the desk by the desk's own work only.

`python -m bench.ceiling` runs its worker (TEMPORAL_ADDRESS, RESCHEDULE_TASK_QUEUE).
"""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from reschedule_desk.temporal import WORKER_RUNNER


@activity.defn(name="ceiling_step")
async def ceiling_step(step: str) -> str:
    return step


def _activity(step: str):
    return workflow.execute_activity(ceiling_step, step, start_to_close_timeout=timedelta(seconds=30))


@workflow.defn(name="CeilingRequest")
class CeilingRequestWorkflow:
    def __init__(self) -> None:
        self._screened = False
        self._approved = False
        self._recorded = False

    @workflow.run
    async def run(self, case_number: str) -> str:
        await _activity("gather facts")
        await _activity("record screening")
        self._screened = True
        acknowledgement = asyncio.create_task(_activity("send acknowledgement"))
        await workflow.wait_condition(lambda: self._approved, timeout=timedelta(days=14))
        await _activity("record approval")
        self._recorded = True
        await _activity("send approval")
        await acknowledgement
        await workflow.wait_condition(workflow.all_handlers_finished)
        return "APPROVED"

    @workflow.update
    async def approve(self, officer_id: str) -> str:
        self._approved = True
        await workflow.wait_condition(lambda: self._recorded)
        return "APPROVED"

    @approve.validator
    def _validate_approve(self, officer_id: str) -> None:
        if not self._screened:
            raise ApplicationError("cannot approve: the request is still being screened")


@workflow.defn(name="CeilingExpiry")
class CeilingExpiryWorkflow:
    def __init__(self) -> None:
        self._reminded = False

    @workflow.run
    async def run(self, reminder_after_seconds: float, window_ends_after_seconds: float) -> str:
        await _activity("gather facts")
        await _activity("record screening")
        acknowledgement = asyncio.create_task(_activity("send acknowledgement"))
        await workflow.sleep(reminder_after_seconds)
        await _activity("record reminder")
        await _activity("send reminder")
        await acknowledgement
        self._reminded = True
        await workflow.sleep(window_ends_after_seconds - reminder_after_seconds)
        await _activity("record expiry")
        await _activity("send expiry")
        return "EXPIRED"

    @workflow.query
    def reminded(self) -> bool:
        return self._reminded


async def main() -> None:
    client = await Client.connect(os.environ["TEMPORAL_ADDRESS"])
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set)
    async with Worker(
        client,
        task_queue=os.environ["RESCHEDULE_TASK_QUEUE"],
        workflows=[CeilingRequestWorkflow, CeilingExpiryWorkflow],
        activities=[ceiling_step],
        workflow_runner=WORKER_RUNNER,
    ):
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
