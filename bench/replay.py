"""Prints "<events per second> <first activation ms>" for the recorded histories, measured
in this fresh process (run by bench/__main__.py)."""

from __future__ import annotations

import asyncio
import time

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from reschedule_desk.settings import PROJECT_ROOT
from reschedule_desk.temporal import WORKFLOW_RUNNER
from tests.conftest import TEST_DATA_CONVERTER  # the histories' own (public) test key
from workflows.reschedule_request import RescheduleRequestWorkflow

ROUNDS = 20


async def main() -> None:
    histories = [
        WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
        for path in sorted((PROJECT_ROOT / "tests" / "histories").glob("*.json"))
    ]
    replayer = Replayer(
        workflows=[RescheduleRequestWorkflow], data_converter=TEST_DATA_CONVERTER, workflow_runner=WORKFLOW_RUNNER
    )
    shortest = min(histories, key=lambda history: len(history.events))
    started = time.perf_counter()
    await replayer.replay_workflow(shortest)  # the sandbox's first load is in this one
    first_activation = time.perf_counter() - started

    started = time.perf_counter()
    for _ in range(ROUNDS):
        async with replayer.workflow_replay_iterator(_each(histories)) as results:
            async for result in results:
                if result.replay_failure:
                    raise result.replay_failure
    elapsed = time.perf_counter() - started
    events = ROUNDS * sum(len(history.events) for history in histories)
    print(f"{events / elapsed:.1f} {first_activation * 1000:.1f}")


async def _each(histories: list[WorkflowHistory]):
    for history in histories:
        yield history


if __name__ == "__main__":
    asyncio.run(main())
